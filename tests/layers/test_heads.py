"""The generator's MLM head computes logits through the tied token table; the discriminator head scores tokens."""

import numpy as np

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
