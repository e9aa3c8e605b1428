"""Packing invariants on examples built from real text."""

import random

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.data import example_codec, packing
from electra_tf.data.metadata import PretrainingDataMetadata


def read_examples(data_dir: str) -> dict[str, np.ndarray]:
    metadata = PretrainingDataMetadata.load(data_dir)
    records = tf.data.TFRecordDataset(metadata.shard_paths(data_dir)).batch(100_000)
    spec = example_codec.feature_spec(metadata.max_seq_length)
    parsed = [tf.io.parse_example(batch, spec) for batch in records]
    return {k: np.concatenate([p[k].numpy() for p in parsed]) for k in example_codec.FEATURE_NAMES}


@pytest.fixture(scope="module")
def examples(pretraining_data):
    return read_examples(pretraining_data)


def test_every_example_is_cls_a_sep_b_sep_without_inner_padding(examples, vocabulary):
    ids, mask, segments = examples["input_ids"], examples["input_mask"], examples["segment_ids"]
    assert (ids[:, 0] == vocabulary.cls_id).all()
    lengths = mask.sum(axis=1)
    # The mask is a prefix: no padding inside an example, and padding ids only after it.
    assert (mask == (np.arange(ids.shape[1]) < lengths[:, None])).all()
    assert ((ids == vocabulary.pad_id) == (mask == 0)).all()
    seps = (ids == vocabulary.sep_id).sum(axis=1)
    assert set(np.unique(seps)) <= {1, 2}
    assert (ids[np.arange(len(ids)), lengths - 1] == vocabulary.sep_id).all()
    for row, length, num_seps, seg in zip(ids, lengths, seps, segments):
        first_sep = int(np.argmax(row == vocabulary.sep_id))
        expected = np.zeros_like(seg)
        if num_seps == 2:
            expected[first_sep + 1 : length] = 1
        np.testing.assert_array_equal(seg, expected)
    assert not (ids[:, 1:] == vocabulary.cls_id).any()


def test_metadata_records_kept_tokens_and_segment_shares(pretraining_data, examples):
    stats = PretrainingDataMetadata.load(pretraining_data).statistics
    assert stats["token_keep_share"] >= 0.98
    single = (examples["segment_ids"].sum(axis=1) == 0).mean()
    assert stats["single_segment_share"] == pytest.approx(single)
    assert 0.05 < single < 0.25, "about 10% single-segment, plus document tails"
    # Every kept corpus token is in exactly one example, with [CLS] [SEP] (and a second [SEP]) on top.
    assert stats["num_real_tokens"] == examples["input_mask"].sum()
    assert stats["num_kept_tokens"] == stats["num_real_tokens"] - len(examples["input_ids"]) * 2 - int(
        (examples["segment_ids"].sum(axis=1) > 0).sum()
    )


def test_most_examples_are_full_and_some_are_short(examples):
    lengths = examples["input_mask"].sum(axis=1)
    assert (lengths == 128).mean() > 0.85
    assert ((lengths < 100).mean()) > 0.02, "short targets (5%) and document tails"


def test_units_cut_at_sentence_ends_and_never_inside_words(vocabulary):
    tables = packing.TokenTables.from_vocabulary(vocabulary)
    words = "the man saw a dog . then it ran far away ! unbelievable".split()
    ids = np.array([vocabulary.token_id(w) if w in vocabulary else vocabulary.unk_id for w in words])
    bounds = packing.unit_boundaries(ids, np.array([len(ids)]), tables, max_unit_length=100)
    assert bounds.tolist() == [6, 12, len(ids)]
    # A long unit is split at word starts only.
    wordpieces = [vocabulary.token_id(t) for t in ("un", "##bel", "##iev", "##able") if t in vocabulary]
    if len(wordpieces) == 4:
        long_ids = np.array(wordpieces * 10)
        cuts = packing.unit_boundaries(long_ids, np.array([40]), tables, max_unit_length=10)
        assert all(long_ids[c] == wordpieces[0] for c in cuts[:-1])
        assert np.diff(np.concatenate([[0], cuts])).max() <= 10


def test_pack_documents_is_deterministic_and_respects_budgets():
    bounds = np.cumsum(np.random.default_rng(0).integers(1, 60, size=3000))
    docs = [(0, int(bounds[999])), (int(bounds[999]), int(bounds[-1]))]
    config = packing.PackingConfig(max_seq_length=64)
    first = packing.pack_documents(bounds, docs, config, random.Random(7))
    second = packing.pack_documents(bounds, docs, config, random.Random(7))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    starts, len_a, len_b = first
    assert (len_a >= 1).all()
    assert (len_a + len_b + 2 + (len_b > 0) <= 64).all()
    # Examples tile each document exactly: nothing dropped, nothing repeated.
    ends = starts + len_a + len_b
    assert starts[0] == 0 and ends[-1] == bounds[-1]
    assert (starts[1:] == ends[:-1]).all()
    assert bounds[999] in set(starts.tolist())


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="short_seq_prob"):
        packing.PackingConfig(short_seq_prob=1.5)
    with pytest.raises(ValueError, match="max_seq_length"):
        packing.PackingConfig(max_seq_length=3)
