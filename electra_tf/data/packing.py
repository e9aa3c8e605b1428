"""Packs tokenized documents into fixed-length `[CLS] A [SEP] B [SEP]` examples, as ELECTRA's data builder does.

The original builder expects one sentence per line and drops whatever overflows an example. Our corpus has one
*paragraph* per line, so dropping would lose much of the text. Here a document is a contiguous run of token ids:

1. `unit_boundaries` cuts it into units at line ends and sentence ends, and splits units longer than
   `max_unit_length` at word boundaries (never inside a word when a word boundary exists).
2. `pack_documents` walks each document and emits examples. Segment A takes whole units, as in the original: the
   first unit, then each unit that keeps A under half the budget, then (half the time) the unit that crosses it.
   Segment B takes the tokens that follow. A unit that does not fit is carried into the next example rather than
   dropped, so every token of the corpus lands in exactly one example.
3. `assemble_examples` lays the examples out as `input_ids`, `input_mask` and `segment_ids` arrays.

Target lengths follow the original: most examples aim for `max_seq_length`; `short_seq_prob` of them aim for a random
length in [5, max_seq_length]; `single_segment_prob` of them have one segment only, like classification inputs.
"""

import bisect
import dataclasses
import random
from typing import Optional, Sequence

import numpy as np

from electra_tf.tokenization.vocabulary import Vocabulary

MIN_TARGET_LENGTH = 5
_SENTENCE_ENDS = (".", "!", "?")
_CLOSERS = ('"', "'", ")", "]", "\u201d", "\u2019", "\u00bb")


@dataclasses.dataclass(frozen=True)
class PackingConfig:
    """How documents become examples.

    Args:
        max_seq_length: int. Length of every example, special tokens included. Defaults to 128.
        short_seq_prob: float. Share of examples that aim for a random shorter length. Defaults to 0.05.
        single_segment_prob: float. Share of examples built with a single segment. Defaults to 0.1.
        max_unit_length: int or None. Longest unit (sentence or line piece) before it is split at a word boundary;
            None means `(max_seq_length - 3) // 2`, half the budget of a two-segment example. Defaults to None.
    """

    max_seq_length: int = 128
    short_seq_prob: float = 0.05
    single_segment_prob: float = 0.1
    max_unit_length: Optional[int] = None

    def __post_init__(self):
        if self.max_seq_length < MIN_TARGET_LENGTH:
            raise ValueError(
                f"max_seq_length must be at least {MIN_TARGET_LENGTH}, but received {self.max_seq_length}."
            )
        for name in ("short_seq_prob", "single_segment_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], but received {name}={value}.")
        if self.max_unit_length is not None and self.max_unit_length < 1:
            raise ValueError(f"max_unit_length must be positive, but received {self.max_unit_length}.")

    @property
    def unit_length(self) -> int:
        return self.max_unit_length or max(1, (self.max_seq_length - 3) // 2)


@dataclasses.dataclass(frozen=True)
class TokenTables:
    """Per-id lookup tables the packer needs, built once from the vocabulary.

    Args:
        word_start: bool array `(vocab_size,)`. True where a token does not continue a word (no `##`).
        sentence_end: bool array `(vocab_size,)`. True for `.`, `!` and `?`.
        closer: bool array `(vocab_size,)`. True for closing quotes and brackets.
    """

    word_start: np.ndarray
    sentence_end: np.ndarray
    closer: np.ndarray

    @classmethod
    def from_vocabulary(cls, vocabulary: Vocabulary) -> "TokenTables":
        size = vocabulary.size
        word_start = np.array([not t.startswith("##") for t in vocabulary.tokens], dtype=bool)
        sentence_end = np.zeros(size, dtype=bool)
        sentence_end[vocabulary.token_ids(_SENTENCE_ENDS)] = True
        closer = np.zeros(size, dtype=bool)
        closer[vocabulary.token_ids(_CLOSERS)] = True
        return cls(word_start=word_start, sentence_end=sentence_end, closer=closer)


def unit_boundaries(
    token_ids: np.ndarray, line_ends: np.ndarray, tables: TokenTables, max_unit_length: int
) -> np.ndarray:
    """Returns the sorted end positions of all units in a flat token stream.

    Args:
        token_ids: int array `(num_tokens,)`. The token ids of many lines, concatenated.
        line_ends: int array `(num_lines,)`. The end position of each line in `token_ids`.
        tables: `TokenTables` for the vocabulary.
        max_unit_length: int. Units longer than this are split, at a word start where there is one.

    Returns:
        int64 array of unit end positions; it includes every line end.
    """
    num_tokens = len(token_ids)
    word_start = tables.word_start[token_ids]
    ends_sentence = tables.sentence_end[token_ids]
    closes = tables.closer[token_ids]
    # A sentence ends before a word start that follows `.`/`!`/`?`, or a closing quote after one.
    after_end = np.zeros(num_tokens, dtype=bool)
    after_end[1:] = ends_sentence[:-1]
    after_end[2:] |= closes[1:-1] & ends_sentence[:-2]
    sentence_cuts = np.flatnonzero(after_end & word_start & ~closes)
    bounds = np.union1d(sentence_cuts, line_ends[line_ends > 0]).astype(np.int64)
    starts = np.concatenate([[0], bounds[:-1]])
    too_long = np.flatnonzero(bounds - starts > max_unit_length)
    if len(too_long) == 0:
        return bounds
    extra = []
    for i in too_long:
        start, end = int(starts[i]), int(bounds[i])
        while end - start > max_unit_length:
            window = np.flatnonzero(word_start[start + 1 : start + max_unit_length + 1])
            cut = start + 1 + int(window[-1]) if len(window) else start + max_unit_length
            extra.append(cut)
            start = cut
    return np.union1d(bounds, np.asarray(extra, dtype=np.int64))


def pack_documents(
    bounds: np.ndarray, document_ranges: Sequence[tuple[int, int]], config: PackingConfig, rng: random.Random
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chooses the examples of each document.

    Args:
        bounds: int array. Sorted unit end positions (from `unit_boundaries`); each document end is among them.
        document_ranges: list of `(start, end)` token positions, one per non-empty document.
        config: `PackingConfig`.
        rng: `random.Random`. The only source of randomness, for determinism.

    Returns:
        `(starts, len_a, len_b)`, int64 arrays `(num_examples,)`: an example's segment A is
        `token_ids[start : start + len_a]` and segment B the `len_b` tokens that follow; `len_b` is 0 for a
        single-segment example.
    """
    bounds = bounds.tolist()
    max_len = config.max_seq_length
    starts, lens_a, lens_b = [], [], []
    for doc_start, doc_end in document_ranges:
        pos = doc_start
        last = bisect.bisect_left(bounds, doc_end)  # bounds[last] == doc_end
        while pos < doc_end:
            target = max_len
            if rng.random() < config.short_seq_prob:
                target = rng.randint(MIN_TARGET_LENGTH, max_len)
            if rng.random() < config.single_segment_prob:
                len_a, len_b = min(target - 2, doc_end - pos), 0
            else:
                first_target = (target - 3) // 2
                first = bisect.bisect_right(bounds, pos)
                a_end = bounds[first]
                last_fitting = bisect.bisect_left(bounds, pos + first_target, first, last + 1) - 1
                if last_fitting > first:
                    a_end = bounds[last_fitting]
                if a_end < doc_end and a_end - pos < first_target and rng.random() < 0.5:
                    a_end = bounds[bisect.bisect_right(bounds, a_end)]
                len_a = min(a_end - pos, target - 2)
                len_b = max(0, min(doc_end - pos - len_a, target - len_a - 3))
            starts.append(pos)
            lens_a.append(len_a)
            lens_b.append(len_b)
            pos += len_a + len_b
    as_array = lambda values: np.asarray(values, dtype=np.int64)
    return as_array(starts), as_array(lens_a), as_array(lens_b)


def assemble_examples(
    token_ids: np.ndarray,
    starts: np.ndarray,
    len_a: np.ndarray,
    len_b: np.ndarray,
    max_seq_length: int,
    vocabulary: Vocabulary,
) -> dict[str, np.ndarray]:
    """Lays out `[CLS] A [SEP] B [SEP]` examples, padded to `max_seq_length`.

    Returns:
        A dict of int64 arrays `(num_examples, max_seq_length)`: `input_ids`, `input_mask` (1 on real tokens) and
        `segment_ids` (1 on segment B and its `[SEP]`).
    """
    num_examples = len(starts)
    content = np.arange(max_seq_length - 2)[None, :]  # (1, L - 2): index into an example's A+B tokens.
    valid = content < (len_a + len_b)[:, None]  # (N, L - 2)
    source = starts[:, None] + content
    column = 1 + content + (content >= len_a[:, None])  # B starts after A's [SEP].
    rows = np.broadcast_to(np.arange(num_examples)[:, None], valid.shape)
    input_ids = np.full((num_examples, max_seq_length), vocabulary.pad_id, dtype=np.int64)
    input_ids[rows[valid], column[valid]] = token_ids[source[valid]]
    input_ids[:, 0] = vocabulary.cls_id
    input_ids[np.arange(num_examples), len_a + 1] = vocabulary.sep_id
    has_b = len_b > 0
    input_ids[np.flatnonzero(has_b), (len_a + len_b + 2)[has_b]] = vocabulary.sep_id
    length = len_a + 2 + np.where(has_b, len_b + 1, 0)
    positions = np.arange(max_seq_length)[None, :]
    input_mask = positions < length[:, None]
    segment_ids = input_mask & has_b[:, None] & (positions >= (len_a + 2)[:, None])
    return {
        "input_ids": input_ids,
        "input_mask": input_mask.astype(np.int64),
        "segment_ids": segment_ids.astype(np.int64),
    }
