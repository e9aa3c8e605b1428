"""Benchmarks of the fine-tuned model: training examples/s, and the TF Serving SavedModel's latency.

Both use an encoder of the given configuration with random weights (speed does not depend on the weights) and real
SST-2 dev sentences, joined so that every input fills the sequence length with real tokens.

- `finetuning_throughput`: `ElectraClassifier.fit` on raw strings, tokenized in tf.data as in `bin/finetune`; each
  window is one epoch of `steps_per_window` batches, the first is warm-up; the median examples/s is reported.
- `serving_latency`: exports the classifier with `export_classifier` (no XLA: TF Serving leaves it off on CPU), loads
  it with `tf.saved_model.load` and times `serving_default` calls one by one; p50 and p99 in milliseconds. In
  alternating windows it also times the same strings through the Keras classifier's own forward pass (a
  `tf.function` of preprocessor, model and softmax, no XLA), and reports the median of the windows' ratios.
"""

import os
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from electra_tf.benchmarks.pretraining_benchmarks import matmul_flops_per_second
from electra_tf.export.serving import export_classifier
from electra_tf.models import saving
from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.models.flops import classifier_inference_flops
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.tasks import reader, registry
from electra_tf.tokenization.tokenizer import tokenizer_settings
from electra_tf.tokenization.vocabulary import Vocabulary


def long_texts(glue_dir: str, count: int, min_words: int = 160) -> list[str]:
    """`count` texts of at least `min_words` words, each joined from consecutive SST-2 dev sentences."""
    sentences = reader.read_split(registry.get("sst-2"), glue_dir, "dev").text_a
    texts, current, index = [], [], 0
    while len(texts) < count:
        current.append(sentences[index % len(sentences)])
        index += 1
        if sum(len(s.split()) for s in current) >= min_words:
            texts.append(" ".join(current))
            current = []
    return texts


def save_random_encoder(encoder_config: EncoderConfig, vocab_file: str, directory: str) -> str:
    """Saves an encoder of `encoder_config` (vocabulary size from `vocab_file`) with random weights."""
    vocabulary = Vocabulary.load(vocab_file)
    keras.utils.set_random_seed(0)
    config = dict(vars(encoder_config), vocab_size=vocabulary.size)
    encoder = ElectraEncoder(**config)
    saving.save(saving.SavedEncoder(encoder, vocabulary, tokenizer_settings(vocabulary, True, None)), directory)
    return directory


def finetuning_throughput(
    encoder_dir: str,
    texts: list[str],
    batch_size: int = 32,
    sequence_length: int = 128,
    windows: int = 5,
    steps_per_window: int = 5,
) -> dict:
    """Returns the median fine-tuning examples/s of a binary classifier on `encoder_dir`."""
    classifier = ElectraClassifier.from_pretrained(encoder_dir, num_outputs=2, sequence_length=sequence_length)
    classifier.compile(learning_rate=1e-4)
    examples = batch_size * steps_per_window
    x = [texts[i % len(texts)] for i in range(examples)]
    y = np.arange(examples) % 2
    # Raw strings, tokenized in tf.data on every pass, as `bin/finetune` does.
    data = tf.data.Dataset.from_tensor_slices(({"text_a": x}, y)).repeat().batch(batch_size)
    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    classifier.fit(data, steps_per_epoch=steps_per_window, epochs=windows + 1, callbacks=[Timer()], verbose=0)
    median = statistics.median(seconds[1:])
    return {
        "name": "finetuning",
        "value": round(examples / median, 1),
        "unit": "examples/s",
        "batch_size": batch_size,
        "seq_len": sequence_length,
        "windows": windows,
    }


def _timed_calls(call, count: int) -> list[float]:
    """Milliseconds of `count` calls, each one finished (outputs copied to numpy) before the next starts."""
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        _ = {k: v.numpy() for k, v in call().items()}
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def serving_latency(
    encoder_dir: str,
    texts: list[str],
    batch_sizes=(1, 32),
    sequence_length: int = 128,
    calls: int = 20,
    windows: int = 5,
    compute_dtype: str = "float32",
) -> list[dict]:
    """Returns p50/p99 latency (ms) of the exported classifier's `serving_default`, one figure per batch size, and
    its speed-up over the same strings through the Keras classifier (no XLA), timed in alternating windows."""
    classifier = ElectraClassifier.from_pretrained(encoder_dir, num_outputs=2, sequence_length=sequence_length)
    keras_signature = tf.function(
        lambda text_a: {
            "probabilities": tf.nn.softmax(classifier(classifier.preprocessor({"text_a": text_a}), training=False))
        }
    )
    ceiling = matmul_flops_per_second(compute_dtype)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = export_classifier(classifier, os.path.join(tmp, "export"), warmup=False, compute_dtype=compute_dtype)
        serve = tf.saved_model.load(path).signatures["serving_default"]
        for batch_size in batch_sizes:
            batch = tf.constant([texts[i % len(texts)] for i in range(batch_size)])
            real_tokens = float(
                tf.reduce_mean(tf.reduce_sum(classifier.preprocessor({"text_a": batch})["padding_mask"], -1))
            )
            ours, reference = (lambda batch=batch: serve(text_a=batch)), (lambda batch=batch: keras_signature(batch))
            _timed_calls(ours, 5), _timed_calls(reference, 5)  # Warm-up: tracing and the kernels' caches.
            latencies, window_ratios, reference_latencies = [], [], []
            for _ in range(windows):
                window, reference_window = _timed_calls(ours, calls), _timed_calls(reference, calls)
                latencies += window
                reference_latencies += reference_window
                window_ratios.append(np.median(reference_window) / np.median(window))
            p50 = float(np.percentile(latencies, 50))
            flops = classifier_inference_flops(classifier.encoder.encoder_config, batch_size, round(real_tokens))
            results.append(
                {
                    "name": f"serving_latency_batch{batch_size}",
                    "value": round(p50, 2),
                    "unit": "ms p50",
                    "p99_ms": round(float(np.percentile(latencies, 99)), 2),
                    "keras_model_p50_ms": round(float(np.percentile(reference_latencies, 50)), 2),
                    "speedup_vs_keras_model": round(float(np.median(window_ratios)), 2),
                    "compute_dtype": compute_dtype,
                    "batch_size": batch_size,
                    "seq_len": sequence_length,
                    "real_tokens": real_tokens,
                    "calls": calls * windows,
                    # The call's matmul FLOPs at the dense matmul's rate timed in this process: no call is faster.
                    "flops_per_call": flops,
                    "matmul_flop_per_s": round(ceiling),
                    "floor_ms": round(flops / ceiling * 1000, 2),
                    "examples_per_s": round(batch_size * 1000 / p50, 1),
                }
            )
    return results
