"""Launches bin/pretrain as a MultiWorkerMirroredStrategy cluster of local processes (127.0.0.1, free ports)."""

import json
import socket
import subprocess

from tests.conftest import pretrain_command, subprocess_env


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def launch(config, data, model_dir, tmp_path, num_workers: int = 2) -> list[subprocess.Popen]:
    """Starts `num_workers` workers of one run; worker i logs to `tmp_path/worker{i}.log` and uses
    `tmp_path/tmp{i}` as its temporary folder."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(num_workers)]}
    processes = []
    for index in range(num_workers):
        temp = tmp_path / f"tmp{index}"
        temp.mkdir(exist_ok=True)
        env = dict(
            subprocess_env(),
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            TMPDIR=str(temp),
        )
        log = open(tmp_path / f"worker{index}.log", "ab")  # pylint: disable=consider-using-with
        command = pretrain_command(config, data, model_dir) + ["--strategy=multi_worker"]
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
    return processes


def wait(processes, tmp_path, timeout: float = 600) -> None:
    """Waits for every worker; fails with the workers' logs if one exits non-zero."""
    codes = [p.wait(timeout=timeout) for p in processes]
    if any(codes):
        logs = "\n".join(
            (tmp_path / f"worker{i}.log").read_text(errors="replace")[-2000:] for i in range(len(processes))
        )
        raise AssertionError(f"workers exited with {codes}:\n{logs}")


def kill_all(processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
