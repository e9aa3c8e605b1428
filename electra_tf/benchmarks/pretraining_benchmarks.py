"""Benchmark of the pre-training step: tokens/s, analytical FLOP/s, and MFU against a dense matmul of the same dtype
timed in the same process.

The step runs through `fit` (as `bin/pretrain` runs it) on real masked batches that are cached in memory, so the
figure is the model's, not the input pipeline's. Each window is one `fit` epoch; the first is warm-up (tracing,
XLA compilation) and is discarded; the median of the rest is reported.
"""

import statistics
import time

import keras
import tensorflow as tf

from electra_tf.data.pretraining_dataset import pretraining_dataset
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.training.optimization import create_optimizer
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


class _WindowTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


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
    """Returns the median tokens/s (and FLOP/s) of pre-training steps of `config` at `batch_size`."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(mixed_precision)
    try:
        model = ElectraPretrainer(**config.pretrainer_kwargs())
        model.compile(
            optimizer=create_optimizer(config.optimizer, config.num_train_steps, mixed_precision),
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
        data = pretraining_dataset(data_dir, batch_size, config.masking, max_seq_length=config.max_seq_length)
        data = data.take(steps_per_window).cache().repeat()
        timer = _WindowTimer()
        model.fit(data, steps_per_epoch=steps_per_window, epochs=windows + 1, callbacks=[timer], verbose=0)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    seconds = statistics.median(timer.seconds[1:])
    compute_dtype = "bfloat16" if mixed_precision == "mixed_bfloat16" else "float16" if mixed_precision == "mixed_float16" else "float32"
    ceiling = matmul_flops_per_second(compute_dtype)
    tokens = steps_per_window * batch_size * config.max_seq_length
    flops = pretraining_flops_per_step(
        config.encoder,
        config.generator_fraction,
        config.objective,
        batch_size,
        config.max_seq_length,
        config.masking.num_predictions(config.max_seq_length),
    )
    return {
        "name": "pretraining_step",
        "value": round(tokens / seconds),
        "unit": "tokens/s",
        "flop_per_s": round(flops * steps_per_window / seconds),
        "matmul_flop_per_s": round(ceiling),
        "mfu": round(flops * steps_per_window / seconds / ceiling, 3),
        "objective": config.objective,
        "batch_size": batch_size,
        "seq_len": config.max_seq_length,
        "mixed_precision": mixed_precision,
        "jit_compile": jit_compile,
        "windows": windows,
    }
