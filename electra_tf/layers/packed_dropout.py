"""Dropout that draws 16 random bits per element, where Keras's TensorFlow dropout draws a 32-bit float.

On a CPU the Philox generator is most of dropout's cost, and ELECTRA drops out about 60M activations per
ELECTRA-Small step at batch 32 (the attention probabilities are half of them). `PackedDropout` splits each 32-bit
draw into two 16-bit halves and keeps an element when its half is at least round(rate * 65536). For rate 0.1 the drop
probability is 6554/65536 = 0.100006. Kept elements are scaled by 65536 / (65536 - threshold), so the expectation is
exactly the input's. It takes about half of Keras's dropout time forward and backward (`docs/performance.md`).

`PackedDropout` is a `keras.layers.Dropout` with only `call` changed: the same arguments, config and seed generator.
The encoder builds it in every dropout slot (`transformer_encoder.py`). Other backends, and dropout with a
`noise_shape`, keep Keras's own dropout.
"""

import keras
import tensorflow as tf

_HALF_RANGE = 1 << 16


def packed_dropout(inputs: tf.Tensor, rate: float, seed: tf.Tensor) -> tf.Tensor:
    """`inputs` with elements zeroed with probability round(rate * 65536) / 65536, the rest scaled to keep the mean.

    Args:
        inputs: float tensor of any shape.
        rate: float in [0, 1).
        seed: int `(2,)` tensor. The stateless seed.
    """
    threshold = round(rate * _HALF_RANGE)
    if threshold == 0:
        return inputs
    size = tf.size(inputs)
    bits = tf.random.stateless_uniform([(size + 1) // 2], seed=seed, minval=None, maxval=None, dtype=tf.uint32)
    halves = tf.reshape(tf.bitcast(bits, tf.uint16), [-1])[:size]
    keep = tf.reshape(halves >= threshold, tf.shape(inputs))
    return inputs * (tf.cast(keep, inputs.dtype) * tf.cast(_HALF_RANGE / (_HALF_RANGE - threshold), inputs.dtype))


@keras.saving.register_keras_serializable(package="electra_tf")
class PackedDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with `packed_dropout` on the TensorFlow backend; the same arguments and config."""

    def call(self, inputs, training=False):
        if not training or self.rate <= 0 or self.noise_shape is not None or keras.backend.backend() != "tensorflow":
            return super().call(inputs, training=training)
        return packed_dropout(inputs, self.rate, self.seed_generator.next())
