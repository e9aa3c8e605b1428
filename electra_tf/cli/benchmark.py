"""Measures electra_tf's throughput: one JSON line per figure, then a readable table.

electra-benchmark --suite=data
electra-benchmark --suite=pretrain --config=configs/pretraining/small.json --batch_size=32
electra-benchmark --suite=pretrain --reference=hf --pairs=3   # ratio to HF transformers (needs torch)
electra-benchmark --suite=pretrain --precision_ratio   # mixed_bfloat16 over float32, alternating in one process
electra-benchmark --suite=pretrain --profile   # op time per step by family (matmuls, attention, GELU, dropout, ...)
electra-benchmark --suite=finetune --config=configs/pretraining/small.json   # fine-tuning and serving
electra-benchmark --suite=soak --config=configs/pretraining/tiny.json --soak_minutes=20
electra-benchmark --suite=targets   # every performance target of docs/performance.md, each with its anchor
electra-benchmark --suite=layer --config=configs/pretraining/small.json   # one layer's pieces, each timed alone
"""

import json
import os
import tempfile

import keras
from absl import flags

from electra_tf import config_io, objectives, settings
from electra_tf.benchmarks import (
    data_benchmarks,
    finetuning_benchmarks,
    layer_costs,
    pretraining_benchmarks,
    reference_comparison,
    soak,
    step_profile,
    targets,
)
from electra_tf.cli import common
from electra_tf.data.pretraining_data_builder import build_pretraining_data
from electra_tf.training.pretraining_config import PretrainingConfig

_SUITE = flags.DEFINE_enum(
    "suite", "data", ["data", "pretrain", "finetune", "soak", "targets", "layer"], "Which figures to measure."
)
_CONFIG = flags.DEFINE_string(
    "config",
    str(settings.repo_root() / "configs" / "pretraining" / "small.json"),
    "Pretraining config (pretrain suite).",
)
_CONTROL_CONFIG = flags.DEFINE_string(
    "control_config",
    str(settings.repo_root() / "configs" / "pretraining" / "control.json"),
    "Targets suite: the learning experiment's pre-training config (its data is built from --corpus).",
)
_DATA_DIR = flags.DEFINE_string(
    "data_dir", str(settings.output_dir() / "pretraining_data"), "Pre-training data (pretrain suite)."
)
_MIXED_PRECISION = flags.DEFINE_enum(
    "mixed_precision", "float32", ["float32", "mixed_bfloat16", "mixed_float16"], "Policy."
)
_JIT_COMPILE = flags.DEFINE_bool("jit_compile", False, "XLA-compile the step (pretrain suite).")
_STEPS_PER_EXECUTION = flags.DEFINE_integer("steps_per_execution", 1, "Steps per compiled call (pretrain suite).")
_CORPUS = flags.DEFINE_string(
    "corpus", str(settings.corpus_file("gutenberg_10MB.txt")), "Corpus for steady-state build and pipeline figures."
)
_END_TO_END_CORPUS = flags.DEFINE_string(
    "end_to_end_corpus", str(settings.corpus_file("gutenberg_100MB.txt")), "Corpus timed end to end."
)
_VOCAB_FILE = flags.DEFINE_string("vocab_file", str(settings.output_dir() / "vocab.txt"), "vocab.txt to use.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 0, "Workers of the end-to-end build; 0 uses every core.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", None, "Batch size: 128 for the data suite, 32 for pretrain.")
_REFERENCE = flags.DEFINE_enum(
    "reference",
    "none",
    ["none", "hf"],
    "Pretrain suite: also run HF transformers' ELECTRA (torch) on the same config and batch, alternating processes.",
)
_PRECISION_RATIO = flags.DEFINE_bool(
    "precision_ratio",
    False,
    "Pretrain suite: also time float32 and --mixed_precision (mixed_bfloat16 if float32) in alternating windows in "
    "this process and report the ratio.",
)
_PROFILE = flags.DEFINE_bool(
    "profile",
    False,
    "Pretrain suite: also profile the step (tf.profiler) and print op time per step by op family, with its share.",
)
_PAIRS = flags.DEFINE_integer("pairs", 3, "Alternated (ours, reference) runs for --reference.")
_SERVING_DTYPE = flags.DEFINE_enum(
    "serving_dtype",
    "float32",
    ["float32", "bfloat16"],
    "Finetune suite: the export's compute dtype (bin/export's --compute_dtype).",
)
_GLUE_DIR = flags.DEFINE_string("glue_dir", str(settings.data_dir() / "glue"), "GLUE data (finetune suite).")
_SOAK_MINUTES = flags.DEFINE_float("soak_minutes", 20.0, "Soak suite: wall time of the pre-training run.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", str(settings.output_dir() / "soak"), "Soak suite: receives the run, its log and soak.json."
)


def _print_table(results: list[dict]) -> None:
    print(f"\n{'figure':<40} {'value':>14}  unit")
    for r in results:
        print(f"{r['name']:<40} {r['value']:>14}  {r['unit']}{_detail(r)}")


def _detail(row: dict) -> str:
    """What the table adds after a figure's unit: its target, or a layer piece's share and MFU figures."""
    if "target" in row:
        return f"  (target {row['target']}: {'met' if row['met'] else 'NOT met'})"
    shown = ("share_of_layer", "over_matmul_peak", "mfu", "mfu_of_pieces", "mfu_of_matmuls_alone", "unexplained_ms")
    details = [f"{key} {row[key]}" for key in shown if key in row]
    return f"  ({', '.join(details)})" if details else ""


def main(argv: list[str]) -> None:
    common.reject_positional(argv)
    results = []

    def report(result: dict) -> None:
        print(json.dumps(result), flush=True)
        results.append(result)

    if _PROFILE.value:
        _check_profile_flags()
    suites = {
        "finetune": _finetune_suite,
        "soak": _soak_suite,
        "pretrain": _pretrain_suite,
        "targets": _targets_suite,
        "layer": _layer_suite,
    }
    suites.get(_SUITE.value, _data_suite)(report)
    _print_table(results)


def _finetune_suite(report) -> None:
    config = config_io.load(PretrainingConfig, _CONFIG.value)
    texts = finetuning_benchmarks.long_texts(_GLUE_DIR.value, 64)
    with tempfile.TemporaryDirectory() as tmp:
        encoder_dir = finetuning_benchmarks.save_random_encoder(
            config.encoder, _VOCAB_FILE.value, os.path.join(tmp, "encoder")
        )
        report(finetuning_benchmarks.finetuning_throughput(encoder_dir, texts, _BATCH_SIZE.value or 32))
        for result in finetuning_benchmarks.serving_latency(encoder_dir, texts, compute_dtype=_SERVING_DTYPE.value):
            report(result)


def _targets_suite(report) -> None:
    config = config_io.load(PretrainingConfig, _CONFIG.value)
    batch_size = _BATCH_SIZE.value or 32
    precision = targets.precision_rows(config, _DATA_DIR.value, batch_size)
    for row in precision:
        report(row)
    report(targets.pipeline_row("small", _DATA_DIR.value, batch_size, precision[0]["tokens_per_s"]))
    for row in targets.control_rows(config_io.load(PretrainingConfig, _CONTROL_CONFIG.value), _CORPUS.value):
        report(row)
    for row in targets.finetuning_rows(config, _VOCAB_FILE.value, _GLUE_DIR.value):
        report(row)


def _layer_suite(report) -> None:
    """One layer of --config's encoder: its pieces at the pre-training step's shape (forward and backward, the
    policy's compute dtype), the generator's layer at that shape where the objective has one, then the encoder's
    layer forward only at batch 1 (a serving call's shape)."""
    config = config_io.load(PretrainingConfig, _CONFIG.value)
    dtype = keras.mixed_precision.Policy(_MIXED_PRECISION.value).compute_dtype
    batch_size, seq_len = _BATCH_SIZE.value or 32, config.max_seq_length
    layers = [("discriminator", config.encoder, batch_size, True)]
    if objectives.get(config.objective).uses_generator:
        layers.append(("generator", config.encoder.generator(config.generator_fraction), batch_size, True))
    layers.append(("discriminator", config.encoder, 1, False))
    peak = pretraining_benchmarks.matmul_flops_per_second(dtype)
    for network, encoder, batch, training in layers:
        for row in layer_costs.layer_cost_rows(encoder, batch, seq_len, training, dtype, network, peak):
            report(row)


def _soak_suite(report) -> None:
    summary = soak.soak(_CONFIG.value, _DATA_DIR.value, _SOAK_MINUTES.value, _OUTPUT_DIR.value)
    report(
        {k: v for k, v in summary.items() if k not in ("samples", "losses")}
        | {"value": summary["rss_mb_max"], "unit": "MB max RSS"}
    )


def _pretrain_suite(report) -> None:
    config = config_io.load(PretrainingConfig, _CONFIG.value)
    report(
        pretraining_benchmarks.pretraining_step(
            config,
            _DATA_DIR.value,
            _BATCH_SIZE.value or 32,
            mixed_precision=_MIXED_PRECISION.value,
            jit_compile=_JIT_COMPILE.value,
            steps_per_execution=_STEPS_PER_EXECUTION.value,
        )
    )
    if _PRECISION_RATIO.value:
        mixed = "mixed_bfloat16" if _MIXED_PRECISION.value == "float32" else _MIXED_PRECISION.value
        report(
            pretraining_benchmarks.precision_ratio(
                config, _DATA_DIR.value, _BATCH_SIZE.value or 32, mixed, jit_compile=_JIT_COMPILE.value
            )
        )
    if _PROFILE.value:
        _profile(config, report)
    if _REFERENCE.value == "hf":
        ours_flags = (
            f"--mixed_precision={_MIXED_PRECISION.value}",
            f"--steps_per_execution={_STEPS_PER_EXECUTION.value}",
            "--jit_compile" if _JIT_COMPILE.value else "--nojit_compile",
        )
        report(
            reference_comparison.compare_with_hf(
                _CONFIG.value, _DATA_DIR.value, _BATCH_SIZE.value or 32, _PAIRS.value, ours_flags
            )
        )


def _check_profile_flags() -> None:
    """--profile sorts the ops of one plain pre-training step into families: it refuses the flags that change that."""
    if _SUITE.value != "pretrain":
        raise ValueError(
            f"--profile profiles the pre-training step, but --suite={_SUITE.value}. Pass --suite=pretrain."
        )
    given = {"--jit_compile": "--jit_compile"} if _JIT_COMPILE.value else {}
    if _STEPS_PER_EXECUTION.value != 1:
        given["--steps_per_execution"] = f"--steps_per_execution={_STEPS_PER_EXECUTION.value}"
    if given:
        raise ValueError(
            f"--profile sorts the ops of one plain step (no XLA, one step per call) into families, but "
            f"{' and '.join(given.values())} {'was' if len(given) == 1 else 'were'} given. Drop --profile, or drop "
            f"{' and '.join(given)}."
        )


def _profile(config: PretrainingConfig, report) -> None:
    profile = step_profile.profile_step(config, _DATA_DIR.value, _BATCH_SIZE.value or 32, _MIXED_PRECISION.value)
    for row in step_profile.report_rows(profile):
        report(row)


def _data_suite(report) -> None:
    report(data_benchmarks.build_steady_state([_CORPUS.value], _VOCAB_FILE.value))
    report(
        data_benchmarks.build_end_to_end(
            [_END_TO_END_CORPUS.value], _VOCAB_FILE.value, _NUM_WORKERS.value or os.cpu_count()
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        build_pretraining_data([_CORPUS.value], _VOCAB_FILE.value, data_dir, show_progress=False)
        report(data_benchmarks.input_pipeline(data_dir, batch_size=_BATCH_SIZE.value or 128))


def run() -> None:
    common.run(main)


if __name__ == "__main__":
    run()
