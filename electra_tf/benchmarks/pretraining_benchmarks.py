"""Benchmark of the pre-training step: tokens/s, analytical FLOP/s, and MFU against a dense matmul of the same dtype
timed in the same process.

MFU is on our FLOPs count (`models/flops.py`: the matmuls the step runs). The paper's convention
(`models/flops_gr.py`, google-research/electra's count) is reported beside it, as `flops_per_step_gr` and
`flop_per_s_gr`, for comparison with the paper's compute figures.

The step runs through `fit` (as `bin/pretrain` runs it) on real masked batches that are cached in memory, so the
figure is the model's, not the input pipeline's. Each window is one `fit` epoch; the first is warm-up (tracing,
XLA compilation) and is discarded; the median of the rest is reported.
"""

import dataclasses
import statistics
import time

import keras
import tensorflow as tf

from electra_tf.data.pretraining_dataset import pretraining_dataset
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.models.flops_gr import gr_pretraining_flops_per_step
from electra_tf.optimizers.config import create_optimizer
from electra_tf.training.pretraining_config import PretrainingConfig


def matmul_flops_per_second(dtype: str = "float32", size: int = 4096, repeats: int = 5) -> float:
    """Median FLOP/s of a dense `size` x `size` matmul of `dtype`, measured in this process: the ceiling MFU is
    reported against."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    matmul = tf.function(lambda: tf.matmul(a, a))
    matmul().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul().numpy()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def step_flops(config: PretrainingConfig, batch_size: int) -> tuple[int, int]:
    """FLOPs of one training step of `config` at `batch_size`: our count (the matmuls the step runs), and the
    paper's convention."""
    shape = (
        config.encoder,
        config.generator_fraction,
        config.objective,
        batch_size,
        config.max_seq_length,
        config.masking.num_predictions(config.max_seq_length),
    )
    return pretraining_flops_per_step(*shape), gr_pretraining_flops_per_step(*shape)


class _WindowTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _cached_batches(config: PretrainingConfig, data_dir: str, batch_size: int, count: int) -> tf.data.Dataset:
    """`count` masked batches, cached in memory and repeated: the step is timed, not the input pipeline."""
    data = pretraining_dataset(data_dir, batch_size, config.masking, max_seq_length=config.max_seq_length)
    return data.take(count).cache().repeat()


def _compiled_pretrainer(config: PretrainingConfig, mixed_precision: str, jit_compile: bool, steps_per_execution: int):
    """A compiled `ElectraPretrainer` under `mixed_precision` (the global policy is restored afterwards)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(mixed_precision)
    try:
        model = ElectraPretrainer(**config.pretrainer_kwargs())
        model.compile(
            optimizer=create_optimizer(config.optimizer, config.num_train_steps, mixed_precision),
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return model


def precision_ratio(
    config: PretrainingConfig,
    data_dir: str,
    batch_size: int,
    mixed_precision: str = "mixed_bfloat16",
    jit_compile: bool = False,
    windows: int = 5,
    steps_per_window: int = 10,
) -> dict:
    """Tokens/s of `mixed_precision` over float32, both models in this process, timed in alternating windows; the
    median of the windows' ratios is reported, so a burst of load from elsewhere tends to slow both sides of a pair."""
    data = _cached_batches(config, data_dir, batch_size, steps_per_window)
    models = {policy: _compiled_pretrainer(config, policy, jit_compile, 1) for policy in ("float32", mixed_precision)}
    seconds = _alternated_windows(
        {policy: (model, data) for policy, model in models.items()}, windows, steps_per_window
    )
    tokens = steps_per_window * batch_size * config.max_seq_length
    ratios = [a / b for a, b in zip(seconds["float32"], seconds[mixed_precision])]
    return {
        "name": f"{mixed_precision}_over_float32",
        "value": round(statistics.median(ratios), 3),
        "unit": "x tokens/s",
        "float32_tokens_per_s": round(tokens / statistics.median(seconds["float32"])),
        f"{mixed_precision}_tokens_per_s": round(tokens / statistics.median(seconds[mixed_precision])),
        "window_ratios": [round(r, 3) for r in ratios],
        "batch_size": batch_size,
        "seq_len": config.max_seq_length,
        "jit_compile": jit_compile,
        "windows": windows,
    }


def _alternated_windows(models: dict, windows: int, steps_per_window: int) -> dict:
    """{name: seconds of each timed window}: each (model, data) of `models` fits `steps_per_window` steps in turn,
    `windows` rounds after a warm-up round (tracing, compilation) that is not timed. Alternating makes a burst of
    load from elsewhere tend to slow every model of a round alike."""
    seconds = {name: [] for name in models}
    for window in range(windows + 1):
        for name, (model, data) in models.items():
            timer = _WindowTimer()
            model.fit(data, steps_per_epoch=steps_per_window, epochs=1, callbacks=[timer], verbose=0)
            if window:
                seconds[name] += timer.seconds
    return seconds


def step_seconds(configs: dict, data_dir: str, reference: str, windows: int = 5, steps_per_window: int = 20) -> dict:
    """Seconds per training step of each `PretrainingConfig` of `configs` ({name: config}), as `bin/pretrain` runs
    it (`fit`, float32, no XLA, each config's own batch), timed in alternating windows in this process on real
    masked batches cached in memory: the wall-clock exchange rate between objectives on this machine.

    Returns {name: {"seconds_per_step": median, "window_seconds_per_step": [...],
    "over_reference": median of the rounds' ratios to `reference`'s window}}.
    """
    models = {}
    for name, config in configs.items():
        keras.utils.set_random_seed(config.seed)
        data = _cached_batches(config, data_dir, config.train_batch_size, steps_per_window)
        models[name] = (_compiled_pretrainer(config, "float32", False, 1), data)
    seconds = _alternated_windows(models, windows, steps_per_window)
    result = {}
    for name, values in seconds.items():
        # fit's steps are batches; an update takes gradient_accumulation_steps of them.
        per_step = [v / steps_per_window * configs[name].optimizer.gradient_accumulation_steps for v in values]
        accumulation = configs[name].optimizer.gradient_accumulation_steps
        ratios = [
            v * accumulation / (r * configs[reference].optimizer.gradient_accumulation_steps)
            for v, r in zip(values, seconds[reference])
        ]
        result[name] = {
            "seconds_per_step": round(statistics.median(per_step), 5),
            "window_seconds_per_step": [round(v, 5) for v in per_step],
            "over_reference": round(statistics.median(ratios), 4),
        }
    return result


def loss_curves(
    config: PretrainingConfig,
    data_dir: str,
    runs=(("float32", 0), ("float32", 1), ("mixed_bfloat16", 0)),
    steps: int = 200,
    window: int = 20,
) -> dict:
    """Mean training loss per `window` steps for each (policy, seed) run of `config`: the check that mixed precision
    trains like float32. Runs with the same seed share the initialization, sampling noise and data order; a second
    float32 seed measures how far two equally valid runs drift apart.

    Returns {"<policy>/seed<seed>": [window means]}.
    """
    data = pretraining_dataset(data_dir, config.train_batch_size, config.masking, max_seq_length=config.max_seq_length)
    curves = {}
    for policy, seed in runs:
        keras.utils.set_random_seed(seed)
        model = _compiled_pretrainer(dataclasses.replace(config, seed=seed), policy, False, 1)
        history = model.fit(data, steps_per_epoch=window, epochs=steps // window, verbose=0)
        curves[f"{policy}/seed{seed}"] = [round(float(v), 4) for v in history.history["loss"]]
    return curves


def pretraining_step(
    config: PretrainingConfig,
    data_dir: str,
    batch_size: int,
    mixed_precision: str = "float32",
    jit_compile: bool = False,
    steps_per_execution: int = 1,
    windows: int = 5,
    steps_per_window: int = 10,
) -> dict:
    """Returns the median tokens/s (and FLOP/s, on our count and in the paper's convention) of pre-training steps of
    `config` at `batch_size`."""
    model = _compiled_pretrainer(config, mixed_precision, jit_compile, steps_per_execution)
    data = _cached_batches(config, data_dir, batch_size, steps_per_window)
    timer = _WindowTimer()
    model.fit(data, steps_per_epoch=steps_per_window, epochs=windows + 1, callbacks=[timer], verbose=0)
    seconds = statistics.median(timer.seconds[1:])
    ceiling = matmul_flops_per_second(keras.mixed_precision.Policy(mixed_precision).compute_dtype)
    tokens = steps_per_window * batch_size * config.max_seq_length
    flops, flops_gr = step_flops(config, batch_size)
    return {
        "name": "pretraining_step",
        "value": round(tokens / seconds),
        "unit": "tokens/s",
        "flops_per_step": flops,
        "flop_per_s": round(flops * steps_per_window / seconds),
        "matmul_flop_per_s": round(ceiling),
        "mfu": round(flops * steps_per_window / seconds / ceiling, 3),
        # The paper's convention: for comparing with its compute figures, not for MFU (it is not what the step runs).
        "flops_per_step_gr": flops_gr,
        "flop_per_s_gr": round(flops_gr * steps_per_window / seconds),
        "objective": config.objective,
        "batch_size": batch_size,
        "seq_len": config.max_seq_length,
        "mixed_precision": mixed_precision,
        "jit_compile": jit_compile,
        "windows": windows,
    }
