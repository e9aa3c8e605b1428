"""The generator's MLM head computes logits through the tied token table; the discriminator head scores tokens.
Both compute the exact GELU and are initialized as google-research/electra initializes them."""

import math

import keras
import numpy as np
import pytest

from electra_tf.layers.electra_embeddings import ElectraEmbeddings
from electra_tf.layers.masked_lm_head import MaskedLMHead
from electra_tf.layers.replaced_token_detection_head import ReplacedTokenDetectionHead


def test_mlm_logits_use_the_tied_table_plus_bias():
    embeddings = ElectraEmbeddings(50, 8)
    embeddings.build((None, None))
    head = MaskedLMHead(embeddings.token_embedding)
    hidden = np.random.default_rng(0).normal(size=(2, 3, 16)).astype("float32")
    head.build(hidden.shape)
    head.output_bias.assign(np.arange(50, dtype="float32"))
    logits = head(hidden).numpy()
    transformed = head.layer_norm(head.dense(hidden)).numpy()
    table = embeddings.token_embedding.embeddings.numpy()
    np.testing.assert_allclose(logits, transformed @ table.T + np.arange(50), rtol=1e-5, atol=1e-5)
    assert logits.dtype == np.float32
    # The head reuses the table object itself: one variable, not a copy.
    assert any(w is embeddings.token_embedding.embeddings for w in head.weights)


def test_detection_head_scores_every_token():
    head = ReplacedTokenDetectionHead(16)
    out = head(np.zeros((2, 7, 16), "float32"))
    assert out.shape == (2, 7)


# A truncated normal cut at two stddevs keeps 0.8796 of its stddev.
TRUNCATED_STD = 0.02 * 0.8796


def test_detection_head_output_kernel_is_glorot_uniform_and_hidden_kernel_truncated_normal():
    # google-research/electra's `_get_discriminator_output`: dense(hidden) with truncated normal(initializer_range),
    # then dense(1) with no initializer, which TF1 makes Glorot uniform: U(-l, l), l = sqrt(6 / (hidden + 1)).
    keras.utils.set_random_seed(0)
    head = ReplacedTokenDetectionHead(1024)
    head.build((None, None, 1024))
    assert isinstance(head.dense_prediction.kernel_initializer, keras.initializers.GlorotUniform)
    output_kernel = head.dense_prediction.kernel.numpy()
    limit = math.sqrt(6 / (1024 + 1))
    assert np.abs(output_kernel).max() <= limit and output_kernel.std() == pytest.approx(limit / math.sqrt(3), rel=0.06)
    assert isinstance(head.dense.kernel_initializer, keras.initializers.TruncatedNormal)
    assert head.dense.kernel.numpy().std() == pytest.approx(TRUNCATED_STD, rel=0.02)


def test_mlm_head_dense_is_truncated_normal():
    # google-research/electra's `_get_masked_lm_output` gives its dense an explicit truncated normal(initializer_range).
    keras.utils.set_random_seed(0)
    embeddings = ElectraEmbeddings(50, 256)
    embeddings.build((None, None))
    head = MaskedLMHead(embeddings.token_embedding)
    head.build((None, None, 1024))
    kernel = head.dense.kernel.numpy()
    assert kernel.std() == pytest.approx(TRUNCATED_STD, rel=0.02) and np.abs(kernel).max() <= 0.04
    assert not head.output_bias.numpy().any()


def test_heads_compute_the_exact_gelu_by_default():
    # Exact GELU at 1.0 is 0.841345; the tanh form gives 0.841192.
    exact = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    embeddings = ElectraEmbeddings(50, 8)
    embeddings.build((None, None))
    for head in (ReplacedTokenDetectionHead(8), MaskedLMHead(embeddings.token_embedding)):
        assert head.hidden_act == "gelu"
        assert float(head.dense.activation(keras.ops.convert_to_tensor(1.0))) == pytest.approx(exact, abs=1e-7)
