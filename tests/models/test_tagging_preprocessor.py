"""Tagging windows: labels on first pieces, [UNK] for words without pieces, long sentences in windows where each
word counts once, in the window where it has the most context."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models.tagging_preprocessor import IGNORED, TaggingPreprocessor


@pytest.fixture(scope="module")
def preprocessor(vocabulary):
    return TaggingPreprocessor(vocabulary, sequence_length=8, stride=3)


def test_first_pieces_carry_the_labels(vocabulary):
    preprocessor = TaggingPreprocessor(vocabulary, sequence_length=32)
    words = ["Unbelievably", "large", "\u200b", "dogs"]
    ids, word_of_piece, first = (t.numpy() for t in preprocessor.pieces(tf.constant(words)))
    assert word_of_piece.tolist() == sorted(word_of_piece.tolist()) and set(word_of_piece) == {0, 1, 2, 3}
    assert first.sum() == 4 and ids[word_of_piece == 2].tolist() == [vocabulary.unk_id]  # No pieces: [UNK].
    windows = {k: v.numpy() for k, v in preprocessor.windows(tf.constant(words), tf.constant([5, 6, 7, 8])).items()}
    assert windows["token_ids"].shape == (1, 32)
    row = windows["token_ids"][0]
    length = len(ids) + 2
    assert row[0] == vocabulary.cls_id and row[length - 1] == vocabulary.sep_id and (row[length:] == 0).all()
    assert windows["segment_ids"][0].tolist() == [1] * length + [0] * (32 - length)  # GR's segment 1.
    positions = np.flatnonzero(windows["word_index"][0] != IGNORED)
    assert positions.tolist() == (np.flatnonzero(first) + 1).tolist()
    assert windows["word_index"][0][positions].tolist() == [0, 1, 2, 3]
    assert windows["labels"][0][positions].tolist() == [5, 6, 7, 8]
    assert (windows["labels"][0][windows["word_index"][0] == IGNORED] == IGNORED).all()


def test_a_long_sentence_counts_each_word_once(preprocessor):
    words = tf.constant([f"w{i}" for i in range(40)])
    ids, word_of_piece, first = (t.numpy() for t in preprocessor.pieces(words))
    windows = {k: v.numpy() for k, v in preprocessor.windows(words, tf.range(40)).items()}
    assert len(windows["token_ids"]) > 3
    counted = windows["word_index"][windows["word_index"] != IGNORED]
    assert sorted(counted.tolist()) == list(range(40))  # Every word once: none lost, none twice.
    assert (windows["labels"] == windows["word_index"]).all()
    # Where a word counts is the max-context window: the first window with the most context on its shorter side.
    room, stride = 6, 3
    starts = [i * stride for i in range(len(windows["token_ids"]))]
    for w, row in enumerate(windows["word_index"]):
        for position in np.flatnonzero(row != IGNORED):
            piece = starts[w] + position - 1
            assert first[piece] and word_of_piece[piece] == row[position]
            score = [
                min(piece - s, s + min(room, len(ids) - s) - 1 - piece) + 0.01 * min(room, len(ids) - s)
                if s <= piece < s + room
                else -1
                for s in starts
            ]
            assert int(np.argmax(score)) == w


def test_empty_sentence_and_max_windows(preprocessor, vocabulary):
    empty = preprocessor.windows(tf.constant([], tf.string))
    assert empty["token_ids"].numpy().tolist() == [[vocabulary.cls_id, vocabulary.sep_id] + [0] * 6]
    assert (empty["word_index"].numpy() == IGNORED).all()
    cut = preprocessor.windows(tf.constant([f"w{i}" for i in range(40)]), max_windows=2)
    assert cut["token_ids"].shape[0] == 2
    with pytest.raises(ValueError, match="stride=7 must lie in"):
        TaggingPreprocessor(vocabulary, sequence_length=8, stride=7)
    with pytest.raises(ValueError, match="max_windows must be at least 1"):
        preprocessor.windows(tf.constant(["a"]), max_windows=0)
