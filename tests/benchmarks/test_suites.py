"""bin/benchmark's pre-training and fine-tuning/serving suites and the soak run, end to end on a micro model
(figures are not asserted: speed is measured by the benchmark, not by tests)."""

import json
import subprocess
import sys

import pytest

from electra_tf import config_io
from electra_tf.benchmarks import soak
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.models.flops_gr import gr_pretraining_flops_per_step
from electra_tf.training.pretraining_config import PretrainingConfig
from tests.conftest import repo_root, subprocess_env


def run_benchmark(*flags, timeout=600):
    """bin/benchmark with `flags`; its result and its JSON figures by name."""
    result = subprocess.run(
        [sys.executable, str(repo_root() / "bin" / "benchmark"), *flags],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = (json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))
    return result, {f["name"]: f for f in lines}


def table_line(result, name: str) -> str:
    """The line of bin/benchmark's printed table for the figure called `name`."""
    return [line for line in result.stdout.split("\nfigure")[-1].splitlines() if line.startswith(f"{name} ")][0]


def test_finetune_suite_reports_throughput_and_serving_latency(micro_config, vocab_file):
    result, figures = run_benchmark(
        "--suite=finetune",
        f"--config={micro_config}",
        f"--vocab_file={vocab_file}",
    )
    assert set(figures) == {"finetuning", "serving_latency_batch1", "serving_latency_batch32"}
    assert figures["finetuning"]["value"] > 0 and figures["finetuning"]["unit"] == "examples/s"
    for batch in (1, 32):
        latency = figures[f"serving_latency_batch{batch}"]
        assert 0 < latency["value"] <= latency["p99_ms"]
        assert latency["real_tokens"] == 128.0, "every input fills the sequence with real tokens"
        assert latency["keras_model_p50_ms"] > 0 and latency["speedup_vs_keras_model"] > 0
        assert latency["compute_dtype"] == "float32" and latency["calls"] == 100
    assert "serving_latency_batch32" in result.stdout.split("figure")[-1], "the readable table follows"


def test_soak_samples_memory_and_disk_and_survives_its_final_kill(micro_config, pretraining_data, tmp_path):
    summary = soak.soak(
        micro_config, pretraining_data, minutes=0.5, output_dir=str(tmp_path), checkpoint_every=10, sample_seconds=2
    )
    assert len(summary["samples"]) >= 5
    assert all(s["rss_mb"] > 0 for s in summary["samples"])
    assert summary["losses"] and summary["steps"] >= 10
    assert summary["disk_mb_max"] > 0 and summary["last_checkpoint_restorable"]
    # keep_checkpoints=3; the final SIGKILL can land after a save and before the manager deletes the oldest one.
    assert len(list((tmp_path / "run" / "checkpoints").glob("*.index"))) <= 4
    assert json.loads((tmp_path / "soak.json").read_text())["steps"] == summary["steps"]


@pytest.mark.large  # About 1-2 min: two timed pre-training runs and the precision ratio.
def test_pretrain_suite_reports_mfu_and_the_precision_ratio(micro_config, pretraining_data):
    result, figures = run_benchmark(
        "--suite=pretrain",
        f"--config={micro_config}",
        f"--data_dir={pretraining_data}",
        "--batch_size=4",
        "--precision_ratio",
    )
    assert set(figures) == {"pretraining_step", "mixed_bfloat16_over_float32"}
    step = figures["pretraining_step"]
    assert step["value"] > 0 and 0 < step["mfu"] == round(step["flop_per_s"] / step["matmul_flop_per_s"], 3)
    # MFU is on our count of the step; the paper's convention is reported beside it, for the same timed windows.
    config = config_io.load(PretrainingConfig, micro_config)
    shape = (
        config.encoder,
        config.generator_fraction,
        config.objective,
        4,
        config.max_seq_length,
        config.masking.num_predictions(config.max_seq_length),
    )
    assert step["flops_per_step"] == pretraining_flops_per_step(*shape)
    assert step["flops_per_step_gr"] == gr_pretraining_flops_per_step(*shape) != step["flops_per_step"]
    assert step["flop_per_s_gr"] / step["flop_per_s"] == pytest.approx(
        step["flops_per_step_gr"] / step["flops_per_step"], rel=1e-6
    )
    ratio = figures["mixed_bfloat16_over_float32"]
    assert len(ratio["window_ratios"]) == 5 and ratio["value"] > 0
    assert ratio["float32_tokens_per_s"] > 0 and ratio["mixed_bfloat16_tokens_per_s"] > 0


@pytest.mark.large  # About 2-3 min: the alternated precision run, the experiment shape on data built for it, serving.
def test_targets_suite_reports_every_target_with_its_anchor(micro_config, pretraining_data, corpus_slice, vocab_file):
    result, figures = run_benchmark(
        "--suite=targets",
        f"--config={micro_config}",
        f"--control_config={micro_config}",
        f"--data_dir={pretraining_data}",
        f"--corpus={corpus_slice}",
        f"--vocab_file={vocab_file}",
        "--batch_size=4",
        timeout=900,
    )
    targets = {name for name, figure in figures.items() if "target" in figure}
    assert targets == {
        "small_float32_mfu",
        "small_bfloat16_mfu",
        "small_bfloat16_over_float32",
        "small_input_pipeline_over_step",
        "control_float32_mfu",
        "control_input_pipeline_over_step",
        "serving_batch1_p50",
    }
    assert figures["finetuning"]["value"] > 0
    for name in targets:
        figure = figures[name]
        bound = float(figure["target"].split()[1])
        assert figure["met"] == (
            figure["value"] >= bound if figure["target"].startswith(">=") else figure["value"] <= bound
        )
    for name in ("small_float32_mfu", "small_bfloat16_mfu", "control_float32_mfu"):
        assert 0 < figures[name]["value"] and figures[name]["matmul_flop_per_s"] > 0
    control = config_io.load(PretrainingConfig, micro_config)
    # Its vocabulary is learned from --corpus at the config's size; the 1 MB slice gives fewer tokens than 30,522.
    assert 1000 < figures["control_float32_mfu"]["vocab_size"] <= control.encoder.vocab_size
    serving = figures["serving_batch1_p50"]
    assert serving["floor_ms"] == pytest.approx(
        serving["flops_per_call"] / serving["matmul_flop_per_s"] * 1000, abs=0.01
    )
    pipeline = figures["small_input_pipeline_over_step"]
    assert pipeline["step_tokens_per_s"] == figures["small_float32_mfu"]["tokens_per_s"]
    for name in targets:
        verdict = f"(target {figures[name]['target']}: {'met' if figures[name]['met'] else 'NOT met'})"
        assert table_line(result, name).endswith(verdict), name


def test_layer_suite_times_each_piece_of_both_networks_and_a_serving_call(micro_config):
    result, figures = run_benchmark("--suite=layer", f"--config={micro_config}", "--batch_size=2")
    config = config_io.load(PretrainingConfig, micro_config)
    assert config.objective == "electra", "the micro config has a generator"
    seq = config.max_seq_length
    tags = [f"{network} layer 2x{seq} fwd+bwd float32" for network in ("discriminator", "generator")]
    tags.append(f"discriminator layer 1x{seq} fwd float32")
    assert {name.split(": ")[0] for name in figures} == set(tags)
    generator = config.encoder.generator(config.generator_fraction).hidden_size
    assert figures[tags[1]]["hidden_size"] == generator < figures[tags[0]]["hidden_size"]
    for tag in tags:
        layer = figures[tag]
        pieces = [f for name, f in figures.items() if name.startswith(f"{tag}: ")]
        dropout = "bwd" in tag and config.encoder.dropout > 0  # Timed only in training, and only when it drops.
        assert len(pieces) == 5 + dropout, [f["name"] for f in pieces]
        assert layer["mfu"] > 0 and layer["matmul_flop_per_s"] > 0 and layer["call_ms"] > 0
        assert sum(p["share_of_layer"] for p in pieces) == pytest.approx(
            1 - layer["unexplained_ms"] / layer["value"], abs=0.01
        )
        assert f"mfu {layer['mfu']}" in table_line(result, tag), "the table shows the layer's MFU"
