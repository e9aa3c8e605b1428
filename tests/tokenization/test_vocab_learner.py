"""Tests for `learn_wordpiece_vocab`: size and special tokens, case and accent options, and input errors."""

import logging

import pytest

from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab
from electra_tf.tokenization.vocabulary import SPECIAL_TOKENS

_ACCENTED_TEXT = "café naïve résumé\n" * 200


def _has_upper(token: str) -> bool:
    return any(c.isupper() for c in token)


@pytest.fixture(scope="module")
def cased_vocabulary(corpus_slice):
    return learn_wordpiece_vocab([corpus_slice], vocab_size=8000, lower_case=False)


@pytest.fixture(scope="module")
def lower_vocabulary(corpus_slice):
    return learn_wordpiece_vocab([corpus_slice], vocab_size=8000)


@pytest.fixture()
def accented_corpus(tmp_path) -> str:
    path = tmp_path / "accents.txt"
    path.write_text(_ACCENTED_TEXT, encoding="utf-8")
    return str(path)


def test_default_vocabulary_has_30522_tokens_specials_first(vocabulary):
    assert vocabulary.size == 30522
    assert vocabulary.tokens[:5] == SPECIAL_TOKENS
    assert vocabulary.special_token_ids() == {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    # Lower-cased by default: apart from the special tokens, no token has an upper-case letter.
    assert not [t for t in vocabulary.tokens[5:] if _has_upper(t)]
    assert "the" in vocabulary and "##s" in vocabulary


def test_cased_vocabulary_keeps_upper_case(cased_vocabulary, lower_vocabulary):
    assert cased_vocabulary.size == lower_vocabulary.size == 8000
    assert cased_vocabulary.tokens[:5] == lower_vocabulary.tokens[:5] == SPECIAL_TOKENS
    cased_upper = [t for t in cased_vocabulary.tokens[5:] if _has_upper(t)]
    assert len(cased_upper) > 100, cased_upper[:20]
    assert "The" in cased_vocabulary
    assert not [t for t in lower_vocabulary.tokens[5:] if _has_upper(t)]


def test_lower_case_without_accent_stripping_keeps_accents(accented_corpus):
    kept = learn_wordpiece_vocab([accented_corpus], vocab_size=100, lower_case=True, strip_accents=False)
    assert kept.tokens[:5] == SPECIAL_TOKENS
    assert {"café", "naïve", "résumé"} <= set(kept.tokens)
    assert "cafe" not in kept


def test_lower_case_strips_accents_by_default(accented_corpus):
    stripped = learn_wordpiece_vocab([accented_corpus], vocab_size=100)
    assert {"cafe", "naive", "resume"} <= set(stripped.tokens)
    assert not [t for t in stripped.tokens if any(c in t for c in "éï")]


def test_missing_file_raises_file_not_found_naming_it(tmp_path):
    path = str(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError) as excinfo:
        learn_wordpiece_vocab([path], vocab_size=100)
    assert path in str(excinfo.value)


def test_empty_file_raises_value_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ValueError) as excinfo:
        learn_wordpiece_vocab([str(path)], vocab_size=100)
    assert str(path) in str(excinfo.value)


def test_blank_lines_only_raises_value_error(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("\n   \n\t\n\r\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no text") as excinfo:
        learn_wordpiece_vocab([str(path)], vocab_size=100)
    assert str(path) in str(excinfo.value)


def _write_with_bad_line(path, bad_line: int, num_lines: int) -> None:
    """Writes `num_lines` lines of text whose line `bad_line` (1-based) holds a Latin-1 byte."""
    lines = [f"line {i} of some ordinary text about the weather.\n".encode("utf-8") for i in range(1, num_lines + 1)]
    lines[bad_line - 1] = b"the caf\xe9 was closed\n"
    path.write_bytes(b"".join(lines))


def test_strict_decoding_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    # Far enough in to cross the learner's 4096-line batches, so the line number must be counted, not guessed.
    _write_with_bad_line(path, bad_line=5000, num_lines=6000)
    with pytest.raises(ValueError) as excinfo:
        learn_wordpiece_vocab([str(path)], vocab_size=100, on_decode_error="strict")
    message = str(excinfo.value)
    assert str(path) in message
    assert "line 5000" in message
    assert "\\xe9" in message


def test_replace_decoding_succeeds_and_warns(tmp_path, caplog):
    path = tmp_path / "latin1.txt"
    _write_with_bad_line(path, bad_line=7, num_lines=50)
    with caplog.at_level(logging.WARNING):
        vocab = learn_wordpiece_vocab([str(path)], vocab_size=100, on_decode_error="replace")
    assert vocab.tokens[:5] == SPECIAL_TOKENS
    assert "weather" in vocab
    warnings = [r.getMessage() for r in caplog.records if "U+FFFD" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert "Replaced 1 invalid" in warnings[0]
    assert f"{path}, line 7" in warnings[0]


def test_unknown_decode_policy_raises(tmp_path, accented_corpus):
    with pytest.raises(ValueError, match="on_decode_error"):
        learn_wordpiece_vocab([accented_corpus], vocab_size=100, on_decode_error="ignore")


@pytest.mark.parametrize("vocab_size", [-1, 0, 5])
def test_vocab_size_must_exceed_special_tokens(vocab_size, tmp_path):
    # Checked before the files are touched: the missing file does not matter.
    with pytest.raises(ValueError, match="vocab_size"):
        learn_wordpiece_vocab([str(tmp_path / "missing.txt")], vocab_size=vocab_size)
