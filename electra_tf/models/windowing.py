"""Windows over a long token sequence, with graph ops: where each window starts, what each position holds, and
which window each token counts in (the "max context" rule of BERT and google-research/electra).

A document of `length` tokens is cut into windows of at most `room` tokens that start every `stride` tokens, until
one reaches the end. In a window of `sequence_length` positions the document's tokens begin at position `offset`
(after `[CLS]` and, for question answering, the question and its `[SEP]`), and a `[SEP]` follows them.

Tokens that lie in several windows count in one: the window where the token has the most context on its shorter
side, plus 0.01 x the window's length, the earlier window on ties (GR's `_check_is_max_context`). Question answering
selects spans there; tagging labels and predicts each word there.
"""

from typing import Optional

import tensorflow as tf


class Windows:
    """The windows of one document.

    Args:
        length: scalar int32 tensor. The document's tokens.
        room: scalar int32. Tokens per window.
        stride: int. Tokens between window starts.
        sequence_length: int. Positions per window.
        offset: scalar int32. The position of a window's first document token.
        max_windows: int or None. Keep only the first windows. None keeps all.

    Attributes:
        window_starts, window_lengths: int32 `(W,)`: each window's first document token and its token count.
        position: int32 `(1, L)`.
        in_context: bool `(W, L)`: the positions that hold document tokens.
        document_index: int32 `(W, L)`: the document token at each position (meaningful where `in_context`).
        final_sep_position: int32 `(W, 1)`; final_sep: bool `(W, L)`: the `[SEP]` after the window's tokens.
    """

    def __init__(self, length, room, stride: int, sequence_length: int, offset, max_windows: Optional[int] = None):
        self.length = length
        extra = tf.maximum(length - room, 0)
        count = 1 + (extra + stride - 1) // stride
        if max_windows is not None:
            count = tf.minimum(count, max_windows)
        self.window_starts = tf.range(count) * stride
        self.window_lengths = tf.maximum(tf.minimum(room, length - self.window_starts), 0)
        self.position = tf.range(sequence_length)[tf.newaxis, :]
        relative = self.position - offset
        self.in_context = (relative >= 0) & (relative < self.window_lengths[:, tf.newaxis])
        self.document_index = self.window_starts[:, tf.newaxis] + relative
        self.final_sep_position = offset + self.window_lengths[:, tf.newaxis]
        self.final_sep = self.position == self.final_sep_position

    def gather_context(self, values: tf.Tensor, fill) -> tf.Tensor:
        """`values[document_index]` where a position holds a document token, `fill` elsewhere: `(W, L)`."""
        padded = tf.concat([values, tf.fill([1], tf.cast(fill, values.dtype))], 0)  # Safe for an empty document.
        index = tf.where(self.in_context, self.document_index, self.length)
        return tf.gather(padded, index)

    def is_max_context(self, reach: int) -> tf.Tensor:
        """bool `(W, L)`: the positions whose token counts in this window (GR's `_check_is_max_context`).

        A token lies in at most `reach` consecutive windows, so each window is compared with the `reach` before and
        after it: memory grows with windows x sequence_length x (2 reach + 1), not with windows x document tokens.
        Window w holds a token when it scores more than every earlier window holding it and at least as much as
        every later one: the first window with the best score, as GR's strict `>` picks.
        """
        count = tf.size(self.window_starts)
        index = tf.range(count)[:, tf.newaxis, tf.newaxis]  # (W, 1, 1)
        offsets = tf.range(-reach, reach + 1)[tf.newaxis, tf.newaxis, :]  # (1, 1, J)
        other = index + offsets
        exists = (other >= 0) & (other < count)
        other = tf.clip_by_value(other, 0, tf.maximum(count - 1, 0))
        starts, lengths = tf.gather(self.window_starts, other), tf.gather(self.window_lengths, other)
        document = self.document_index[:, :, tf.newaxis]  # (W, L, 1)
        holds = exists & (document >= starts) & (document < starts + lengths)
        score = tf.cast(tf.minimum(document - starts, starts + lengths - 1 - document), tf.float64)
        score = score + 0.01 * tf.cast(lengths, tf.float64)
        own = score[:, :, reach : reach + 1]
        beaten = holds & tf.where(offsets < 0, score >= own, score > own)
        return self.in_context & ~tf.reduce_any(beaten, axis=-1)
