"""The ELECTRA encoder: shared embeddings, an optional projection, and transformer layers.

Why not keras-hub's `ElectraBackbone` itself: it creates its own embedding layers (the generator and discriminator
must share one set), hard-codes the tanh GELU (google-research/electra and HF compute the exact one), and always adds
a pooler that ELECTRA's heads do not use. The layers and variable shapes are otherwise the same, one for one:

| ours | keras-hub `ElectraBackbone` | HF `ElectraModel` |
|---|---|---|
| `embeddings.token_embedding` | `token_embedding` | `embeddings.word_embeddings` |
| `embeddings.position_embedding` | `position_embedding` | `embeddings.position_embeddings` |
| `embeddings.segment_embedding` | `segment_embedding` | `embeddings.token_type_embeddings` |
| `embeddings.layer_norm` | `embeddings_layer_norm` | `embeddings.LayerNorm` |
| `embeddings_projection` | `embeddings_projection` | `embeddings_project` |
| `transformer_layer_{i}` | `transformer_layer_{i}` | `encoder.layer.{i}` |

The transformer layers are our `TransformerEncoder`: keras-hub's layer of that name (its computation, sublayers,
weights and saved-file paths), built with `PackedDropout` (see `layers/transformer_encoder.py`).
"""

import dataclasses
from typing import Optional

import keras

from electra_tf.layers import activations
from electra_tf.layers.electra_embeddings import ElectraEmbeddings, truncated_normal
from electra_tf.layers.transformer_encoder import TransformerEncoder
from electra_tf.networks.encoder_config import EncoderConfig


@keras.saving.register_keras_serializable(package="electra_tf")
class ElectraEncoder(keras.Model):
    """A bidirectional transformer encoder with ELECTRA's embeddings.

    Args:
        encoder_config: `EncoderConfig` or None (its defaults, ELECTRA-Small's). Defaults to None.
        embeddings: `ElectraEmbeddings` or None. Embeddings to share with another encoder; None creates new ones.
            Not serialized: a model that shares embeddings rebuilds the sharing itself. Defaults to None.
        dtype: str or `keras.DTypePolicy`. Defaults to the global policy.
        **kwargs: `EncoderConfig` fields (`vocab_size=...`, `hidden_size=...`), which replace those of
            `encoder_config`, and `keras.Model` arguments (`name`, `trainable`). Unset fields take `EncoderConfig`'s
            defaults, so `embedding_size` is 128 (ELECTRA-Small's) unless given: pass `embedding_size=None` for
            embeddings as wide as `hidden_size`.

    Inputs: dict of `token_ids`, `segment_ids` (int32 `(batch, seq_len)`) and `padding_mask` (`(batch, seq_len)`,
    true or 1 on real tokens).

    Outputs: dict with `sequence_output`, `(batch, seq_len, hidden_size)`.
    """

    def __init__(
        self,
        encoder_config: Optional[EncoderConfig] = None,
        embeddings: Optional[ElectraEmbeddings] = None,
        dtype=None,
        **kwargs,
    ):
        fields = {field.name for field in dataclasses.fields(EncoderConfig)}
        overrides = {name: kwargs.pop(name) for name in list(kwargs) if name in fields}
        config = dataclasses.replace(encoder_config or EncoderConfig(), **overrides)
        vocab_size, hidden_size = config.vocab_size, config.hidden_size
        embedding_size = config.resolved_embedding_size
        if embeddings is None:
            embeddings = ElectraEmbeddings.from_encoder_config(config, dtype=dtype, name="embeddings")
        elif embeddings.embedding_size != embedding_size or embeddings.vocab_size != vocab_size:
            raise ValueError(
                f"Shared embeddings are {embeddings.vocab_size} x {embeddings.embedding_size}, but this encoder needs "
                f"{vocab_size} x {embedding_size}."
            )
        self.embeddings = embeddings
        self.embeddings_projection = None
        if hidden_size != embedding_size:
            # Glorot uniform, not the truncated normal: google-research/electra's `embeddings_project` is a
            # `tf.layers.dense` given no initializer, which TF1 initializes with Glorot uniform.
            self.embeddings_projection = keras.layers.Dense(
                hidden_size, kernel_initializer="glorot_uniform", dtype=dtype, name="embeddings_projection"
            )
        self.transformer_layers = [
            TransformerEncoder(
                intermediate_dim=config.intermediate_size,
                num_heads=config.num_heads,
                dropout=config.dropout,
                activation=activations.get(config.hidden_act),
                layer_norm_epsilon=config.layer_norm_epsilon,
                kernel_initializer=truncated_normal(config.initializer_range),
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(config.num_layers)
        ]

        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        x = self.embeddings(token_ids, segment_ids)
        if self.embeddings_projection is not None:
            x = self.embeddings_projection(x)
        for layer in self.transformer_layers:
            x = layer(x, padding_mask=padding_mask)
        super().__init__(
            inputs={"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
            outputs={"sequence_output": x},
            dtype=dtype,
            **kwargs,
        )
        self.encoder_config = config

    def get_config(self):
        # The EncoderConfig fields at the top level, as `.keras` files have always held them.
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            **dataclasses.asdict(self.encoder_config),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_encoder_config(cls, config: EncoderConfig, embeddings=None, **kwargs) -> "ElectraEncoder":
        return cls(config, embeddings=embeddings, **kwargs)
