"""Packed-bits dropout: the drop rate, an unbiased mean, a matching gradient, and every encoder dropout converted."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.layers.packed_dropout import PackedDropout, packed_dropout
from electra_tf.networks.electra_encoder import ElectraEncoder


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_drop_rate_and_mean(dtype):
    x = tf.ones([3, 100_001], dtype)  # An odd size: the last 32-bit draw is half used.
    y = packed_dropout(x, 0.1, tf.constant([4, 2])).numpy().astype(np.float32)
    assert y.shape == (3, 100_001)
    dropped = (y == 0).mean()
    assert dropped == pytest.approx(6554 / 65536, abs=0.003)
    assert y.mean() == pytest.approx(1.0, abs=0.005)
    kept = np.unique(y[y != 0])
    np.testing.assert_allclose(kept, 65536 / (65536 - 6554), rtol=1e-2)


def test_seeded_and_the_gradient_is_the_mask():
    x = tf.Variable(tf.random.normal([64, 64]))
    with tf.GradientTape() as tape:
        y = packed_dropout(x, 0.3, tf.constant([1, 2]))
        total = tf.reduce_sum(y)
    gradient = tape.gradient(total, x).numpy()
    np.testing.assert_array_equal(y.numpy(), packed_dropout(x, 0.3, tf.constant([1, 2])).numpy())
    assert not np.array_equal(y.numpy(), packed_dropout(x, 0.3, tf.constant([1, 3])).numpy())
    np.testing.assert_allclose(y.numpy(), x.numpy() * gradient, rtol=1e-6)
    assert (gradient == 0).mean() == pytest.approx(0.3, abs=0.03)


def test_every_encoder_dropout_is_packed_and_trains_like_keras():
    keras.utils.set_random_seed(0)
    encoder = ElectraEncoder(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32)
    dropouts = [layer for layer in encoder._flatten_layers() if isinstance(layer, keras.layers.Dropout)]
    assert len(dropouts) == 1 + 3 * 2 and all(type(layer) is PackedDropout for layer in dropouts)
    inputs = {
        "token_ids": tf.ones([2, 8], tf.int32),
        "segment_ids": tf.zeros([2, 8], tf.int32),
        "padding_mask": tf.ones([2, 8], tf.int32),
    }
    first, second = (encoder(inputs, training=True)["sequence_output"].numpy() for _ in range(2))
    assert not np.array_equal(first, second)  # The seed generators advance, as Keras's do.
    inference = encoder(inputs, training=False)["sequence_output"].numpy()
    np.testing.assert_array_equal(inference, encoder(inputs, training=False)["sequence_output"].numpy())
    layer = dropouts[0]
    assert layer.get_config()["rate"] == 0.1 and layer.seed_generator.state.numpy().tolist()[1] >= 2
