"""The performance targets of docs/performance.md in one run: each row is a figure, its target, whether it is met,
and the anchor it was measured against in the same process (the matmul ceiling, or the step a pipeline feeds).

- ELECTRA-Small float32 MFU and mixed_bfloat16 MFU, each against a matmul of its compute dtype timed in this process,
  and bf16 over float32 tokens/s; both policies' steps are timed in alternating windows of one process.
- The learning experiment's configuration (`configs/pretraining/control.json`: 8k vocabulary, 64-token sequences)
  gets its own MFU row, on data built in a temporary folder from the corpus with a vocabulary of its size.
- The masked input pipeline's tokens/s over what each step consumes.
- The exported classifier's batch-1 p50 on 128 real tokens, beside its floor: its FLOPs over the matmul ceiling.
- Fine-tuning examples/s (reported; the target is no regression, which needs a figure from before).
"""

import dataclasses
import os
import tempfile

from electra_tf.benchmarks import data_benchmarks, finetuning_benchmarks, pretraining_benchmarks
from electra_tf.data.packing import PackingConfig
from electra_tf.data.pretraining_data_builder import PretrainingDataConfig, build_pretraining_data
from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab
from electra_tf.training.pretraining_config import PretrainingConfig

FP32_MFU = 0.70
BF16_MFU = 0.60
BF16_OVER_FP32 = 1.6
CONTROL_MFU = 0.45
SERVING_P50_MS = 15.0
PIPELINE_OVER_STEP = 10.0


def target_row(name: str, value: float, unit: str, target: float, at_least: bool = True, **anchors) -> dict:
    """One figure with its target (`>=` when `at_least`, else `<=`), whether it is met, and what it was measured
    against."""
    met = value >= target if at_least else value <= target
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "target": f"{'>=' if at_least else '<='} {target:g}",
        "met": bool(met),
        **anchors,
    }


def precision_rows(config: PretrainingConfig, data_dir: str, batch_size: int, steps_per_window: int = 5) -> list:
    """Float32 MFU, mixed_bfloat16 MFU and their tokens/s ratio, from one alternated run of both policies."""
    ratio = pretraining_benchmarks.precision_ratio(config, data_dir, batch_size, steps_per_window=steps_per_window)
    flops = pretraining_benchmarks.step_flops(config, batch_size)[0]
    tokens_per_step = batch_size * config.max_seq_length
    rows = []
    for policy, dtype, target in (("float32", "float32", FP32_MFU), ("mixed_bfloat16", "bfloat16", BF16_MFU)):
        tokens_per_s = ratio[f"{policy}_tokens_per_s"]
        ceiling = pretraining_benchmarks.matmul_flops_per_second(dtype)
        rows.append(
            target_row(
                f"small_{dtype}_mfu",
                round(flops * tokens_per_s / tokens_per_step / ceiling, 3),
                "MFU",
                target,
                tokens_per_s=tokens_per_s,
                matmul_flop_per_s=round(ceiling),
                batch_size=batch_size,
                seq_len=config.max_seq_length,
            )
        )
    rows.append(
        target_row(
            "small_bfloat16_over_float32",
            ratio["value"],
            "x tokens/s",
            BF16_OVER_FP32,
            window_ratios=ratio["window_ratios"],
            bf16_over_fp32_matmul=round(rows[1]["matmul_flop_per_s"] / rows[0]["matmul_flop_per_s"], 3),
        )
    )
    return rows


def build_config_data(config: PretrainingConfig, corpus_file: str, directory: str) -> tuple[str, int]:
    """Pre-training data for `config` in `directory`: a vocabulary of its size learned from `corpus_file`, and
    sequences of its length. Returns the data folder and the vocabulary's size (a small corpus can give fewer
    tokens than asked for)."""
    vocab_file = os.path.join(directory, "vocab.txt")
    vocabulary = learn_wordpiece_vocab([corpus_file], vocab_size=config.encoder.vocab_size)
    vocabulary.save(vocab_file)
    data_dir = os.path.join(directory, "data")
    data_config = PretrainingDataConfig(packing=PackingConfig(max_seq_length=config.max_seq_length))
    build_pretraining_data([corpus_file], vocab_file, data_dir, data_config, show_progress=False)
    return data_dir, vocabulary.size


def pipeline_row(name: str, data_dir: str, batch_size: int, step_tokens_per_s: float) -> dict:
    """The masked input pipeline's tokens/s on `data_dir` over the tokens/s of the step it feeds."""
    pipeline = data_benchmarks.input_pipeline(data_dir, batch_size=batch_size)
    return target_row(
        f"{name}_input_pipeline_over_step",
        round(pipeline["value"] / step_tokens_per_s, 1),
        "x tokens/s",
        PIPELINE_OVER_STEP,
        pipeline_tokens_per_s=pipeline["value"],
        step_tokens_per_s=step_tokens_per_s,
        batch_size=batch_size,
    )


def control_rows(config: PretrainingConfig, corpus_file: str) -> list:
    """The experiment configuration's float32 step at its own batch size (MFU), and its input pipeline, on data built
    for it from `corpus_file`."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, vocab_size = build_config_data(config, corpus_file, tmp)
        # As bin/pretrain does: the model takes the data's vocabulary size.
        config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, vocab_size=vocab_size))
        step = pretraining_benchmarks.pretraining_step(config, data_dir, config.train_batch_size)
        pipeline = pipeline_row("control", data_dir, config.train_batch_size, step["value"])
    mfu = target_row(
        "control_float32_mfu",
        step["mfu"],
        "MFU",
        CONTROL_MFU,
        tokens_per_s=step["value"],
        matmul_flop_per_s=step["matmul_flop_per_s"],
        batch_size=config.train_batch_size,
        seq_len=config.max_seq_length,
        vocab_size=config.encoder.vocab_size,
    )
    return [mfu, pipeline]


def finetuning_rows(config: PretrainingConfig, vocab_file: str, glue_dir: str) -> list:
    """Fine-tuning examples/s, and the exported classifier's batch-1 p50 against its floor."""
    texts = finetuning_benchmarks.long_texts(glue_dir, 64)
    with tempfile.TemporaryDirectory() as tmp:
        encoder_dir = finetuning_benchmarks.save_random_encoder(config.encoder, vocab_file, os.path.join(tmp, "enc"))
        finetuning = finetuning_benchmarks.finetuning_throughput(encoder_dir, texts)
        serving = finetuning_benchmarks.serving_latency(encoder_dir, texts, batch_sizes=(1,))[0]
    anchors = {k: serving[k] for k in ("floor_ms", "flops_per_call", "matmul_flop_per_s", "p99_ms", "real_tokens")}
    return [
        finetuning,
        target_row("serving_batch1_p50", serving["value"], "ms p50", SERVING_P50_MS, at_least=False, **anchors),
    ]
