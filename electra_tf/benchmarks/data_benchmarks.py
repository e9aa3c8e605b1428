"""Benchmarks of the data path: TFRecord build MB/s and masked-batch tokens/s.

- `build_steady_state`: builds shards one after another in this process with one worker, after a warm-up shard that
  pays for tracing, and reports the median MB/s of raw text per core.
- `build_end_to_end`: runs `bin/build_pretraining_data` as a fresh process, start-up included, and reports its wall
  time and MB/s.
- `input_pipeline`: iterates `pretraining_dataset` and reports the median tokens/s of ready batches (padding
  included, since the model consumes whole batches) over timed windows.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Sequence

from electra_tf import corpus
from electra_tf.data import pretraining_data_builder as builder
from electra_tf.data.pretraining_dataset import pretraining_dataset


def build_steady_state(corpus_files: Sequence[str], vocab_file: str, num_shards: int = 16, repeats: int = 1) -> dict:
    """Returns the median per-core build throughput (MB/s of raw text) over shards, after one warm-up shard."""
    paths = corpus.resolve_corpus_files(corpus_files)
    plan = corpus.plan_shards(paths, num_shards)
    config = builder.PretrainingDataConfig()
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        tasks = [
            builder._ShardTask(i, tuple(p), os.path.join(tmp, f"{i}.tfrecord"), vocab_file, config)  # pylint: disable=protected-access
            for i, p in enumerate(plan)
        ]
        builder._build_shard(tasks[0])  # pylint: disable=protected-access
        for _ in range(repeats):
            for task in tasks[1:]:
                start = time.perf_counter()
                builder._build_shard(task)  # pylint: disable=protected-access
                rates.append(task.num_bytes / 1e6 / (time.perf_counter() - start))
    return {
        "name": "tfrecord_build_steady_state",
        "value": round(statistics.median(rates), 2),
        "unit": "MB/s per core",
        "windows": len(rates),
        "corpus": ",".join(os.path.basename(p) for p in paths),
    }


def build_end_to_end(corpus_files: Sequence[str], vocab_file: str, num_workers: int) -> dict:
    """Times `bin/build_pretraining_data` in a fresh process (imports and start-up included)."""
    paths = corpus.resolve_corpus_files(corpus_files)
    total_mb = sum(os.path.getsize(p) for p in paths) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "electra_tf.cli.build_pretraining_data",
            f"--input={','.join(paths)}",
            f"--vocab_file={vocab_file}",
            f"--output_dir={os.path.join(tmp, 'data')}",
            f"--num_workers={num_workers}",
            "--noprogress",
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
    return {
        "name": "tfrecord_build_end_to_end",
        "value": round(wall, 2),
        "unit": "s wall",
        "mb_per_s": round(total_mb / wall, 2),
        "num_workers": num_workers,
        "corpus_mb": round(total_mb, 1),
    }


def input_pipeline(data_dir: str, batch_size: int = 128, windows: int = 5, steps_per_window: int = 50) -> dict:
    """Returns the median tokens/s of masked batches from `pretraining_dataset`."""
    dataset = pretraining_dataset(data_dir, batch_size=batch_size, seed=0)
    iterator = iter(dataset)
    for _ in range(steps_per_window):  # Warm-up: fills the shuffle buffer and traces the maps.
        batch = next(iterator)
    tokens_per_batch = int(batch["token_ids"].shape[0] * batch["token_ids"].shape[1])
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(steps_per_window):
            next(iterator)
        rates.append(steps_per_window * tokens_per_batch / (time.perf_counter() - start))
    return {
        "name": "input_pipeline",
        "value": round(statistics.median(rates)),
        "unit": "tokens/s",
        "batch_size": batch_size,
        "seq_len": int(batch["token_ids"].shape[1]),
        "windows": windows,
    }
