"""The on-disk format of pre-training examples: `tf.train.Example`s with fixed-length int64 features.

It is the format of google-research/electra's `build_pretraining_dataset.py`, so data built by either tool reads in
the other. Serialization runs in TensorFlow's C++ proto encoder (`tf.io.encode_proto`), a whole batch per call:
building `tf.train.Example` objects in Python instead would dominate the build time.
"""

import numpy as np
import tensorflow as tf

FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids")


def feature_spec(max_seq_length: int) -> dict[str, tf.io.FixedLenFeature]:
    """Returns the `tf.io.parse_example` spec of the examples."""
    return {name: tf.io.FixedLenFeature([max_seq_length], tf.int64) for name in FEATURE_NAMES}


def _encode_message(values: list[tf.Tensor], field_names: list[str], message_type: str) -> tf.Tensor:
    """Encodes one `message_type` per row; each field holds one value (a scalar or a nested message)."""
    num_rows = tf.shape(values[0])[0]
    sizes = tf.ones([num_rows, len(values)], tf.int32)
    return tf.io.encode_proto(sizes, [v[:, None] for v in values], field_names, message_type)


@tf.function(
    input_signature=[tf.TensorSpec([None, None], tf.int64, name=name) for name in FEATURE_NAMES],
    reduce_retracing=True,
)
def _serialize(input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor) -> tf.Tensor:
    num_rows, length = tf.shape(input_ids)[0], tf.shape(input_ids)[1]
    entries = []
    for name, values in zip(FEATURE_NAMES, (input_ids, input_mask, segment_ids)):
        int64_list = tf.io.encode_proto(tf.fill([num_rows, 1], length), [values], ["value"], "tensorflow.Int64List")
        feature = _encode_message([int64_list], ["int64_list"], "tensorflow.Feature")
        entries.append(
            _encode_message([tf.fill([num_rows], name), feature], ["key", "value"], "tensorflow.Features.FeatureEntry")
        )
    features = tf.io.encode_proto(
        tf.fill([num_rows, 1], len(entries)), [tf.stack(entries, axis=1)], ["feature"], "tensorflow.Features"
    )
    return _encode_message([features], ["features"], "tensorflow.Example")


def serialize_examples(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Serializes a batch of examples.

    Args:
        arrays: dict with int64 arrays `(num_examples, max_seq_length)` for each of `FEATURE_NAMES`.

    Returns:
        An object array `(num_examples,)` of serialized `tf.train.Example` bytes.
    """
    if len(arrays["input_ids"]) == 0:
        return np.zeros([0], dtype=object)
    return _serialize(*(tf.constant(arrays[name], tf.int64) for name in FEATURE_NAMES)).numpy()
