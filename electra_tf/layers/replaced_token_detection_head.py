"""The discriminator head: is each token original or replaced?"""

import keras
from keras import ops

from electra_tf.layers import activations
from electra_tf.layers.electra_embeddings import truncated_normal


@keras.saving.register_keras_serializable(package="electra_tf")
class ReplacedTokenDetectionHead(keras.layers.Layer):
    """dense(hidden, activation) -> dense(1) on every token, as google-research/electra and HF's
    `ElectraDiscriminatorPredictions`.

    The kernels are initialized as google-research/electra's `_get_discriminator_output` does: the hidden dense with a
    truncated normal of stddev `initializer_range`, the output dense(1) with Glorot uniform (TF1's default for a
    `tf.layers.dense` given no initializer). Biases start at zero.

    Args:
        hidden_size: int. Width of the first dense layer (the discriminator's hidden size).
        hidden_act: str. "gelu" (exact, as google-research/electra and HF) or "gelu_tanh". Defaults to "gelu".
        initializer_range: float. Stddev of the hidden dense's truncated-normal initializer. Defaults to 0.02.

    Call arguments:
        hidden: `(batch, seq_len, hidden_size)`.

    Returns:
        float32 logits `(batch, seq_len)`; positive means "replaced".
    """

    def __init__(self, hidden_size, hidden_act="gelu", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            hidden_size,
            activation=activations.get(hidden_act),
            kernel_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense_prediction = keras.layers.Dense(
            1, kernel_initializer="glorot_uniform", dtype=self.dtype_policy, name="dense_prediction"
        )

    def build(self, hidden_shape):
        self.dense.build(hidden_shape)
        self.dense_prediction.build(tuple(hidden_shape[:-1]) + (self.hidden_size,))
        self.built = True

    def call(self, hidden):
        return ops.cast(ops.squeeze(self.dense_prediction(self.dense(hidden)), -1), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_size": self.hidden_size,
                "hidden_act": self.hidden_act,
                "initializer_range": self.initializer_range,
            }
        )
        return config
