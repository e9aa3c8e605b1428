"""The generator's sampler: exact samples of softmax(logits / temperature), keyed noise, disallowed tokens."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.ops import sampling


def _samples(logits, draws, temperature=1.0, disallow_ids=None, step=0):
    """`draws` samples of each row of `logits` (positions, vocab), as (draws, positions)."""
    positions, vocab = logits.shape
    batch = tf.tile(tf.constant(logits, tf.float32)[None], [draws, 1, 1])
    uniforms = sampling.uniform_noise((draws, positions, 2), 7, tf.constant(step), tf.constant(0, tf.int64))
    disallow = None if disallow_ids is None else tf.tile(tf.constant(disallow_ids)[None], [draws, 1])
    return sampling.inverse_cdf_sample(batch, uniforms, temperature, disallow).numpy()


@pytest.mark.parametrize("vocab", [5, 300, 1000])  # Less than one block, several blocks with a ragged last one.
def test_frequencies_match_the_softmax(vocab):
    rng = np.random.default_rng(vocab)
    logits = rng.normal(0, 2, size=(3, vocab)).astype(np.float32)
    logits[1, vocab - 1] = 8.0  # A dominant token at the very end, in the padded last block.
    draws = 20_000
    samples = _samples(logits, draws, temperature=1.5)
    assert samples.min() >= 0 and samples.max() < vocab
    probabilities = tf.nn.softmax(logits / 1.5).numpy()
    for row in range(3):
        frequencies = np.bincount(samples[:, row], minlength=vocab) / draws
        # Total variation within sampling error (its expectation is about sqrt(vocab / (2 pi draws))).
        bound = 0.02 + 1.5 * np.sqrt(vocab / (2 * np.pi * draws))
        assert 0.5 * np.abs(frequencies - probabilities[row]).sum() < bound
        top = probabilities[row].argmax()
        assert frequencies[top] == pytest.approx(probabilities[row, top], abs=0.015)


def test_agrees_with_gumbel_max_in_distribution():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 2, np.float32))
    ours = _samples(logits, 20_000)
    noise = sampling.uniform_noise((20_000, 2, 4), 3, tf.constant(0), tf.constant(0, tf.int64))
    gumbel = sampling.gumbel_sample(tf.tile(tf.constant(logits)[None], [20_000, 1, 1]), noise).numpy()
    for row in range(2):
        np.testing.assert_allclose(
            np.bincount(ours[:, row], minlength=4) / 20_000,
            np.bincount(gumbel[:, row], minlength=4) / 20_000,
            atol=0.02,
        )


def test_disallowed_tokens_are_never_sampled():
    logits = np.zeros((2, 400), np.float32)
    logits[0, 7] = logits[1, 399] = 30.0  # Almost all of the mass is on the disallowed token.
    samples = _samples(logits, 2_000, disallow_ids=np.array([7, 399], np.int32))
    assert (samples[:, 0] != 7).all() and (samples[:, 1] != 399).all()
    assert len(np.unique(samples[:, 0])) > 100  # The rest of the mass is uniform, and it is used.


def test_noise_is_keyed_on_step_and_example():
    logits = np.zeros((4, 1000), np.float32)
    a, b, c = _samples(logits, 8, step=1), _samples(logits, 8, step=1), _samples(logits, 8, step=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # The second half of the batch, drawn as its own replica would draw it, gets the same samples.
    uniforms = sampling.uniform_noise((4, 4, 2), 7, tf.constant(1), tf.constant(4, tf.int64))
    second_half = sampling.inverse_cdf_sample(tf.zeros((4, 4, 1000)), uniforms).numpy()
    np.testing.assert_array_equal(second_half, a[4:])
