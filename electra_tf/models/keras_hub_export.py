"""Writes a pre-trained encoder as a keras-hub preset, so `keras_hub.models.ElectraBackbone.from_preset(dir)` loads it.

Our `ElectraEncoder` and keras-hub's `ElectraBackbone` have the same layers, one for one (see
`networks/electra_encoder.py`), so the export copies weights layer by layer. Two differences are explicit:

- `ElectraBackbone` always has a pooler (`pooled_dense`) that ELECTRA's heads do not use; it keeps its random
  initialization and its output should be ignored.
- `ElectraBackbone` hard-codes the tanh GELU (`gelu_approximate`), while google-research/electra, HF and our default
  (`hidden_act="gelu"`) compute the exact one. Only encoders pre-trained with `hidden_act="gelu_tanh"` export
  exactly. An exact-GELU encoder is refused rather than exported with the other activation: its outputs would
  drift from those it was trained to give. Measured on RTE sentence pairs with randomly initialized encoders, the
  largest drift of `sequence_output` is about 2e-6 for 2 layers 64 wide and 1e-4 for ELECTRA-Small's shape (12
  layers, 256 wide); trained weights, whose pre-activations are wider (the two GELUs differ by up to 5e-4 near
  +-2.7), can drift more. Such an encoder exports to HF transformers exactly instead (`interop.hf.save_hf`).
"""

import keras_hub

from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.tokenization.vocabulary import Vocabulary


def to_keras_hub_backbone(encoder: ElectraEncoder) -> keras_hub.models.ElectraBackbone:
    """Returns a keras-hub `ElectraBackbone` holding `encoder`'s weights."""
    config = encoder.encoder_config
    if config.hidden_act != "gelu_tanh":
        raise ValueError(
            "keras-hub's ElectraBackbone hard-codes the tanh GELU, but this encoder has "
            f"hidden_act={config.hidden_act!r} "
            "(the exact GELU of the original ELECTRA); in ElectraBackbone its outputs would drift from those it was "
            "trained to give. To get an encoder that exports to keras-hub, pre-train with hidden_act='gelu_tanh' "
            "(the `encoder.hidden_act` of the pre-training config); this one exports to HF transformers exactly."
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


def export_keras_hub_preset(
    encoder: ElectraEncoder, vocabulary: Vocabulary, directory: str, lower_case: bool = True
) -> None:
    """Saves the encoder as a keras-hub preset (backbone and tokenizer) in `directory`."""
    backbone = to_keras_hub_backbone(encoder)
    backbone.save_to_preset(directory)
    tokenizer = keras_hub.models.ElectraTokenizer(vocabulary=list(vocabulary.tokens), lowercase=lower_case)
    tokenizer.save_to_preset(directory)
