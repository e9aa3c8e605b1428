"""The discriminator head: is each token original or replaced?"""

import keras
from keras import ops

from electra_tf.layers import activations
from electra_tf.layers.electra_embeddings import truncated_normal


@keras.saving.register_keras_serializable(package="electra_tf")
class ReplacedTokenDetectionHead(keras.layers.Layer):
    """dense(hidden, activation) -> dense(1) on every token, as google-research/electra and HF's
    `ElectraDiscriminatorPredictions`.

    Args:
        hidden_size: int. Width of the first dense layer (the discriminator's hidden size).
        hidden_act: str. "gelu_tanh" or "gelu". Defaults to "gelu_tanh".
        initializer_range: float. Defaults to 0.02.

    Call arguments:
        hidden: `(batch, seq_len, hidden_size)`.

    Returns:
        float32 logits `(batch, seq_len)`; positive means "replaced".
    """

    def __init__(self, hidden_size, hidden_act="gelu_tanh", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        init = truncated_normal(initializer_range)
        self.dense = keras.layers.Dense(
            hidden_size, activation=activations.get(hidden_act), kernel_initializer=init, dtype=self.dtype_policy, name="dense"
        )
        self.dense_prediction = keras.layers.Dense(1, kernel_initializer=init, dtype=self.dtype_policy, name="dense_prediction")

    def build(self, hidden_shape):
        self.dense.build(hidden_shape)
        self.dense_prediction.build(tuple(hidden_shape[:-1]) + (self.hidden_size,))
        self.built = True

    def call(self, hidden):
        return ops.cast(ops.squeeze(self.dense_prediction(self.dense(hidden)), -1), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {"hidden_size": self.hidden_size, "hidden_act": self.hidden_act, "initializer_range": self.initializer_range}
        )
        return config
