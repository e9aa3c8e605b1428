"""Token, position and segment embeddings plus LayerNorm: the part of ELECTRA the generator and discriminator share."""

import keras
from keras.layers import ReversibleEmbedding
from keras_hub.layers import PositionEmbedding

from electra_tf.layers.packed_dropout import PackedDropout


def truncated_normal(stddev: float) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=stddev)


@keras.saving.register_keras_serializable(package="electra_tf")
class ElectraEmbeddings(keras.layers.Layer):
    """Sums token, position and segment embeddings, then LayerNorm and dropout.

    The generator and discriminator are handed the *same* instance, so the three tables and the LayerNorm are one set
    of variables. `token_embedding` is a keras `ReversibleEmbedding`, so the generator's MLM head computes its logits
    through the tied table.

    Args:
        vocab_size: int. Rows of the token table.
        embedding_size: int. Width of every table.
        max_position_embeddings: int. Rows of the position table. Defaults to 512.
        type_vocab_size: int. Rows of the segment table. Defaults to 2.
        dropout: float. Dropout after the LayerNorm. Defaults to 0.1.
        initializer_range: float. Stddev of the truncated-normal initializers. Defaults to 0.02.
        layer_norm_epsilon: float. Defaults to 1e-12.

    Call arguments:
        token_ids: int `(batch, seq_len)`.
        segment_ids: int `(batch, seq_len)`.

    Returns:
        `(batch, seq_len, embedding_size)`.
    """

    def __init__(
        self,
        vocab_size,
        embedding_size,
        max_position_embeddings=512,
        type_vocab_size=2,
        dropout=0.1,
        initializer_range=0.02,
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.dropout = dropout
        self.initializer_range = initializer_range
        self.layer_norm_epsilon = layer_norm_epsilon
        init = truncated_normal(initializer_range)
        self.token_embedding = ReversibleEmbedding(
            vocab_size, embedding_size, embeddings_initializer=init, dtype=self.dtype_policy, name="token_embedding"
        )
        self.position_embedding = PositionEmbedding(
            sequence_length=max_position_embeddings,
            initializer=init,
            dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.segment_embedding = keras.layers.Embedding(
            type_vocab_size,
            embedding_size,
            embeddings_initializer=init,
            dtype=self.dtype_policy,
            name="segment_embedding",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="embeddings_layer_norm"
        )
        self.dropout_layer = PackedDropout(dropout, dtype=self.dtype_policy, name="embeddings_dropout")

    @classmethod
    def from_encoder_config(cls, config, **kwargs) -> "ElectraEmbeddings":
        """Builds the embeddings an `EncoderConfig` describes."""
        return cls(
            config.vocab_size,
            config.resolved_embedding_size,
            max_position_embeddings=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size,
            dropout=config.dropout,
            initializer_range=config.initializer_range,
            layer_norm_epsilon=config.layer_norm_epsilon,
            **kwargs,
        )

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding.build(token_ids_shape)
        embedded_shape = tuple(token_ids_shape) + (self.embedding_size,)
        self.position_embedding.build(embedded_shape)
        self.segment_embedding.build(token_ids_shape)
        self.layer_norm.build(embedded_shape)
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        tokens = self.token_embedding(token_ids)
        x = tokens + self.position_embedding(tokens) + self.segment_embedding(segment_ids)
        return self.dropout_layer(self.layer_norm(x), training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.embedding_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "embedding_size": self.embedding_size,
                "max_position_embeddings": self.max_position_embeddings,
                "type_vocab_size": self.type_vocab_size,
                "dropout": self.dropout,
                "initializer_range": self.initializer_range,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
