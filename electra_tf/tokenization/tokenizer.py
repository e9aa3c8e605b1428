"""The one tokenizer of electra_tf: tf_text's `FastBertTokenizer`, for data building, fine-tuning and serving.

Using the same graph ops everywhere means that training and serving cannot skew. HF `tokenizers` is used only to
*learn* vocabularies (see `vocab_learner.py`); the two disagree on a few rare characters, which
`tests/tokenization/test_tokenizer_parity.py` measures and documents.
"""

from typing import Optional

import tensorflow as tf
import tensorflow_text as tf_text

from electra_tf.tokenization.vocabulary import UNK, Vocabulary


def resolve_strip_accents(lower_case: bool, strip_accents: Optional[bool]) -> bool:
    """BERT's rule: accents are stripped when lower-casing, unless `strip_accents` says otherwise."""
    return lower_case if strip_accents is None else bool(strip_accents)


def tokenizer_settings(vocabulary: Vocabulary, lower_case: bool, strip_accents: Optional[bool]) -> dict:
    """Returns the settings that change token ids; pre-training data records them in its metadata."""
    return {
        "lower_case": bool(lower_case),
        "strip_accents": resolve_strip_accents(lower_case, strip_accents),
        "vocab_size": vocabulary.size,
        "vocab_sha256": vocabulary.fingerprint(),
    }


class WordPieceTokenizer:
    """Splits text into WordPiece ids with tf_text's `FastBertTokenizer`.

    `FastBertTokenizer` itself offers lower-casing and accent stripping only together. The other two combinations
    are built from ops that stock TF Serving runs: `tf.strings.lower` for lower-casing alone, and NFD plus removal of
    combining marks for accent stripping alone.

    Args:
        vocabulary: `Vocabulary`. The WordPiece vocabulary.
        lower_case: bool. Whether to lower-case the text. Defaults to True.
        strip_accents: bool or None. Whether to strip accents; None follows `lower_case`, as BERT does.
            Defaults to None.
    """

    def __init__(self, vocabulary: Vocabulary, lower_case: bool = True, strip_accents: Optional[bool] = None):
        self.vocabulary = vocabulary
        self.lower_case = bool(lower_case)
        self.strip_accents = resolve_strip_accents(self.lower_case, strip_accents)
        self._fused_normalization = self.lower_case and self.strip_accents
        self._tokenizer = tf_text.FastBertTokenizer(
            vocab=list(vocabulary.tokens),
            suffix_indicator="##",
            max_bytes_per_word=100,
            token_out_type=tf.int32,
            unknown_token=UNK,
            lower_case_nfd_strip_accents=self._fused_normalization,
        )

    def settings(self) -> dict:
        """Returns the settings that change token ids (see `tokenizer_settings`)."""
        return tokenizer_settings(self.vocabulary, self.lower_case, self.strip_accents)

    def _normalize(self, texts: tf.Tensor) -> tf.Tensor:
        if self._fused_normalization:
            return texts
        if self.lower_case:
            texts = tf.strings.lower(texts, encoding="utf-8")
        if self.strip_accents:
            texts = tf_text.normalize_utf8(texts, "NFD")
            texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
        return texts

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Tokenizes a batch of strings.

        Args:
            texts: string tensor of shape `(batch,)`.

        Returns:
            int32 `RaggedTensor` of shape `(batch, (num_tokens))`.
        """
        return self._tokenizer.tokenize(self._normalize(texts))

    def tokenize_with_offsets(self, texts: tf.Tensor) -> tuple:
        """Tokenizes a batch of strings and says where each token came from, in bytes of the *original* text.

        Offsets are what question answering and tagging map answers and words through. `FastBertTokenizer`
        computes them against the text it was given, and its own normalization (lower-casing with accent
        stripping) keeps them on the original; a separate lower-casing or accent-stripping pass would move them.

        Args:
            texts: string tensor of shape `(batch,)`.

        Returns:
            `(ids, starts, ends)`: int32, int64 and int64 `RaggedTensor`s of shape `(batch, (num_tokens))`. Token
            `i` of text `b` covers bytes `[starts[b, i], ends[b, i])` of `texts[b]`.

        Raises:
            ValueError: for lower-casing without accent stripping, or accent stripping without lower-casing, whose
                normalization would move the offsets.
        """
        if self.lower_case != self.strip_accents:
            raise ValueError(
                f"Offsets into the original text need lower_case and strip_accents alike (both for uncased "
                f"vocabularies, neither for cased ones), but lower_case={self.lower_case} and "
                f"strip_accents={self.strip_accents}."
            )
        return self._tokenizer.tokenize_with_offsets(texts)

    def __call__(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self.tokenize(texts)
