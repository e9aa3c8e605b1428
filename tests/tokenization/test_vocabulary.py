"""Tests for `Vocabulary`: special-token ids, loading errors that name the file and line, and save/load."""

import pathlib

import pytest

from electra_tf.tokenization.vocabulary import SPECIAL_TOKENS, Vocabulary

# A few ordinary tokens to fill vocabularies written by the tests.
_FILLER = ["the", "of", "and", "##s", "##ing", "a", "to", "in", "hello", "world"]


def _write_lines(path: pathlib.Path, tokens) -> str:
    path.write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")
    return str(path)


def _released_style_tokens() -> list[str]:
    """The layout of released BERT/ELECTRA vocab.txt: [PAD] 0, [unused*] 1-99, [UNK] [CLS] [SEP] [MASK] 100-103."""
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return tokens + [f"[unused{i}]" for i in range(99, 104)] + _FILLER


def test_learned_vocabulary_lists_special_tokens_first(vocabulary):
    assert vocabulary.tokens[:5] == SPECIAL_TOKENS == ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
    assert vocabulary.special_token_ids() == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    assert (vocabulary.pad_id, vocabulary.unk_id, vocabulary.cls_id, vocabulary.sep_id, vocabulary.mask_id) == (
        0,
        1,
        2,
        3,
        4,
    )


def test_released_style_vocabulary_ids_are_looked_up(tmp_path):
    path = _write_lines(tmp_path / "vocab.txt", _released_style_tokens())
    vocab = Vocabulary.load(path)
    assert vocab.pad_id == 0
    assert vocab.unk_id == 100
    assert vocab.cls_id == 101
    assert vocab.sep_id == 102
    assert vocab.mask_id == 103
    assert vocab.special_token_ids() == {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
    assert vocab.token_id("hello") == len(_released_style_tokens()) - 2
    assert vocab.size == len(vocab) == len(_released_style_tokens())
    assert vocab.source == path


def test_missing_mask_token_names_token_and_file(tmp_path):
    tokens = [t for t in SPECIAL_TOKENS if t != "[MASK]"] + _FILLER
    path = _write_lines(tmp_path / "no_mask_vocab.txt", tokens)
    with pytest.raises(ValueError) as excinfo:
        Vocabulary.load(path)
    message = str(excinfo.value)
    assert "[MASK]" in message
    assert path in message


def test_duplicate_token_names_both_lines(tmp_path):
    tokens = list(SPECIAL_TOKENS) + ["hello", "world", "again", "hello", "end"]  # "hello" on lines 6 and 9.
    path = _write_lines(tmp_path / "vocab.txt", tokens)
    with pytest.raises(ValueError) as excinfo:
        Vocabulary.load(path)
    message = str(excinfo.value)
    assert "'hello'" in message
    assert "lines 6 and 9" in message
    assert path in message


def test_blank_line_inside_names_the_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(list(SPECIAL_TOKENS) + ["hello", "", "world"]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as excinfo:
        Vocabulary.load(str(path))
    message = str(excinfo.value)
    assert "line 7" in message
    assert str(path) in message


def test_missing_file_raises_file_not_found(tmp_path):
    path = str(tmp_path / "does_not_exist" / "vocab.txt")
    with pytest.raises(FileNotFoundError) as excinfo:
        Vocabulary.load(path)
    assert path in str(excinfo.value)


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "vocab.txt"
    good = "".join(f"{t}\n" for t in list(SPECIAL_TOKENS) + ["hello", "world"]).encode("utf-8")
    path.write_bytes(good + b"caf\xe9\n" + b"end\n")  # Latin-1 "café" on line 8.
    with pytest.raises(ValueError) as excinfo:
        Vocabulary.load(str(path))
    message = str(excinfo.value)
    assert "line 8" in message
    assert str(path) in message
    assert "UTF-8" in message


def test_crlf_line_endings_load_the_same_tokens(tmp_path):
    tokens = list(SPECIAL_TOKENS) + _FILLER
    path = tmp_path / "vocab_crlf.txt"
    path.write_bytes("".join(f"{t}\r\n" for t in tokens).encode("utf-8"))
    assert Vocabulary.load(str(path)).tokens == tuple(tokens)


def test_save_load_round_trip_is_exact(tmp_path):
    tokens = _released_style_tokens() + ["café", "日本", "##ß"]
    original = Vocabulary(tuple(tokens))
    path = tmp_path / "out" / "vocab.txt"
    path.parent.mkdir()
    original.save(str(path))
    assert path.read_bytes() == "".join(f"{t}\n" for t in tokens).encode("utf-8")
    loaded = Vocabulary.load(str(path))
    assert loaded.tokens == original.tokens
    assert loaded.fingerprint() == original.fingerprint()
    assert loaded.special_token_ids() == original.special_token_ids()
    # No temporary file is left beside the vocabulary.
    assert sorted(p.name for p in path.parent.iterdir()) == ["vocab.txt"]


def test_learned_vocabulary_round_trips(vocabulary, tmp_path):
    path = str(tmp_path / "vocab.txt")
    vocabulary.save(path)
    assert Vocabulary.load(path).tokens == vocabulary.tokens


def test_fingerprint_changes_when_one_token_changes():
    tokens = list(SPECIAL_TOKENS) + _FILLER
    changed = list(tokens)
    changed[-1] = changed[-1] + "x"
    swapped = list(tokens)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    base = Vocabulary(tuple(tokens)).fingerprint()
    assert len(base) == 64
    assert Vocabulary(tuple(tokens)).fingerprint() == base
    assert Vocabulary(tuple(changed)).fingerprint() != base
    assert Vocabulary(tuple(swapped)).fingerprint() != base  # Same tokens, different ids.


def test_unknown_token_id_raises_key_error_naming_it(vocabulary):
    assert vocabulary.token_id("[MASK]") == 4
    with pytest.raises(KeyError) as excinfo:
        vocabulary.token_id("notatoken-xyz")
    assert "'notatoken-xyz'" in excinfo.value.args[0]
    assert "notatoken-xyz" not in vocabulary
    # token_ids skips unknown tokens instead.
    assert vocabulary.token_ids(["[CLS]", "notatoken-xyz", "[SEP]"]) == [2, 3]
