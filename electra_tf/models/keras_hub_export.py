"""Writes a pre-trained encoder as a keras-hub preset, so `keras_hub.models.ElectraBackbone.from_preset(dir)` loads it.

Our `ElectraEncoder` and keras-hub's `ElectraBackbone` have the same layers, one for one (see
`networks/electra_encoder.py`), so the export copies weights layer by layer. Two differences are explicit:

- `ElectraBackbone` always has a pooler (`pooled_dense`) that ELECTRA's heads do not use; it keeps its random
  initialization and its output should be ignored.
- `ElectraBackbone` hard-codes the tanh GELU, so only encoders with `hidden_act="gelu_tanh"` export exactly; an exact-
  GELU encoder is refused rather than silently changed.
"""

import keras_hub

from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.tokenization.vocabulary import Vocabulary


def to_keras_hub_backbone(encoder: ElectraEncoder) -> keras_hub.models.ElectraBackbone:
    """Returns a keras-hub `ElectraBackbone` holding `encoder`'s weights."""
    config = encoder.encoder_config
    if config.hidden_act != "gelu_tanh":
        raise ValueError(
            f"keras-hub's ElectraBackbone uses the tanh GELU, but this encoder has hidden_act={config.hidden_act!r}; "
            "its outputs would change. Export encoders trained with hidden_act='gelu_tanh'."
        )
    backbone = keras_hub.models.ElectraBackbone(
        vocab_size=config.vocab_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_size,
        embedding_dim=config.resolved_embedding_size,
        intermediate_dim=config.intermediate_size,
        dropout=config.dropout,
        max_sequence_length=config.max_position_embeddings,
        num_segments=config.type_vocab_size,
    )
    pairs = [
        (encoder.embeddings.token_embedding, backbone.get_layer("token_embedding")),
        (encoder.embeddings.position_embedding, backbone.get_layer("position_embedding")),
        (encoder.embeddings.segment_embedding, backbone.get_layer("segment_embedding")),
        (encoder.embeddings.layer_norm, backbone.get_layer("embeddings_layer_norm")),
    ]
    if encoder.embeddings_projection is not None:
        pairs.append((encoder.embeddings_projection, backbone.get_layer("embeddings_projection")))
    pairs += [(ours, backbone.get_layer(ours.name)) for ours in encoder.transformer_layers]
    for ours, theirs in pairs:
        theirs.set_weights(ours.get_weights())
    return backbone


def export_keras_hub_preset(encoder: ElectraEncoder, vocabulary: Vocabulary, directory: str, lower_case: bool = True) -> None:
    """Saves the encoder as a keras-hub preset (backbone and tokenizer) in `directory`."""
    backbone = to_keras_hub_backbone(encoder)
    backbone.save_to_preset(directory)
    tokenizer = keras_hub.models.ElectraTokenizer(vocabulary=list(vocabulary.tokens), lowercase=lower_case)
    tokenizer.save_to_preset(directory)
