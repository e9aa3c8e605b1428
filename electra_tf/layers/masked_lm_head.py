"""The masked-LM head of the generator (and of the MLM baselines): logits through the tied token embedding."""

import keras
from keras import ops

from electra_tf.layers import activations
from electra_tf.layers.electra_embeddings import truncated_normal


@keras.saving.register_keras_serializable(package="electra_tf")
class MaskedLMHead(keras.layers.Layer):
    """dense(embedding_size) + activation + LayerNorm, then logits = x @ token_table^T + bias, in float32.

    It is applied to the hidden states gathered at the masked positions only, never to the full sequence (except
    for the all-tokens MLM ablation, which predicts every token by definition).

    Args:
        token_embedding: `keras.layers.ReversibleEmbedding`. The tied token table. Not serialized: the model that
            owns both rebuilds the tie.
        hidden_act: str. "gelu" (exact, as google-research/electra and HF) or "gelu_tanh". Defaults to "gelu".
        initializer_range: float. Stddev of the dense layer's truncated-normal initializer, as in
            google-research/electra's `_get_masked_lm_output`. Defaults to 0.02.
        layer_norm_epsilon: float. Defaults to 1e-12.

    Call arguments:
        hidden: `(batch, num_positions, hidden_size)`.

    Returns:
        float32 logits `(batch, num_positions, vocab_size)`.
    """

    def __init__(self, token_embedding, hidden_act="gelu", initializer_range=0.02, layer_norm_epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        self.token_embedding = token_embedding
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dense = keras.layers.Dense(
            token_embedding.output_dim,
            activation=activations.get(hidden_act),
            kernel_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
        )

    def build(self, hidden_shape):
        self.dense.build(hidden_shape)
        self.layer_norm.build(tuple(hidden_shape[:-1]) + (self.token_embedding.output_dim,))
        self.output_bias = self.add_weight(
            shape=(self.token_embedding.input_dim,), initializer="zeros", name="output_bias"
        )
        self.built = True

    def call(self, hidden):
        x = self.layer_norm(self.dense(hidden))
        logits = self.token_embedding(x, reverse=True)
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_act": self.hidden_act,
                "initializer_range": self.initializer_range,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
