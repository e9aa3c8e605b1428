"""The encoder network: structure, activations, initializers, serialization and padding."""

import math

import keras
import numpy as np
import pytest

from electra_tf import config_io, io_utils
from electra_tf.networks.electra_encoder import ElectraEncoder
from electra_tf.networks.encoder_config import EncoderConfig
from tests.conftest import repo_root

SMALL = dict(
    vocab_size=100, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, embedding_size=16, dropout=0.0
)


def inputs(batch=2, length=10, pad=3, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[:, length - pad :] = 0
    return {
        "token_ids": rng.integers(5, 100, (batch, length)).astype("int32") * mask,
        "segment_ids": np.zeros((batch, length), "int32"),
        "padding_mask": mask,
    }


def test_output_shape_and_projection_only_when_sizes_differ():
    encoder = ElectraEncoder(**SMALL)
    assert encoder(inputs())["sequence_output"].shape == (2, 10, 32)
    assert encoder.embeddings_projection is not None
    same = ElectraEncoder(**dict(SMALL, embedding_size=None))
    assert same.embeddings_projection is None
    assert same.embeddings.embedding_size == 32


def test_variables_map_one_to_one_to_keras_hub_names():
    paths = {v.path for v in ElectraEncoder(**SMALL).weights}
    for expected in (
        "embeddings/token_embedding/embeddings",
        "embeddings/position_embedding/embeddings",
        "embeddings/segment_embedding/embeddings",
        "embeddings/embeddings_layer_norm/gamma",
        "embeddings_projection/kernel",
        "transformer_layer_1/self_attention_layer/query/kernel",
        "transformer_layer_1/feedforward_output_dense/kernel",
    ):
        assert expected in paths
    assert not any("pooled" in p for p in paths), "ELECTRA needs no pooler"


def test_exact_and_tanh_gelu_differ_slightly():
    tanh = ElectraEncoder(**dict(SMALL, hidden_act="gelu_tanh"))
    exact = ElectraEncoder(**dict(SMALL, hidden_act="gelu"))
    exact.set_weights(tanh.get_weights())
    a = tanh(inputs())["sequence_output"].numpy()
    b = exact(inputs())["sequence_output"].numpy()
    assert 0 < np.abs(a - b).max() < 1e-2
    with pytest.raises(ValueError, match="hidden_act"):
        EncoderConfig(hidden_act="relu")


def test_exact_gelu_is_the_default_as_in_google_research():
    # google-research/electra's `modeling.gelu` is x * Phi(x) with the erf: at x = 1 it gives 0.841345, where the tanh
    # form gives 0.841192.
    assert EncoderConfig().hidden_act == "gelu"
    encoder = ElectraEncoder(**SMALL)
    assert encoder.encoder_config.hidden_act == "gelu"
    activation = encoder.transformer_layers[0].activation
    assert float(activation(keras.ops.convert_to_tensor(1.0))) == pytest.approx(
        0.5 * (1 + math.erf(1 / math.sqrt(2))), abs=1e-7
    )
    configs = sorted((repo_root() / "configs" / "pretraining").glob("*.json"))
    configs += sorted((repo_root() / "configs" / "experiments" / "diagnostics").glob("*.json"))
    assert len(configs) >= 8
    for path in configs:
        encoder_config = config_io.from_dict(EncoderConfig, io_utils.read_json(str(path))["encoder"], str(path))
        assert encoder_config.hidden_act == "gelu", path


def test_embedding_projection_is_glorot_uniform_and_other_kernels_truncated_normal():
    # google-research/electra's `embeddings_project` is a tf.layers.dense with no initializer: TF1's Glorot uniform,
    # U(-l, l) with l = sqrt(6 / (fan_in + fan_out)). The transformer's kernels are truncated normal(0.02), whose
    # stddev is 0.02 * 0.8796 after the cut at two stddevs.
    keras.utils.set_random_seed(0)
    encoder = ElectraEncoder(
        vocab_size=100, hidden_size=256, num_layers=1, num_heads=4, intermediate_size=1024, embedding_size=128
    )
    assert isinstance(encoder.embeddings_projection.kernel_initializer, keras.initializers.GlorotUniform)
    kernel = encoder.embeddings_projection.kernel.numpy()
    limit = math.sqrt(6 / (128 + 256))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    assert kernel.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)  # 0.072, not 0.0176.
    assert not encoder.embeddings_projection.bias.numpy().any()
    ffn = next(
        v for v in encoder.weights if v.path == "transformer_layer_0/feedforward_intermediate_dense/kernel"
    ).numpy()
    assert ffn.std() == pytest.approx(0.02 * 0.8796, rel=0.02) and np.abs(ffn).max() <= 0.04


def test_from_config_and_keras_file_round_trip(tmp_path):
    encoder = ElectraEncoder(**SMALL)
    clone = ElectraEncoder.from_config(encoder.get_config())
    assert clone.encoder_config == encoder.encoder_config
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(inputs())["sequence_output"], encoder(inputs())["sequence_output"], atol=1e-6)


def test_padding_content_does_not_change_real_outputs():
    encoder = ElectraEncoder(**SMALL)
    a = inputs()
    b = {k: v.copy() for k, v in a.items()}
    b["token_ids"][:, -3:] = 42
    out_a = encoder(a)["sequence_output"].numpy()[:, :-3]
    out_b = encoder(b)["sequence_output"].numpy()[:, :-3]
    np.testing.assert_allclose(out_a, out_b, atol=1e-5)


def test_generator_is_derived_as_in_the_paper():
    small = EncoderConfig()  # ELECTRA-Small: hidden 256, embeddings 128.
    generator = small.generator(0.25)
    assert (generator.hidden_size, generator.num_heads, generator.intermediate_size) == (64, 1, 256)
    assert generator.num_layers == 12 and generator.resolved_embedding_size == 128
    base = EncoderConfig(hidden_size=768, num_heads=12, intermediate_size=3072, embedding_size=768)
    assert base.generator(1 / 3).hidden_size == 256 and base.generator(1 / 3).num_heads == 4
    assert small.generator(1.0) == small
    with pytest.raises(ValueError, match="generator_fraction"):
        small.generator(0.0)
