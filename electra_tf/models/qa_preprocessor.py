"""Turns a question and its context into the windows a span-extraction model reads, with graph ops only.

google-research/electra's SQuAD features (`finetune/qa/qa_tasks.py`), in TensorFlow ops so that the same code runs
in `tf.data` for `fit` and `predict` and inside the exported serving graph:
- the question is cut to its first `max_query_length` word-pieces;
- the context is cut into windows of `sequence_length - len(question) - 3` word-pieces that start every
  `doc_stride` word-pieces, until one reaches the end;
- each window is `[CLS] question [SEP] context-window [SEP]`, segment 1 on the window and its final `[SEP]`;
- each context token belongs, for span selection, to the window where it has the most context on its shorter
  side, plus 0.01 x the window's length (the earlier window on ties): GR's and BERT's "max context" rule;
- a training answer is labelled in a window that holds all of it, at its token positions, and at `[CLS]` (0, 0)
  in every other window, which stays in training; an unanswerable question is `[CLS]` in every window.

Where GR maps answers through whitespace words and then narrows the span (`_improve_answer_span`), this maps them
through the tokenizer's byte offsets into the original context: the answer's tokens are those whose bytes overlap
its characters, HF's convention. The two agree whenever the answer starts and ends on token boundaries, and the
offsets recover the answer's exact original text, where GR's `get_final_text` aligns strings heuristically.

An empty context gives one window with no context tokens, so the question can only be unanswerable.
"""

from typing import Optional

import tensorflow as tf

from electra_tf.models import windowing
from electra_tf.models.preprocessor_files import PreprocessorFiles
from electra_tf.tokenization.tokenizer import WordPieceTokenizer
from electra_tf.tokenization.vocabulary import Vocabulary

QUESTION = "question"
CONTEXT = "context"
PREPROCESSOR_FILE = "qa_preprocessor.json"


def byte_span(context: str, start: int, text: str) -> tuple:
    """The byte offsets `[begin, end)` in UTF-8 `context` of `text`, which starts at character `start`."""
    begin = len(context[:start].encode("utf-8"))
    return begin, begin + len(text.encode("utf-8"))


class QuestionAnsweringPreprocessor(PreprocessorFiles, tf.Module):
    """Cuts `(question, context)` pairs into windows and labels answers, as google-research/electra does.

    Args:
        vocabulary: `Vocabulary`.
        sequence_length: int. Tokens per window, special tokens included. Defaults to 512 (GR's for SQuAD).
        doc_stride: int. Word-pieces between the starts of consecutive windows. Defaults to 128.
        max_query_length: int. Word-pieces of the question kept. Defaults to 64.
        lower_case: bool. Defaults to True.
        strip_accents: bool or None. None follows `lower_case`. Defaults to None.
    """

    CONFIG_FILE = PREPROCESSOR_FILE

    def __init__(
        self,
        vocabulary: Vocabulary,
        sequence_length: int = 512,
        doc_stride: int = 128,
        max_query_length: int = 64,
        lower_case: bool = True,
        strip_accents: Optional[bool] = None,
        name: Optional[str] = None,
    ):
        super().__init__(name=name)
        if max_query_length < 1 or sequence_length < max_query_length + 4:
            raise ValueError(
                f"sequence_length={sequence_length} must hold [CLS], max_query_length={max_query_length} question "
                "tokens, two [SEP] and at least one context token, with max_query_length at least 1."
            )
        if not 1 <= doc_stride <= sequence_length - max_query_length - 3:
            raise ValueError(
                f"doc_stride={doc_stride} must lie in [1, {sequence_length - max_query_length - 3}], the context "
                "tokens of a window with the longest question, or windows would skip tokens."
            )
        self.vocabulary = vocabulary
        self.sequence_length = int(sequence_length)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)
        self.tokenizer = WordPieceTokenizer(vocabulary, lower_case=lower_case, strip_accents=strip_accents)
        self.tokenizer.tokenize_with_offsets(tf.constant([""]))  # Refuses settings that would move the offsets.

    def get_config(self) -> dict:
        return {
            "sequence_length": self.sequence_length,
            "doc_stride": self.doc_stride,
            "max_query_length": self.max_query_length,
            "lower_case": self.tokenizer.lower_case,
            "strip_accents": self.tokenizer.strip_accents,
        }

    def windows(self, question, context, answer=None, is_impossible=None, max_windows: Optional[int] = None) -> dict:
        """One example's windows.

        Args:
            question: scalar string.
            context: scalar string.
            max_windows: int or None. Keep only the first windows (at least 1): the context beyond them is tokenized
                but gets no window. None keeps all.
            answer: int `(2,)`, the answer's bytes `[begin, end)` in `context` (see `byte_span`), or None.
            is_impossible: scalar bool, or None (False).

        Returns:
            dict of tensors with a leading window axis `W`: `token_ids`, `segment_ids` and `padding_mask`, int32
            `(W, sequence_length)`; `token_starts` and `token_ends`, int32 `(W, sequence_length)`, each context
            token's bytes in `context` and -1 elsewhere; `is_max_context`, bool `(W, sequence_length)`. With an
            `answer` or `is_impossible`: `start_positions`, `end_positions` and `is_impossible`, int32 `(W,)`.
        """
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, but received {max_windows}.")
        query = self.tokenizer.tokenize(tf.reshape(question, [1]))[0][: self.max_query_length]
        ids, starts, ends = (t[0] for t in self.tokenizer.tokenize_with_offsets(tf.reshape(context, [1])))
        layout = _Layout(tf.size(query), tf.size(ids), self.sequence_length, self.doc_stride, max_windows)
        pad = self.vocabulary.pad_id
        features = {
            "token_ids": layout.tokens(query, ids, self.vocabulary.cls_id, self.vocabulary.sep_id, pad),
            "segment_ids": tf.cast(layout.in_context | layout.final_sep, tf.int32),
            "padding_mask": tf.cast(layout.position <= layout.final_sep_position, tf.int32),
            "token_starts": layout.gather_context(tf.cast(starts, tf.int32), -1),
            "token_ends": layout.gather_context(tf.cast(ends, tf.int32), -1),
            "is_max_context": layout.is_max_context(-(-(self.sequence_length - 3) // self.doc_stride)),
        }
        if answer is not None or is_impossible is not None:
            features.update(layout.labels(starts, ends, answer, is_impossible))
        return features


class _Layout(windowing.Windows):
    """Where the windows of one example start and what each of their positions holds: `[CLS] question [SEP]`, then
    the window of the context (`windowing.Windows`)."""

    def __init__(self, query_length, context_length, sequence_length: int, doc_stride: int, max_windows=None):
        room = sequence_length - query_length - 3
        super().__init__(context_length, room, doc_stride, sequence_length, query_length + 2, max_windows)
        self.query_length, self.context_length = query_length, context_length

    def tokens(self, query, ids, cls_id: int, sep_id: int, pad_id: int) -> tf.Tensor:
        padded_query = tf.concat([tf.cast(query, tf.int32), [pad_id]], 0)
        question = tf.gather(padded_query, tf.clip_by_value(self.position - 1, 0, self.query_length))
        p, q = self.position, self.query_length
        tokens = tf.where(p == 0, cls_id, tf.where((p >= 1) & (p <= q), question, sep_id))
        tokens = tf.broadcast_to(tokens, tf.shape(self.in_context))
        tokens = tf.where(self.in_context, self.gather_context(tf.cast(ids, tf.int32), pad_id), tokens)
        after = p > self.final_sep_position
        return tf.where(after, pad_id, tf.where(self.final_sep, sep_id, tokens))

    def labels(self, starts, ends, answer, is_impossible) -> dict:
        """GR's training labels: the answer's positions in windows holding all of it, (0, 0) elsewhere."""
        count = tf.size(self.window_starts)
        impossible = tf.constant(False) if is_impossible is None else tf.cast(is_impossible, tf.bool)
        if answer is None:
            answer = tf.constant([0, 0], tf.int64)
        answer = tf.cast(answer, tf.int64)
        document = tf.range(self.context_length)
        overlaps = (ends > answer[0]) & (starts < answer[1])
        first = tf.reduce_min(tf.where(overlaps, document, self.context_length))
        last = tf.reduce_max(tf.where(overlaps, document, -1))
        inside = (
            ~impossible
            & (first <= last)
            & (first >= self.window_starts)
            & (last < self.window_starts + self.window_lengths)
        )
        shift = self.query_length + 2 - self.window_starts
        return {
            "start_positions": tf.where(inside, first + shift, 0),
            "end_positions": tf.where(inside, last + shift, 0),
            "is_impossible": tf.fill([count], tf.cast(impossible, tf.int32)),
        }
