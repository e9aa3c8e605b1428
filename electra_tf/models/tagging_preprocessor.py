"""Turns a sentence of words into the windows a token tagger reads, with graph ops only.

google-research/electra's tagging features (`finetune/tagging/tagging_tasks.py`), in TensorFlow ops so that the
same code runs in `tf.data` for `fit` and `predict` and inside the exported serving graph:
- each word is cut into word-pieces on its own; its **first** piece carries its label and its prediction, and the
  other pieces get neither (GR's and HF's convention). A word with no pieces (only characters the tokenizer drops)
  becomes `[UNK]`, so every word has a place;
- `[CLS] pieces [SEP]`, with segment id 1 on every real position (GR's; HF's default is 0, which `segment_id` sets
  for imported HF taggers);
- where GR truncates a sentence longer than `sequence_length` (and leaves its last words out of the score), this
  cuts it into windows of `sequence_length - 2` pieces every `stride` pieces, and each word counts in the window
  where its first piece has the most context (`windowing.Windows.is_max_context`): it is labelled in training, and
  predicted, there only.
"""

from typing import Optional

import tensorflow as tf

from electra_tf.models import windowing
from electra_tf.models.preprocessor_files import PreprocessorFiles
from electra_tf.tokenization.tokenizer import WordPieceTokenizer
from electra_tf.tokenization.vocabulary import Vocabulary

PREPROCESSOR_FILE = "tagging_preprocessor.json"
IGNORED = -1  # The label and word index of positions that carry none.


class TaggingPreprocessor(PreprocessorFiles, tf.Module):
    """Cuts sentences of words into windows of word-pieces, with each word's label on its first piece.

    Args:
        vocabulary: `Vocabulary`.
        sequence_length: int. Positions per window, `[CLS]` and `[SEP]` included. Defaults to 256 (GR's for
            chunking).
        stride: int or None. Pieces between the starts of a long sentence's windows; None is half a window.
        lower_case: bool. Defaults to True.
        segment_id: int. The segment id of the real positions: 1, google-research/electra's (the default), or 0,
            HF's.
        strip_accents: bool or None. None follows `lower_case`. Defaults to None.
    """

    CONFIG_FILE = PREPROCESSOR_FILE

    def __init__(
        self,
        vocabulary: Vocabulary,
        sequence_length: int = 256,
        stride: Optional[int] = None,
        lower_case: bool = True,
        strip_accents: Optional[bool] = None,
        segment_id: int = 1,
        name: Optional[str] = None,
    ):
        super().__init__(name=name)
        if sequence_length < 3:
            raise ValueError(f"sequence_length={sequence_length} must hold [CLS], one word-piece and [SEP].")
        room = sequence_length - 2
        stride = max(room // 2, 1) if stride is None else int(stride)
        if not 1 <= stride <= room:
            raise ValueError(
                f"stride={stride} must lie in [1, {room}], the word-pieces of a window, or windows would skip words."
            )
        self.vocabulary = vocabulary
        self.sequence_length = int(sequence_length)
        self.stride = stride
        if segment_id not in (0, 1):
            raise ValueError(f"segment_id must be 0 or 1, but received {segment_id}.")
        self.segment_id = int(segment_id)
        self.tokenizer = WordPieceTokenizer(vocabulary, lower_case=lower_case, strip_accents=strip_accents)

    def get_config(self) -> dict:
        return {
            "sequence_length": self.sequence_length,
            "stride": self.stride,
            "lower_case": self.tokenizer.lower_case,
            "strip_accents": self.tokenizer.strip_accents,
            "segment_id": self.segment_id,
        }

    def pieces(self, words) -> tuple:
        """`(ids, word_of_piece, first)`: the sentence's word-pieces (int32 `(P,)`), the word each comes from
        (int32 `(P,)`), and whether it is its word's first piece (bool `(P,)`)."""
        ragged = self.tokenizer.tokenize(tf.reshape(words, [-1]))
        lengths = tf.cast(ragged.row_lengths(), tf.int32)
        kept = tf.maximum(lengths, 1)  # An empty word keeps one place, for [UNK].
        word_of_piece = tf.repeat(tf.range(tf.size(lengths)), kept)
        within = tf.range(tf.reduce_sum(kept)) - tf.gather(tf.cumsum(kept, exclusive=True), word_of_piece)
        source = tf.gather(tf.cast(ragged.row_starts(), tf.int32), word_of_piece) + within
        values = tf.concat([tf.cast(ragged.flat_values, tf.int32), [self.vocabulary.unk_id]], 0)
        empty = tf.gather(lengths, word_of_piece) == 0
        ids = tf.gather(values, tf.where(empty, tf.size(values) - 1, source))
        return ids, word_of_piece, within == 0

    def windows(self, words, labels=None, max_windows: Optional[int] = None) -> dict:
        """One sentence's windows.

        Args:
            words: string `(W,)`.
            labels: int `(W,)` label ids, or None.
            max_windows: int or None. Keep only the first windows (at least 1); later words get no window. None
                keeps all.

        Returns:
            dict of tensors with a leading window axis `N`: `token_ids`, `segment_ids` and `padding_mask`, int32
            `(N, sequence_length)`; `word_index`, int32 `(N, sequence_length)`: the word predicted at each position
            (its first piece, in the window where it counts), `IGNORED` elsewhere; with `labels`, `labels` int32
            `(N, sequence_length)`, the label at the same positions and `IGNORED` elsewhere.
        """
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, but received {max_windows}.")
        ids, word_of_piece, first = self.pieces(words)
        room = self.sequence_length - 2
        layout = windowing.Windows(tf.size(ids), room, self.stride, self.sequence_length, 1, max_windows)
        vocabulary = self.vocabulary
        p = layout.position
        tokens = tf.where(
            layout.in_context,
            layout.gather_context(ids, vocabulary.pad_id),
            tf.where(p == 0, vocabulary.cls_id, tf.where(layout.final_sep, vocabulary.sep_id, vocabulary.pad_id)),
        )
        padding_mask = tf.cast(p <= layout.final_sep_position, tf.int32)
        owned = layout.is_max_context(-(-room // self.stride)) & layout.gather_context(first, False)
        features = {
            "token_ids": tokens,
            "segment_ids": padding_mask * self.segment_id,
            "padding_mask": padding_mask,
            "word_index": tf.where(owned, layout.gather_context(word_of_piece, IGNORED), IGNORED),
        }
        if labels is not None:
            piece_labels = tf.gather(tf.cast(tf.reshape(labels, [-1]), tf.int32), word_of_piece)
            features["labels"] = tf.where(owned, layout.gather_context(piece_labels, IGNORED), IGNORED)
        return features
