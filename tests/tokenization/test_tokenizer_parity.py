"""Parity between the tokenizer electra_tf uses (tf_text's FastBertTokenizer) and HF `tokenizers`.

HF `tokenizers` only *learns* the vocabulary (`vocab_learner.py`); all tokenizing is done by `WordPieceTokenizer`.
If the two split text differently, the learned vocabulary spends slots on pieces that tf_text never produces (and
misses pieces it does), so this test measures how often they disagree on real text (the Gutenberg corpus and the
GLUE dev sets) and requires every disagreement to be explained by a documented rule (`KNOWN_DIFFERENCES`).

Measured with the default 30522-token vocabulary learned from gutenberg_10MB.txt: 0 of the 10000 sampled corpus
lines differ (0 of all 28635 non-blank lines), and 8 of the 17353 GLUE dev sentences differ (99.95% agree): one
MRPC line with mojibake C1 controls ("Iraq\u00e2\x80\x99s") and the same QNLI sentence with "Fu\u00dfach" seven times.
In cased mode (and lower-case without accent stripping) only the mojibake line differs.
"""

import csv
import pathlib
from typing import Callable, NamedTuple, Optional

import pytest
import tensorflow as tf
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from electra_tf.tokenization import WordPieceTokenizer
from electra_tf.tokenization.tokenizer import resolve_strip_accents
from electra_tf.tokenization.vocab_learner import learn_wordpiece_vocab

MIN_AGREEMENT = 0.999
CORPUS_SAMPLE_LINES = 10000


class KnownDifference(NamedTuple):
    name: str
    applies_to: Callable[[str], bool]  # Whether a character can cause the difference.
    explanation: str


KNOWN_DIFFERENCES = (
    KnownDifference(
        "C1 control character",
        lambda c: 0x80 <= ord(c) <= 0x9F,
        "U+0080-U+009F (e.g. the mojibake 'â\\x80\\x99' of a UTF-8 apostrophe read as Latin-1): HF's clean_text "
        "deletes them, joining the pieces of the word around them; tf_text treats them as white space and splits "
        "the word there.",
    ),
    KnownDifference(
        "full case folding",
        lambda c: c.casefold() != c.lower(),
        "Characters whose case folding differs from their lower case (e.g. 'ß' -> 'ss', 'ﬀ' handled by NFKD "
        "anyway): tf_text's lower_case_nfd_strip_accents applies full Unicode case folding, HF's lowercase does "
        "not, so HF keeps 'ß' (usually [UNK]) where tf_text produces 's', '##s'.",
    ),
)


def explaining_rules(line: str) -> list[str]:
    """Returns the names of the documented rules that some character of `line` falls under."""
    return sorted({d.name for d in KNOWN_DIFFERENCES for c in line if d.applies_to(c)})


def hf_tokenizer(vocabulary, lower_case: bool = True, strip_accents: Optional[bool] = None) -> Tokenizer:
    """An HF WordPiece tokenizer with the vocabulary learner's normalization (see `vocab_learner.py`)."""
    strip = resolve_strip_accents(lower_case, strip_accents)
    tokenizer = Tokenizer(
        models.WordPiece(
            {token: i for i, token in enumerate(vocabulary.tokens)}, unk_token="[UNK]", max_input_chars_per_word=100
        )
    )
    bert = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip, lowercase=lower_case
    )
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKD(), bert]) if lower_case and strip else bert
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


class Comparison(NamedTuple):
    lines: list
    hf_ids: list
    tf_ids: list
    differing: list  # Indices of the lines whose ids differ.

    @property
    def agreement(self) -> float:
        return 1.0 - len(self.differing) / len(self.lines)

    def describe(self, i: int, vocabulary) -> str:
        tokens = lambda ids: [vocabulary.tokens[t] for t in ids]  # noqa: E731
        return f"{self.lines[i]!r}\n  HF:      {tokens(self.hf_ids[i])}\n  tf_text: {tokens(self.tf_ids[i])}"


def compare(lines, vocabulary, lower_case: bool = True, strip_accents: Optional[bool] = None) -> Comparison:
    hf = hf_tokenizer(vocabulary, lower_case, strip_accents)
    hf_ids = [encoding.ids for encoding in hf.encode_batch(lines, add_special_tokens=False)]
    tf_ids = WordPieceTokenizer(vocabulary, lower_case, strip_accents).tokenize(tf.constant(lines)).to_list()
    differing = [i for i, (a, b) in enumerate(zip(hf_ids, tf_ids)) if a != b]
    return Comparison(lines, hf_ids, tf_ids, differing)


def assert_parity(comparison: Comparison, vocabulary, what: str) -> None:
    unexplained = [
        comparison.describe(i, vocabulary) for i in comparison.differing if not explaining_rules(comparison.lines[i])
    ]
    assert not unexplained, (
        f"{len(unexplained)} {what} line(s) tokenize differently in HF and tf_text for no documented reason; "
        "explain them in KNOWN_DIFFERENCES or fix the normalization:\n" + "\n".join(unexplained[:10])
    )
    assert comparison.agreement >= MIN_AGREEMENT, (
        f"Only {comparison.agreement:.4%} of {len(comparison.lines)} {what} lines agree; first differences:\n"
        + "\n".join(comparison.describe(i, vocabulary) for i in comparison.differing[:10])
    )


# GLUE dev sets: task -> (sentence columns, has a header row).
_GLUE_DEV_COLUMNS = {
    "SST-2": ((0,), True),
    "CoLA": ((3,), False),
    "MRPC": ((3, 4), True),
    "STS-B": ((7, 8), True),
    "RTE": ((1, 2), True),
    "QNLI": ((1, 2), True),
    "WNLI": ((1, 2), True),
}


def read_glue_dev_sentences(glue_dir: pathlib.Path) -> dict:
    """Returns {task: sentences} for every GLUE dev set present."""
    sentences = {}
    for task, (columns, header) in _GLUE_DEV_COLUMNS.items():
        path = glue_dir / task / "dev.tsv"
        if not path.exists():
            continue
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        if header:
            rows = rows[1:]
        width = max(columns) + 1
        assert all(len(row) >= width for row in rows), f"{path}: a row has fewer than {width} columns"
        sentences[task] = [row[c] for row in rows for c in columns]
    return sentences


def corpus_sample(corpus_path: str, count: int = CORPUS_SAMPLE_LINES) -> list[str]:
    """Every k-th non-blank line of the corpus: deterministic, and spread over all its books."""
    lines = [line for line in pathlib.Path(corpus_path).read_text(encoding="utf-8").split("\n") if line.strip()]
    step = max(1, len(lines) // count)
    return lines[::step][:count]


@pytest.fixture(scope="module")
def glue_sentences(glue_dir) -> dict:
    sentences = read_glue_dev_sentences(glue_dir)
    if not sentences:
        pytest.fail(f"No GLUE dev set found under {glue_dir}.")
    return sentences


@pytest.fixture(scope="module")
def glue_lines(glue_sentences) -> list[str]:
    return [s for task in sorted(glue_sentences) for s in glue_sentences[task]]


@pytest.fixture(scope="module")
def cased_vocabulary(corpus_slice):
    return learn_wordpiece_vocab([corpus_slice], vocab_size=8000, lower_case=False)


def test_glue_reader_skips_headers(glue_sentences):
    # Guards the parity test's input: a header or a wrong column would feed it labels and ids instead of text.
    headers = {"sentence", "#1 String", "#2 String", "sentence1", "sentence2", "question", "label"}
    for task, sentences in glue_sentences.items():
        assert sentences, task
        assert not headers & set(sentences[:2]), task
        assert sum(" " in s for s in sentences) > 0.9 * len(sentences), task
    if "CoLA" in glue_sentences:
        assert glue_sentences["CoLA"][0] == "The sailors rode the breeze clear of the rocks."
    if "MRPC" in glue_sentences:
        assert len(glue_sentences["MRPC"]) == 2 * 408


def test_known_differences_table():
    assert explaining_rules("Iraq\u00e2\x80\x99s") == ["C1 control character"]
    assert explaining_rules("Fu\u00dfach") == ["full case folding"]
    assert explaining_rules("plain ASCII, caf\u00e9 and 1\u00ba") == []


def test_corpus_parity(corpus_10mb, vocabulary):
    lines = corpus_sample(corpus_10mb)
    assert len(lines) == CORPUS_SAMPLE_LINES
    comparison = compare(lines, vocabulary)
    assert_parity(comparison, vocabulary, "corpus")


def test_glue_dev_parity(glue_lines, vocabulary):
    assert len(glue_lines) > 1000
    comparison = compare(glue_lines, vocabulary)
    assert_parity(comparison, vocabulary, "GLUE dev")


def test_glue_dev_parity_cased(glue_lines, cased_vocabulary):
    comparison = compare(glue_lines, cased_vocabulary, lower_case=False)
    assert_parity(comparison, cased_vocabulary, "GLUE dev (cased)")


def _ids(vocabulary, text: str, lower_case: bool = True, strip_accents: Optional[bool] = None):
    hf = hf_tokenizer(vocabulary, lower_case, strip_accents).encode(text, add_special_tokens=False).ids
    tf_ids = WordPieceTokenizer(vocabulary, lower_case, strip_accents).tokenize(tf.constant([text])).to_list()[0]
    return hf, tf_ids


def test_masculine_ordinal_agrees_through_nfkd(vocabulary):
    # "º" (U+00BA) is a compatibility character: NFKD turns it into "o" in both tokenizers.
    hf, tf_ids = _ids(vocabulary, "1º")
    assert hf == tf_ids
    assert tf_ids == _ids(vocabulary, "1o")[1]
    assert vocabulary.unk_id not in tf_ids


def test_sharp_s_differs_as_documented(vocabulary):
    assert "ß" not in vocabulary
    hf, tf_ids = _ids(vocabulary, "Straße")
    assert hf != tf_ids
    assert hf == [vocabulary.unk_id]  # HF keeps "ß", which the vocabulary lacks.
    assert tf_ids == _ids(vocabulary, "strasse")[1]  # tf_text folds "ß" to "ss".
    assert explaining_rules("Straße")


def test_c1_controls_differ_as_documented(vocabulary):
    hf, tf_ids = _ids(vocabulary, "Iraq\u00e2\x80\x99s")
    assert hf != tf_ids
    assert hf == _ids(vocabulary, "Iraq\u00e2s")[0]  # HF deletes the controls, joining the word.
    assert tf_ids == _ids(vocabulary, "Iraq\u00e2 s")[1]  # tf_text splits the word there.


def test_lower_case_keeps_accents_when_asked(tmp_path):
    corpus = tmp_path / "accents.txt"
    corpus.write_text("café naïve résumé\n" * 200, encoding="utf-8")
    vocab = learn_wordpiece_vocab([str(corpus)], vocab_size=100, lower_case=True, strip_accents=False)
    assert {"café", "naïve", "résumé"} <= set(vocab.tokens)
    tokenizer = WordPieceTokenizer(vocab, lower_case=True, strip_accents=False)
    assert tokenizer.settings()["strip_accents"] is False
    ids = tokenizer.tokenize(tf.constant(["Café NAÏVE Résumé"])).to_list()[0]
    assert [vocab.tokens[i] for i in ids] == ["café", "naïve", "résumé"]
    hf, tf_ids = _ids(vocab, "Café NAÏVE Résumé", lower_case=True, strip_accents=False)
    assert hf == tf_ids
    # The default (strip accents) cannot find the accented tokens.
    default_ids = WordPieceTokenizer(vocab).tokenize(tf.constant(["Café"])).to_list()[0]
    assert [vocab.tokens[i] for i in default_ids] != ["café"]
