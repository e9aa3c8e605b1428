"""Loads an exported SavedModel and runs its serving signature, importing only tensorflow and tensorflow_text, as
a serving process would. Reads {input: [strings]} as JSON on stdin, writes the outputs as JSON on stdout."""

import json
import sys

import tensorflow as tf
import tensorflow_text  # noqa: F401  Registers the tokenizer ops.


def _decoded(value):
    """Nested lists with bytes decoded (1-D and 2-D string outputs alike)."""
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value.decode() if isinstance(value, bytes) else value


if __name__ == "__main__":
    signature = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    inputs = json.load(sys.stdin)
    outputs = signature(**{key: tf.constant(values, dtype=tf.string) for key, values in inputs.items()})
    result = {key: _decoded(value.numpy().tolist()) for key, value in outputs.items()}
    foreign = sorted(name for name in sys.modules if name.split(".")[0] in ("electra_tf", "keras_hub"))
    print(json.dumps({"outputs": result, "foreign_modules": foreign}))
