"""ELECTRA's transformer layer (post-layer-norm, as BERT's), built with `PackedDropout` in every dropout slot.

`TransformerEncoder` computes what keras-hub's `TransformerEncoder(normalize_first=False)` computes, with the same
sublayers, names, attribute names and weight order, so checkpoints, keras-hub presets and the HF and
google-research/electra name mappings are unchanged. It has keras-hub's class name too: `.keras` files name a
model's layers by their class, so encoders saved before this layer existed still load.
`tests/layers/test_transformer_encoder.py` holds it to keras-hub's layer, bit for bit.

It is ours because keras-hub's layer creates its `Dropout`s inside `build()` and Keras's `MultiHeadAttention` creates
its own in `_build_attention`, neither with a way to choose the class. `SelfAttention` uses the two hooks Keras's
`MultiHeadAttention` documents for subclasses to customize attention (`_build_attention` and `_compute_attention`).
Everything is built in keras-hub's and Keras's order, so seeded initial weights and dropout seeds are the same too.
"""

import math

import keras
from keras import ops

from electra_tf.layers.packed_dropout import PackedDropout

# Scores `(batch, heads, query, key)` from query and key `(batch, seq, heads, head_dim)`, and back.
_SCORES = "aecd,abcd->acbe"
_COMBINE = "acbe,aecd->abcd"


def _clone(initializer):
    """A fresh copy of `initializer`, so that two layers built from one do not draw the same values."""
    if isinstance(initializer, keras.initializers.Initializer):
        return initializer.__class__.from_config(initializer.get_config())
    return initializer


@keras.saving.register_keras_serializable(package="electra_tf")
class SelfAttention(keras.layers.MultiHeadAttention):
    """`keras.layers.MultiHeadAttention` for self-attention, with `PackedDropout` on the attention probabilities.

    The arguments are `MultiHeadAttention`'s. The attention is computed as Keras computes it (its softmax layer,
    masking and einsum equations for one attention axis), so outputs with dropout off are identical.
    """

    def _build_attention(self, rank):
        if rank != 4:
            raise ValueError(f"SelfAttention takes (batch, seq_len, hidden) inputs; got projections of rank {rank}.")
        # Keras's own softmax (a tuple axis, as MultiHeadAttention passes it) and, in place of its Dropout, ours.
        self._softmax = keras.layers.Softmax(axis=(3,), dtype=self.dtype_policy)
        self._dropout_layer = PackedDropout(rate=self.dropout, dtype=self.dtype_policy, seed=self.seed)

    def _compute_attention(self, query, key, value, attention_mask=None, training=None, return_attention_scores=False):
        # `call` has already merged every mask, a causal one included, into `attention_mask`: Keras passes
        # `use_causal_mask` only to its own `_compute_attention`.
        query = ops.multiply(query, ops.cast(1.0 / math.sqrt(float(self.key_dim)), query.dtype))
        scores = ops.einsum(_SCORES, key, query)
        if attention_mask is not None:
            while len(attention_mask.shape) < 4:
                attention_mask = ops.expand_dims(attention_mask, axis=-3)  # One mask for every head.
        probabilities = self._softmax(scores, mask=attention_mask)
        dropped = self._dropout_layer(probabilities, training=training) if self.dropout > 0 else probabilities
        return ops.einsum(_COMBINE, dropped, value), probabilities


@keras.saving.register_keras_serializable(package="electra_tf")
class TransformerEncoder(keras.layers.Layer):
    """Self-attention then a feed-forward block, each with dropout, a residual and a layer norm after it.

    Args:
        intermediate_dim: int. The feed-forward block's inner width.
        num_heads: int. Attention heads; the hidden size must be a multiple.
        dropout: float. Dropout on the attention probabilities and on each block's output. Defaults to 0.
        activation: str or callable. The feed-forward activation. Defaults to "relu", as keras-hub's.
        layer_norm_epsilon: float. Defaults to 1e-5, as keras-hub's.
        kernel_initializer: initializer for every kernel. Defaults to "glorot_uniform".
        bias_initializer: initializer for every bias. Defaults to "zeros".
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments: `inputs` `(batch, seq_len, hidden)`; `padding_mask` `(batch, seq_len)`, true or 1 on real
    tokens, or None; `training`.
    """

    def __init__(
        self,
        intermediate_dim,
        num_heads,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(f"The hidden size {hidden_dim} is not a multiple of num_heads={self.num_heads}.")
        intermediate_shape = tuple(inputs_shape[:-1]) + (self.intermediate_dim,)
        self._self_attention_layer = SelfAttention(
            num_heads=self.num_heads,
            key_dim=hidden_dim // self.num_heads,
            dropout=self.dropout,
            kernel_initializer=_clone(self.kernel_initializer),
            bias_initializer=_clone(self.bias_initializer),
            dtype=self.dtype_policy,
            name="self_attention_layer",
        )
        self._self_attention_layer.build(query_shape=inputs_shape, value_shape=inputs_shape)
        self._self_attention_layer_norm = self._layer_norm("self_attention_layer_norm", inputs_shape)
        self._self_attention_dropout = PackedDropout(
            self.dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self._feedforward_layer_norm = self._layer_norm("feedforward_layer_norm", inputs_shape)
        self._feedforward_intermediate_dense = self._dense(
            self.intermediate_dim, "feedforward_intermediate_dense", inputs_shape, activation=self.activation
        )
        self._feedforward_output_dense = self._dense(hidden_dim, "feedforward_output_dense", intermediate_shape)
        self._feedforward_dropout = PackedDropout(self.dropout, dtype=self.dtype_policy, name="feedforward_dropout")
        self.built = True

    def _layer_norm(self, name, inputs_shape):
        layer = keras.layers.LayerNormalization(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name)
        layer.build(inputs_shape)
        return layer

    def _dense(self, units, name, inputs_shape, activation=None):
        layer = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=_clone(self.kernel_initializer),
            bias_initializer=_clone(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(inputs_shape)
        return layer

    def call(self, inputs, padding_mask=None, training=None):
        mask = None if padding_mask is None else ops.cast(ops.expand_dims(padding_mask, axis=1), "int32")
        x = self._self_attention_layer(query=inputs, value=inputs, attention_mask=mask, training=training)
        x = self._self_attention_layer_norm(self._self_attention_dropout(x, training=training) + inputs)
        y = self._feedforward_output_dense(self._feedforward_intermediate_dense(x))
        return self._feedforward_layer_norm(self._feedforward_dropout(y, training=training) + x)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {
            **super().get_config(),
            "intermediate_dim": self.intermediate_dim,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "activation": keras.activations.serialize(self.activation),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
