"""The soak run: `bin/pretrain` for a fixed wall time with frequent checkpoints, sampling its resident memory and the
model_dir's disk use, to show that neither grows without bound and that the loss falls.

    electra-benchmark --suite=soak --soak_minutes=20

The run is a child process (the figures are its own, not the harness's); memory is read from /proc (Linux). After
`minutes` it is stopped with SIGKILL, which the checkpoints must survive: the last one is restored as a check.
"""

import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

from electra_tf import config_io, io_utils
from electra_tf.training.pretraining_config import PretrainingConfig

_LOG_LINE = re.compile(r"^step (\d+)/\d+ .*?\bloss=([0-9.eE+-]+|nan|inf)")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line.")


def _disk_mb(directory: str) -> float:
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except FileNotFoundError:  # Deleted by the checkpoint manager between listing and stat.
                pass
    return total / 1e6


def _slope_per_minute(samples: list[dict], key: str) -> float:
    """Least-squares slope of `key` against time, per minute."""
    times = [s["seconds"] / 60 for s in samples]
    values = [s[key] for s in samples]
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    var = sum((t - mean_t) ** 2 for t in times)
    return sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values)) / var if var else 0.0


def soak(
    config_path: str,
    data_dir: str,
    minutes: float,
    output_dir: str,
    checkpoint_every: int = 50,
    keep_checkpoints: int = 3,
    sample_seconds: float = 10.0,
) -> dict:
    """Pre-trains `config_path` for `minutes` and returns memory, disk and loss figures.

    Args:
        config_path: str. A pre-training config; its step budget is raised so that the run outlasts `minutes`.
        data_dir: str. Pre-training data.
        minutes: float. Wall time of the run.
        output_dir: str. Receives the model_dir (`run/`), the run's log (`pretrain.log`) and `soak.json`.
        checkpoint_every: int. Defaults to 50.
        keep_checkpoints: int. Defaults to 3.
        sample_seconds: float. Sampling interval. Defaults to 10.

    Returns:
        The summary also written to `<output_dir>/soak.json`: samples over time, and first/last/max RSS and disk,
        their slopes over the second half of the run, and the first and last logged losses.
    """
    config = config_io.load(PretrainingConfig, config_path)
    config = dataclasses.replace(
        config,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
        num_train_steps=max(config.num_train_steps, 1_000_000),
        log_every=min(config.log_every, checkpoint_every),
    )
    os.makedirs(output_dir, exist_ok=True)
    soak_config = os.path.join(output_dir, "soak_config.json")
    config_io.save(config, soak_config)
    model_dir = os.path.join(output_dir, "run")
    log_path = os.path.join(output_dir, "pretrain.log")
    command = [
        sys.executable,
        "-m",
        "electra_tf.cli.pretrain",
        f"--config={soak_config}",
        f"--train_data={data_dir}",
        f"--model_dir={model_dir}",
    ]
    losses, samples = _run_and_sample(command, log_path, model_dir, minutes, sample_seconds)
    summary = _summary(losses, samples, model_dir, output_dir, minutes, checkpoint_every, keep_checkpoints, command)
    io_utils.write_text_atomic(os.path.join(output_dir, "soak.json"), json.dumps(summary, indent=1) + "\n")
    return summary


def _run_and_sample(command: list, log_path: str, model_dir: str, minutes: float, sample_seconds: float):
    """Runs `command` for `minutes`, reading its progress lines (losses) and sampling its memory and the model_dir's
    disk use; kills it at the end. Returns (losses, samples)."""
    losses = []
    samples = []
    start = time.time()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)

        def read_progress():
            for line in process.stdout:
                log.write(line)
                match = _LOG_LINE.match(line)
                if match:
                    losses.append(
                        {
                            "seconds": round(time.time() - start, 1),
                            "step": int(match.group(1)),
                            "loss": float(match.group(2)),
                        }
                    )

        reader = threading.Thread(target=read_progress, daemon=True)
        reader.start()
        try:
            while time.time() - start < minutes * 60:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"bin/pretrain exited with {process.returncode} during the soak; see {log_path}."
                    )
                samples.append(
                    {
                        "seconds": round(time.time() - start, 1),
                        "rss_mb": round(_rss_mb(process.pid), 1),
                        "disk_mb": round(_disk_mb(model_dir), 1) if os.path.isdir(model_dir) else 0.0,
                        "step": losses[-1]["step"] if losses else 0,
                    }
                )
                time.sleep(sample_seconds)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
            reader.join(timeout=10)
    return losses, samples


def _summary(losses, samples, model_dir, output_dir, minutes, checkpoint_every, keep_checkpoints, command) -> dict:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (after the run: not in the sampled process)

    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    restorable = latest is not None and bool(tf.train.load_checkpoint(latest).get_variable_to_shape_map())
    second_half = [s for s in samples if s["seconds"] >= minutes * 30]
    steady = [s for s in samples if s["step"] > 0] or samples
    window = max(1, len(losses) // 10)
    return {
        "name": "soak",
        "minutes": minutes,
        "steps": losses[-1]["step"] if losses else 0,
        "checkpoint_every": checkpoint_every,
        "keep_checkpoints": keep_checkpoints,
        "rss_mb_first_training": steady[0]["rss_mb"] if steady else None,
        "rss_mb_last": samples[-1]["rss_mb"] if samples else None,
        "rss_mb_max": max(s["rss_mb"] for s in samples) if samples else None,
        "rss_mb_per_minute_second_half": round(_slope_per_minute(second_half, "rss_mb"), 3)
        if len(second_half) > 1
        else None,
        "disk_mb_max": max(s["disk_mb"] for s in samples) if samples else None,
        "disk_mb_last": samples[-1]["disk_mb"] if samples else None,
        "disk_mb_per_minute_second_half": round(_slope_per_minute(second_half, "disk_mb"), 3)
        if len(second_half) > 1
        else None,
        "loss_first_logs": round(statistics.fmean(record["loss"] for record in losses[:window]), 4) if losses else None,
        "loss_last_logs": round(statistics.fmean(record["loss"] for record in losses[-window:]), 4) if losses else None,
        "last_checkpoint": os.path.relpath(latest, output_dir) if latest else None,
        "last_checkpoint_restorable": restorable,
        "command": " ".join(command),
        "samples": samples,
        "losses": losses,
    }
