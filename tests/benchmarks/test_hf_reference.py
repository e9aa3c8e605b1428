"""The HF reference of the pre-training benchmark is built with the activation our config names."""

import pytest

from electra_tf.benchmarks.hf_reference import build_hf_electra  # Imports torch only when called.

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.interop

ENCODER = dict(
    vocab_size=100,
    hidden_size=64,
    num_layers=1,
    num_heads=2,
    intermediate_size=128,
    embedding_size=32,
    max_position_embeddings=64,
    type_vocab_size=2,
    dropout=0.0,
    layer_norm_epsilon=1e-12,
)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (None, "gelu"),  # A config without hidden_act means EncoderConfig's default: the exact GELU.
        ("gelu", "gelu"),
        ("gelu_tanh", "gelu_new"),
    ],
)
def test_hf_models_use_the_configs_gelu(ours, theirs):
    encoder = ENCODER if ours is None else dict(ENCODER, hidden_act=ours)
    generator, discriminator, _ = build_hf_electra(encoder, 0.5)
    assert discriminator.config.hidden_act == theirs and generator.config.hidden_act == theirs
