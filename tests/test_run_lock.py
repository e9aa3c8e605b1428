"""One writer per run folder: the lock against live, killed, recycled and foreign holders, with real processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from electra_tf import run_lock
from tests.conftest import pretrain_command, subprocess_env

HOLD = (
    "import sys, time\n"
    "from electra_tf import run_lock\n"
    "record = run_lock.acquire(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n"
)


def _holder(directory) -> subprocess.Popen:
    """A separate process that takes the lock and sleeps."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE, text=True, env=subprocess_env()
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_live_holder_is_named_and_a_killed_one_is_taken_over(tmp_path, caplog):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(run_lock.RunLockedError, match=rf"is in use by another run \(PID {holder.pid} on "):
            run_lock.acquire(str(tmp_path))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    record = run_lock.acquire(str(tmp_path))  # Its PID is gone: stale, taken over with a warning.
    assert record["pid"] == os.getpid() and "Taking over the stale lock" in caplog.text
    run_lock.release(record)
    assert not (tmp_path / run_lock.LOCK_FILE).exists()


def test_a_recycled_pid_and_another_hosts_lock(tmp_path):
    path = tmp_path / run_lock.LOCK_FILE
    # Our own PID, but a process start time that is not ours: the PID was recycled, the holder is gone.
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "pid_start": "1", "started": "x"}))
    run_lock.release(run_lock.acquire(str(tmp_path)))
    path.write_text(json.dumps({"host": "other-host", "pid": 1, "started": "2026-11-30T00:00:00"}))
    with pytest.raises(run_lock.RunLockedError, match="locked by a run on another host .*pass --force_unlock"):
        run_lock.acquire(str(tmp_path))
    record = run_lock.acquire(str(tmp_path), force_unlock=True)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    path.write_text(json.dumps({"host": "other-host", "pid": 1, "started": "later"}))
    run_lock.release(record)  # Not ours any more: left alone.
    assert path.exists()


def test_two_pretraining_runs_in_one_model_dir(micro_config, pretraining_data, tmp_path):
    """Issue 20's case: a second bin/pretrain on a model_dir in use exits 2 naming the first; after the first is
    SIGKILLed, a third resumes, taking over the stale lock."""
    model_dir = tmp_path / "model"
    long_run = pretrain_command(micro_config, pretraining_data, model_dir) + ["--num_train_steps=100000"]
    first = subprocess.Popen(long_run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env())
    try:
        deadline = time.time() + 240
        while not (model_dir / run_lock.LOCK_FILE).exists():
            assert first.poll() is None and time.time() < deadline, "the first run did not take its lock"
            time.sleep(0.5)
        second = subprocess.run(long_run, capture_output=True, text=True, env=subprocess_env(), timeout=300)
        assert second.returncode == 2
        assert f"is in use by another run (PID {first.pid} on {socket.gethostname()}" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    third = subprocess.run(
        pretrain_command(micro_config, pretraining_data, model_dir) + ["--num_train_steps=45"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert third.returncode == 0, third.stderr[-2000:]
    assert "Taking over the stale lock" in third.stderr
    assert not (model_dir / run_lock.LOCK_FILE).exists()
