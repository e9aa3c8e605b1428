"""SavedModel export for TF Serving, with the tokenizer in the graph.

    electra_tf.export.serving.export_classifier(classifier, "exports/sst2")   # -> exports/sst2/1/

The `serving_default` signature takes raw strings, `text_a` (and `text_b` for pair tasks), shape `(batch,)`, and
returns, for classification, `probabilities` (float32 `(batch, labels)`), `label_id` (int64) and `label` (string);
for regression, `score` (float32). Empty and over-long texts are packed like any other (truncated), never an error.

The model in the graph is `inference_graph.InferenceClassifier`: the classifier's forward pass on plain variables
and constants, rewritten for latency. TF Serving's session loader can restore it, which it cannot do for the Keras
model itself (see that module). The export is checked before it is published: every op must be core TensorFlow or
a tf_text op that stock TF Serving runs; no op in the serving signature may read or write files
(`op_allowlist.py`); and its outputs on the warmup texts must match the Keras classifier's within
`EXPORT_TOLERANCE` (`check_against_keras`). It is written to a temporary folder and renamed into
`<export_dir>/<version>/`, the versioned layout TF Serving watches, so a half-written version never appears.
"""

import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

from electra_tf import io_utils
from electra_tf.export import op_allowlist
from electra_tf.export.inference_graph import InferenceClassifier
from electra_tf.models.classifier_preprocessor import TEXT_A, TEXT_B

WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_TEXTS = ("", "A short sentence.", "a much longer input " * 200)
# How far the exported graph's outputs may be from the Keras model's on the warmup texts before the export is refused:
# absolute, on probabilities (classification) or on scores divided by the task's target scale (regression). float32
# differs only by summation order (about 1e-6 measured); bfloat16 rounds the matmuls (about 1e-3 on ELECTRA-Small).
EXPORT_TOLERANCE = {"float32": 1e-4, "bfloat16": 3e-2}


class ServingModule(tf.Module):
    """Preprocessor plus classifier, as one tf.Module with a string-in signature."""

    def __init__(self, classifier, compute_dtype: str = "float32"):
        super().__init__(name="electra_serving")
        if classifier.preprocessor is None:
            raise ValueError("The classifier has no preprocessor; export needs one to put the tokenizer in the graph.")
        self.model = InferenceClassifier(classifier, compute_dtype=compute_dtype)
        self.preprocessor = classifier.preprocessor
        self.regression = classifier.regression
        if not self.regression:
            self.label_names = tf.constant(list(classifier.labels))
        self.text_keys = self.preprocessor.text_keys
        specs = [tf.TensorSpec([None], tf.string, name=key) for key in self.text_keys]
        self.serve = tf.function(self._serve_pair if len(specs) == 2 else self._serve_single, input_signature=specs)

    def _serve_single(self, text_a):
        return self._outputs({TEXT_A: text_a})

    def _serve_pair(self, text_a, text_b):
        return self._outputs({TEXT_A: text_a, TEXT_B: text_b})

    def _outputs(self, texts):
        inputs = self.preprocessor(texts)
        outputs = self.model(inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"])
        if self.regression:
            return {"score": tf.cast(outputs, tf.float32)}
        probabilities = tf.nn.softmax(tf.cast(outputs, tf.float32), axis=-1)
        label_id = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(self.label_names, label_id)}


def next_version(export_dir: str) -> int:
    """One more than the largest integer version folder in `export_dir`, or 1."""
    if not tf.io.gfile.isdir(export_dir):
        return 1
    versions = [int(name.rstrip("/")) for name in tf.io.gfile.listdir(export_dir) if name.rstrip("/").isdigit()]
    return max(versions, default=0) + 1


def export_classifier(
    classifier,
    export_dir: str,
    version: Optional[int] = None,
    model_name: str = "electra",
    warmup: bool = True,
    compute_dtype: str = "float32",
) -> str:
    """Writes `classifier` as `<export_dir>/<version>/` and returns that path.

    Args:
        classifier: `ElectraClassifier` with a preprocessor.
        export_dir: str. The model's base folder, as given to TF Serving's `--model_base_path`.
        version: int or None. None takes the next free version.
        model_name: str. Model name written into the warmup requests. Defaults to "electra".
        warmup: bool. Write TF Serving warmup requests (needs `tensorflow-serving-api`; skipped with a warning
            if it is not installed). Defaults to True.
        compute_dtype: "float32" or "bfloat16" (see `inference_graph.py`). Defaults to "float32".
    """
    version = next_version(export_dir) if version is None else int(version)
    final = os.path.join(export_dir, str(version))
    if tf.io.gfile.exists(final):
        raise FileExistsError(f"{final} exists; TF Serving versions are immutable. Choose another --version.")
    module = ServingModule(classifier, compute_dtype=compute_dtype)
    # The staging folder's name is not an integer, so TF Serving ignores it until it is renamed into place.
    with io_utils.staged_directory(final) as staging:
        tf.saved_model.save(module, staging, signatures={"serving_default": module.serve})
        bad = op_allowlist.disallowed_ops(staging)
        if bad:
            raise ValueError(
                f"The serving graph uses ops that stock TF Serving cannot run: {bad}. "
                "See electra_tf/export/op_allowlist.py."
            )
        file_io = op_allowlist.file_io_ops(op_allowlist.signature_ops(staging))
        if file_io:
            raise ValueError(
                f"The serving signature uses ops that read or write files: {file_io}. Serving must not touch the "
                "filesystem; remove them from the model or preprocessor."
            )
        difference = check_against_keras(staging, classifier, compute_dtype)
        if warmup:
            write_warmup_requests(staging, module.text_keys, model_name)
    logging.info("Exported %s (largest difference from the Keras model on the warmup texts: %.2e).", final, difference)
    return final


def check_against_keras(saved_model_dir: str, classifier, compute_dtype: str = "float32") -> float:
    """Runs the saved `serving_default` and the Keras classifier on the warmup texts and returns the largest
    difference; raises `ValueError` (so nothing is published) if it exceeds `EXPORT_TOLERANCE[compute_dtype]`.

    The serving graph is a second implementation of the forward pass (`inference_graph`), so this is what keeps it
    from drifting from the model it exports.
    """
    texts = {
        key: tf.constant(WARMUP_TEXTS if i == 0 else WARMUP_TEXTS[::-1])
        for i, key in enumerate(classifier.preprocessor.text_keys)
    }
    served = tf.saved_model.load(saved_model_dir).signatures["serving_default"](**texts)
    outputs = classifier(classifier.preprocessor(texts), training=False)
    if classifier.regression:
        scale = classifier.target_scale
        difference = float(tf.reduce_max(tf.abs(served["score"] - tf.cast(outputs, tf.float32)))) / scale
    else:
        expected = tf.nn.softmax(tf.cast(outputs, tf.float32), axis=-1)
        difference = float(tf.reduce_max(tf.abs(served["probabilities"] - expected)))
    # A classifier that itself computes in a 16-bit float (pre-trained under mixed precision) is the looser reference.
    keras_dtype = "float32" if classifier.compute_dtype == "float32" else "bfloat16"
    tolerance = max(EXPORT_TOLERANCE[compute_dtype], EXPORT_TOLERANCE[keras_dtype])
    if not difference <= tolerance:
        raise ValueError(
            f"The exported graph's outputs differ from the Keras classifier's by {difference:.3g} on the warmup texts "
            f"(tolerance {tolerance:g} for compute_dtype={compute_dtype} against a {classifier.compute_dtype} Keras "
            "model), so it was not published. The serving "
            "forward pass (electra_tf/export/inference_graph.py) no longer matches the model: please report it."
        )
    return difference


def publish(module, export_dir: str, version, check, text_keys, model_name: str, warmup: bool) -> str:
    """Saves `module.serve` as `serving_default` in `<export_dir>/<version>/` (the next version when None), through a
    staging folder: published only if its ops are all on the TF Serving allowlist, none touches files, and
    `check(staging)` raises nothing; then warmup requests for `text_keys`. Returns the version folder."""
    version = next_version(export_dir) if version is None else int(version)
    final = os.path.join(export_dir, str(version))
    if tf.io.gfile.exists(final):
        raise FileExistsError(f"{final} exists; TF Serving versions are immutable. Choose another --version.")
    with io_utils.staged_directory(final) as staging:
        tf.saved_model.save(module, staging, signatures={"serving_default": module.serve})
        bad = op_allowlist.disallowed_ops(staging)
        if bad:
            raise ValueError(f"The serving graph uses ops that stock TF Serving cannot run: {bad}.")
        file_io = op_allowlist.file_io_ops(op_allowlist.signature_ops(staging))
        if file_io:
            raise ValueError(f"The serving signature uses ops that read or write files: {file_io}.")
        check(staging)
        if warmup:
            write_warmup_requests(staging, text_keys, model_name)
    logging.info("Exported %s.", final)
    return final


def write_warmup_requests(saved_model_dir: str, text_keys, model_name: str) -> Optional[str]:
    """Writes `assets.extra/tf_serving_warmup_requests`: PredictionLog records TF Serving replays at load, so the
    first real request does not pay for graph warm-up. Returns the path, or None without tensorflow-serving-api."""
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError:
        logging.warning(
            "tensorflow-serving-api is not installed (pip install 'electra_tf[serving]'); no warmup requests written."
        )
        return None
    directory = os.path.join(saved_model_dir, "assets.extra")
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for batch in (1, len(WARMUP_TEXTS)):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default")
            )
            texts = np.array(WARMUP_TEXTS[:batch], dtype=object)
            for key in text_keys:
                request.inputs[key].CopyFrom(tf.make_tensor_proto(texts, dtype=tf.string))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
