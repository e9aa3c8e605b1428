"""Learns a BERT-style WordPiece vocabulary with HF `tokenizers` (fast, and already a keras-hub dependency)."""

from typing import Iterable, Iterator, Optional, Sequence

from absl import logging
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from electra_tf import corpus
from electra_tf.tokenization.tokenizer import resolve_strip_accents
from electra_tf.tokenization.vocabulary import SPECIAL_TOKENS, Vocabulary


def _batches(lines: Iterable[str], size: int = 4096) -> Iterator[list[str]]:
    batch = []
    for line in lines:
        if line.strip():
            batch.append(line)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def learn_wordpiece_vocab(
    files: Sequence[str],
    vocab_size: int = 30522,
    lower_case: bool = True,
    strip_accents: Optional[bool] = None,
    min_frequency: int = 0,
    on_decode_error: str = "replace",
) -> Vocabulary:
    """Learns a WordPiece vocabulary whose first tokens are `[PAD] [UNK] [CLS] [SEP] [MASK]`.

    Args:
        files: list of str. UTF-8 text files (or globs), one sentence or paragraph per line.
        vocab_size: int. The number of tokens wanted, special tokens included. Defaults to 30522.
        lower_case: bool. Whether to lower-case before learning. Defaults to True.
        strip_accents: bool or None. Whether to strip accents; None follows `lower_case`. Defaults to None.
        min_frequency: int. Minimum count for a merge to be kept. Defaults to 0.
        on_decode_error: str. "replace" (U+FFFD, with a warning that counts them) or "strict" (fail, naming the
            file and line). Defaults to "replace".

    Returns:
        The learned `Vocabulary`. It may be smaller than `vocab_size` on a small corpus, or larger when
        `vocab_size` is below the number of distinct characters; a warning says so.

    Raises:
        FileNotFoundError: if a file or glob matches nothing.
        ValueError: if the corpus has no text, `vocab_size` is too small, or (strict) a file is not UTF-8.
    """
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens, but received {vocab_size}.")
    paths = corpus.resolve_corpus_files(files)
    strip = resolve_strip_accents(lower_case, strip_accents)
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
    bert_normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip, lowercase=lower_case
    )
    # tf_text's fused lower-case + strip-accents mode also applies compatibility decomposition (NFKD: "₁" -> "1",
    # "ﬁ" -> "fi"); learning on the same normalized text keeps vocabulary slots for tokens it actually produces.
    fused = lower_case and strip
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKD(), bert_normalizer]) if fused else bert_normalizer
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        continuing_subword_prefix="##",
        show_progress=False,
    )
    reader = corpus.LineReader(paths, on_decode_error=on_decode_error)
    tokenizer.train_from_iterator(_batches(reader), trainer=trainer)
    if reader.num_text_lines == 0:
        raise ValueError(f"The corpus {', '.join(paths)} holds no text: every line is blank.")
    if reader.num_decode_errors:
        logging.warning(
            "Replaced %d invalid UTF-8 sequence(s) with U+FFFD while learning the vocabulary (first in %s).",
            reader.num_decode_errors,
            reader.first_decode_error,
        )
    by_id = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    vocabulary = Vocabulary(tuple(token for token, _ in by_id), source="<learned>")
    if vocabulary.size < vocab_size:
        logging.warning(
            "The corpus yielded %d tokens, fewer than the %d asked for: it has too few distinct words.",
            vocabulary.size,
            vocab_size,
        )
    elif vocabulary.size > vocab_size:
        logging.warning(
            "The vocabulary has %d tokens, more than the %d asked for: the learner keeps every character of the "
            "corpus. Ask for a larger vocab_size.",
            vocabulary.size,
            vocab_size,
        )
    return vocabulary
