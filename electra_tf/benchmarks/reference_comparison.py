"""Side-by-side throughput: our pre-training step against HF transformers' ELECTRA, in separate processes run
alternately (A B A B ...), reporting the median of the pairwise ratios. Alternating spreads the machine's drift over
both sides; separate processes keep the two frameworks' thread pools from competing."""

import importlib.util
import json
import statistics
import subprocess
import sys


def _last_json(output: str, what: str) -> dict:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"The {what} benchmark printed no result:\n{output[-2000:]}")


def _run(command: list, what: str) -> dict:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"The {what} benchmark failed ({' '.join(command)}):\n{result.stderr[-3000:]}")
    return _last_json(result.stdout, what)


def compare_with_hf(config_path: str, data_dir: str, batch_size: int, pairs: int = 3, ours_flags: tuple = ()) -> dict:
    """Runs ours and HF's pre-training step `pairs` times each, alternately; returns the ratio figure."""
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"The HF reference needs {missing}: pip install torch transformers (CPU wheels suffice).")
    ours_command = [
        sys.executable,
        "-m",
        "electra_tf.cli.benchmark",
        "--suite=pretrain",
        f"--config={config_path}",
        f"--data_dir={data_dir}",
        f"--batch_size={batch_size}",
        "--reference=none",
        *ours_flags,
    ]
    reference_command = [
        sys.executable,
        "-m",
        "electra_tf.benchmarks.hf_reference",
        f"--config={config_path}",
        f"--batch_size={batch_size}",
    ]
    ours, reference = [], []
    for _ in range(pairs):
        ours.append(_run(ours_command, "electra_tf")["value"])
        reference.append(_run(reference_command, "HF reference")["value"])
    ratios = [a / b for a, b in zip(ours, reference)]
    return {
        "name": "pretraining_vs_hf_ratio",
        "value": round(statistics.median(ratios), 2),
        "unit": "x",
        "ours_tokens_per_s": ours,
        "hf_tokens_per_s": reference,
        "ratios": [round(r, 3) for r in ratios],
        "pairs": pairs,
        "batch_size": batch_size,
        "flags": list(ours_flags),
    }
