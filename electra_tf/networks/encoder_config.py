"""The architecture of one ELECTRA encoder, with the names of HF's `ElectraConfig`."""

import dataclasses
from typing import Optional

from electra_tf.layers import activations


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Architecture of an ELECTRA encoder (the discriminator; the generator is derived from it).

    Args:
        vocab_size: int. Tokens in the vocabulary. Defaults to 30522.
        hidden_size: int. Width of the transformer layers. Defaults to 256 (ELECTRA-Small).
        num_layers: int. Transformer layers. Defaults to 12.
        num_heads: int. Attention heads; must divide `hidden_size`. Defaults to 4.
        intermediate_size: int. Width of the feed-forward layers. Defaults to 1024.
        embedding_size: int or None. Width of the embeddings; a projection to `hidden_size` follows when they
            differ. None means `hidden_size`. Defaults to 128.
        hidden_act: str. "gelu" (the exact GELU of google-research/electra and HF) or "gelu_tanh" (the tanh
            approximation keras-hub's `ElectraBackbone` hard-codes; only such encoders export to keras-hub). Used in
            the encoder and in both pre-training heads. Defaults to "gelu".
        dropout: float. Dropout on embeddings, attention probabilities and residual branches. Defaults to 0.1.
        max_position_embeddings: int. Longest sequence the position table covers. Defaults to 512.
        type_vocab_size: int. Segment ids. Defaults to 2.
        initializer_range: float. Stddev of the truncated-normal initializers (all kernels and tables except the
            embedding projection's and the discriminator head's output kernel, which are Glorot uniform as in
            google-research/electra). Defaults to 0.02.
        layer_norm_epsilon: float. Defaults to 1e-12.
    """

    vocab_size: int = 30522
    hidden_size: int = 256
    num_layers: int = 12
    num_heads: int = 4
    intermediate_size: int = 1024
    embedding_size: Optional[int] = 128
    hidden_act: str = "gelu"
    dropout: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_epsilon: float = 1e-12

    def __post_init__(self):
        activations.get(self.hidden_act)
        for name in (
            "vocab_size",
            "hidden_size",
            "num_layers",
            "num_heads",
            "intermediate_size",
            "max_position_embeddings",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, but received {name}={getattr(self, name)}.")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size={self.hidden_size} must be divisible by num_heads={self.num_heads}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), but received dropout={self.dropout}.")

    @property
    def resolved_embedding_size(self) -> int:
        return self.embedding_size or self.hidden_size

    def generator(self, fraction: float) -> "EncoderConfig":
        """Returns the generator's architecture, as google-research/electra derives it.

        Same depth and embeddings; hidden size `fraction` of the discriminator's; heads = max(1, hidden // 64);
        feed-forward = 4 x hidden.
        """
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"generator_fraction must be in (0, 1], but received {fraction}.")
        if fraction == 1.0:
            return dataclasses.replace(self, embedding_size=self.resolved_embedding_size)
        hidden = max(1, int(round(self.hidden_size * fraction)))
        return dataclasses.replace(
            self,
            hidden_size=hidden,
            num_heads=max(1, hidden // 64),
            intermediate_size=4 * hidden,
            embedding_size=self.resolved_embedding_size,
        )
