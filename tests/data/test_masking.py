"""ELECTRA's masking rule, checked by statistics over many real batches."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.data.masking import MaskingConfig, mask_tokens
from electra_tf.data.pretraining_dataset import pretraining_dataset


@pytest.fixture(scope="module")
def batches(pretraining_data):
    dataset = pretraining_dataset(pretraining_data, batch_size=64, seed=3, num_epochs=1)
    return [{k: v.numpy() for k, v in b.items()} for b in dataset.take(40)]


def test_about_15_percent_of_real_tokens_are_masked_with_exact_k(batches):
    masked = real = 0
    for b in batches:
        num_real = b["padding_mask"].sum(axis=1)
        expected_k = np.clip(np.round(0.15 * num_real), 1, 19)
        np.testing.assert_array_equal(b["mask_weights"].sum(axis=1), expected_k)
        masked += b["mask_weights"].sum()
        real += num_real.sum()
    assert masked / real == pytest.approx(0.15, abs=0.005)


def test_positions_are_distinct_sorted_and_never_special(batches, vocabulary):
    specials = [vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id, vocabulary.mask_id]
    for b in batches:
        for positions, weights, original in zip(b["mask_positions"], b["mask_weights"], b["original_token_ids"]):
            used = positions[weights > 0]
            assert len(np.unique(used)) == len(used)
            assert (np.diff(used) > 0).all()
            assert not np.isin(original[used], specials).any()
            assert (positions[weights == 0] == 0).all()


def test_distinct_positions_mask_more_tokens_than_google_researchs_draws_with_replacement(batches, vocabulary):
    """A documented difference (docs/fidelity.md): google-research/electra's `mask()` draws its k positions with
    replacement (`tf.random.categorical`), so repeats leave fewer distinct masked tokens; ours are k distinct ones.
    On the same real batches, simulate its draws over the same candidates and compare the shares of real tokens."""
    rng = np.random.default_rng(0)
    specials = [vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id, vocabulary.mask_id]
    ours = theirs = real = 0
    for b in batches:
        for original, padding, positions, weights in zip(
            b["original_token_ids"], b["padding_mask"], b["mask_positions"], b["mask_weights"]
        ):
            candidates = np.flatnonzero(padding.astype(bool) & ~np.isin(original, specials))
            k = int(weights.sum())
            ours += len(np.unique(positions[weights > 0]))
            theirs += len(np.unique(rng.choice(candidates, size=k, replace=True)))
            real += int(padding.sum())
    # About 14.8% against 13.8% of real tokens for full 128-token examples (k = 19 of 125-126 candidates).
    assert ours / real == pytest.approx(0.15, abs=0.005)
    assert 0.005 < ours / real - theirs / real < 0.015, (ours / real, theirs / real)


def test_85_percent_become_mask_and_the_rest_keep_the_token(batches, vocabulary):
    to_mask = kept = other = 0
    for b in batches:
        chosen = np.take_along_axis(b["token_ids"], b["mask_positions"], axis=1)[b["mask_weights"] > 0]
        originals = b["mask_ids"][b["mask_weights"] > 0]
        to_mask += (chosen == vocabulary.mask_id).sum()
        kept += (chosen == originals).sum()
        other += ((chosen != vocabulary.mask_id) & (chosen != originals)).sum()
        # Outside the chosen positions nothing changes.
        untouched = np.ones_like(b["token_ids"], dtype=bool)
        np.put_along_axis(untouched, b["mask_positions"], b["mask_weights"] == 0, axis=1)
        untouched[:, 0] = True  # Position 0 ([CLS]) is the filler of unused slots and is never chosen.
        np.testing.assert_array_equal(b["token_ids"][untouched], b["original_token_ids"][untouched])
        np.testing.assert_array_equal(
            np.take_along_axis(b["original_token_ids"], b["mask_positions"], 1) * (b["mask_weights"] > 0), b["mask_ids"]
        )
    total = to_mask + kept
    assert other == 0
    assert to_mask / total == pytest.approx(0.85, abs=0.015)


def test_mask_token_weights_mark_exactly_the_slots_holding_mask(batches, vocabulary):
    for b in batches:
        chosen = np.take_along_axis(b["token_ids"], b["mask_positions"], axis=1)
        expected = (chosen == vocabulary.mask_id) & (b["mask_weights"] > 0)
        np.testing.assert_array_equal(b["mask_token_weights"], expected.astype(np.float32))


def test_mask_token_weights_exclude_random_and_kept_slots():
    token_ids = tf.fill([64, 64], 7)
    noise = tf.random.stateless_uniform([64, 3, 64], seed=[3, 4])
    config = MaskingConfig(mask_token_ratio=0.5, random_token_ratio=0.3)
    out = mask_tokens(token_ids, tf.ones([64, 64], bool), noise, config, 4, [0, 2, 3, 4], 1000)
    chosen = tf.gather(out["token_ids"], out["mask_positions"], batch_dims=1).numpy()
    weights, at_mask = out["mask_weights"].numpy(), out["mask_token_weights"].numpy()
    np.testing.assert_array_equal(at_mask, ((chosen == 4) & (weights > 0)).astype(np.float32))
    assert 0.4 < at_mask.sum() / weights.sum() < 0.6


def test_random_token_ratio_replaces_with_other_tokens():
    batch, length = 256, 64
    token_ids = tf.fill([batch, length], 7)
    padding_mask = tf.ones([batch, length], bool)
    noise = tf.random.stateless_uniform([batch, 3, length], seed=[1, 2])
    config = MaskingConfig(mask_token_ratio=0.5, random_token_ratio=0.3)
    out = mask_tokens(
        token_ids, padding_mask, noise, config, mask_token_id=4, unmaskable_ids=[0, 2, 3, 4], vocab_size=1000
    )
    chosen = tf.gather(out["token_ids"], out["mask_positions"], batch_dims=1).numpy()[out["mask_weights"].numpy() > 0]
    assert (chosen == 4).mean() == pytest.approx(0.5, abs=0.05)
    assert (chosen == 7).mean() == pytest.approx(0.2, abs=0.05)


def test_short_examples_mask_only_what_can_be_masked():
    # [CLS] x [SEP] [PAD]...: one maskable token; k = max(1, round(0.15 * 3)) = 1.
    token_ids = tf.constant([[2, 50, 3, 0, 0, 0, 0, 0]])
    padding_mask = token_ids != 0
    noise = tf.random.stateless_uniform([1, 3, 8], seed=[0, 0])
    out = mask_tokens(token_ids, padding_mask, noise, MaskingConfig(), 4, [0, 2, 3, 4], 100)
    assert out["mask_weights"].numpy().sum() == 1
    assert out["mask_positions"].numpy()[0, 0] == 1


def test_config_validation_and_max_predictions():
    assert MaskingConfig().num_predictions(128) == 19  # int((0.15 + 0.005) * 128)
    assert MaskingConfig().num_predictions(512) == 79
    with pytest.raises(ValueError, match="mask_prob"):
        MaskingConfig(mask_prob=0.0)
    with pytest.raises(ValueError, match="random_token_ratio"):
        MaskingConfig(mask_token_ratio=0.9, random_token_ratio=0.2)
