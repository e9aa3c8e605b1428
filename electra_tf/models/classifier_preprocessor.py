"""Turns raw text (single sentences or pairs) into the encoder's int inputs, with graph ops only.

`[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, trimmed to `sequence_length` by shrinking the longer segment first
(tf_text's `ShrinkLongestTrimmer`), then padded. It runs inside `tf.data` for `fit`, `evaluate` and `predict`, so
strings never reach the compiled model, and inside the exported serving graph. Every op it uses is one that stock
TF Serving runs (see `electra_tf/export/op_allowlist.py`); `RoundRobinTrimmer` is avoided because its op is not.
"""

from typing import Optional

import tensorflow as tf
import tensorflow_text as tf_text

from electra_tf.models.preprocessor_files import PreprocessorFiles
from electra_tf.tokenization.tokenizer import WordPieceTokenizer
from electra_tf.tokenization.vocabulary import Vocabulary

TEXT_A = "text_a"
TEXT_B = "text_b"
PREPROCESSOR_FILE = "preprocessor.json"


class ClassifierPreprocessor(PreprocessorFiles, tf.Module):
    """Tokenizes and packs texts for `ElectraClassifier`.

    Args:
        vocabulary: `Vocabulary`.
        sequence_length: int. Length of every packed sequence, special tokens included. Defaults to 128.
        lower_case: bool. Defaults to True.
        strip_accents: bool or None. None follows `lower_case`. Defaults to None.
        pair: bool. Whether inputs have a second text. Defaults to False.

    Call it with a dict of string tensors `{"text_a": (batch,), "text_b": (batch,)}` (`text_b` for pair tasks only),
    or with scalar strings for one example. Returns `token_ids`, `segment_ids` and `padding_mask`, int32
    `(batch, sequence_length)` (or `(sequence_length,)` for one example).
    """

    CONFIG_FILE = PREPROCESSOR_FILE

    def __init__(
        self,
        vocabulary: Vocabulary,
        sequence_length: int = 128,
        lower_case: bool = True,
        strip_accents: Optional[bool] = None,
        pair: bool = False,
        name: Optional[str] = None,
    ):
        super().__init__(name=name)
        minimum = 5 if pair else 3
        if sequence_length < minimum:
            raise ValueError(
                f"sequence_length must be at least {minimum} to hold the special tokens and text, but is "
                f"{sequence_length}."
            )
        self.vocabulary = vocabulary
        self.sequence_length = int(sequence_length)
        self.pair = bool(pair)
        self.tokenizer = WordPieceTokenizer(vocabulary, lower_case=lower_case, strip_accents=strip_accents)
        self.trimmer = tf_text.ShrinkLongestTrimmer(self.sequence_length - 3)
        self.cls_id = vocabulary.cls_id
        self.sep_id = vocabulary.sep_id

    @property
    def text_keys(self) -> tuple:
        return (TEXT_A, TEXT_B) if self.pair else (TEXT_A,)

    def __call__(self, texts: dict) -> dict:
        if not isinstance(texts, dict) or set(texts) != set(self.text_keys):
            got = sorted(texts) if isinstance(texts, dict) else type(texts).__name__
            raise ValueError(f"Expected a dict with keys {list(self.text_keys)}, but received {got}.")
        scalar = texts[TEXT_A].shape.rank == 0
        segments = [self._tokenize(tf.convert_to_tensor(texts[key], dtype=tf.string)) for key in self.text_keys]
        if self.pair:
            segments = self.trimmer.trim(segments)
        else:  # ShrinkLongestTrimmer fails to trace with one segment (a while_loop shape error); it is a cut then.
            segments = [segments[0][:, : self.sequence_length - 2]]
        token_ids, segment_ids = tf_text.combine_segments(segments, self.cls_id, self.sep_id)
        token_ids, padding_mask = tf_text.pad_model_inputs(token_ids, self.sequence_length)
        segment_ids, _ = tf_text.pad_model_inputs(segment_ids, self.sequence_length)
        outputs = {
            "token_ids": tf.cast(token_ids, tf.int32),
            "segment_ids": tf.cast(segment_ids, tf.int32),
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }
        if scalar:
            outputs = {key: value[0] for key, value in outputs.items()}
        return outputs

    def _tokenize(self, text: tf.Tensor) -> tf.RaggedTensor:
        """(batch,) strings -> (batch, (tokens)) ids; words' pieces are flattened into one token list."""
        tokens = self.tokenizer.tokenize(tf.reshape(text, [-1]))
        return tokens.merge_dims(-2, -1) if tokens.shape.rank == 3 else tokens

    def get_config(self) -> dict:
        return {
            "sequence_length": self.sequence_length,
            "lower_case": self.tokenizer.lower_case,
            "strip_accents": self.tokenizer.strip_accents,
            "pair": self.pair,
        }
