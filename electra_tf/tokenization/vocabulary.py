"""A BERT-style WordPiece vocabulary (`vocab.txt`, one token per line, the id is the line number)."""

import dataclasses
import hashlib
from typing import Sequence

import tensorflow as tf

from electra_tf import io_utils

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
# The tokens every electra_tf vocabulary must hold. Learned vocabularies list them first (ids 0-4); released
# BERT/ELECTRA vocabularies put them at 0/100/101/102/103, so code always looks ids up and never hard-codes them.
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
# The vocabulary's file name wherever electra_tf writes one: saved encoders, classifiers, pre-training data, HF folders.
VOCAB_FILE = "vocab.txt"


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """An ordered WordPiece vocabulary.

    Args:
        tokens: tuple of str. The tokens; a token's id is its index.
        source: str. Where the tokens came from, for error messages. Defaults to "<memory>".
    """

    tokens: tuple[str, ...]
    source: str = "<memory>"

    def __post_init__(self):
        index = {}
        for i, token in enumerate(self.tokens):
            if not token:
                raise ValueError(
                    f"Vocabulary {self.source} has an empty token on line {i + 1}. Remove the blank line: every "
                    "line must hold one token."
                )
            if token in index:
                raise ValueError(
                    f"Vocabulary {self.source} lists the token {token!r} twice, on lines {index[token] + 1} and "
                    f"{i + 1}. Each token must appear once."
                )
            index[token] = i
        missing = [t for t in SPECIAL_TOKENS if t not in index]
        if missing:
            raise ValueError(
                f"Vocabulary {self.source} lacks the required special token(s) {', '.join(missing)}. Add each on a "
                f"line of its own, or learn a vocabulary with bin/build_vocab, which lists {' '.join(SPECIAL_TOKENS)} "
                "first."
            )
        object.__setattr__(self, "_index", index)

    @classmethod
    def load(cls, path: str) -> "Vocabulary":
        """Reads `vocab.txt`: one token per line, UTF-8.

        Raises:
            FileNotFoundError: if `path` does not exist.
            ValueError: naming the line, for a blank or duplicate token, or a missing special token.
        """
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(
                f"Vocabulary file {path} does not exist. Learn one with bin/build_vocab, or pass the vocab.txt of "
                "a released checkpoint."
            )
        with tf.io.gfile.GFile(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise ValueError(f"Vocabulary {path} is not UTF-8 (line {line}: {e.reason}). Re-save it as UTF-8.") from e
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(tuple(line.rstrip("\r") for line in lines), source=path)

    def save(self, path: str) -> None:
        """Writes the vocabulary atomically, one token per line."""
        io_utils.write_text_atomic(path, "".join(f"{t}\n" for t in self.tokens))

    @property
    def size(self) -> int:
        return len(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def token_id(self, token: str) -> int:
        """Returns the id of `token`, or raises a `KeyError` that names it."""
        try:
            return self._index[token]
        except KeyError:
            raise KeyError(f"Token {token!r} is not in vocabulary {self.source}.") from None

    def token_ids(self, tokens: Sequence[str]) -> list[int]:
        """Returns the ids of the tokens that are in the vocabulary, skipping the others."""
        return [self._index[t] for t in tokens if t in self._index]

    @property
    def pad_id(self) -> int:
        return self._index[PAD]

    @property
    def unk_id(self) -> int:
        return self._index[UNK]

    @property
    def cls_id(self) -> int:
        return self._index[CLS]

    @property
    def sep_id(self) -> int:
        return self._index[SEP]

    @property
    def mask_id(self) -> int:
        return self._index[MASK]

    def special_token_ids(self) -> dict[str, int]:
        """Returns {token: id} for the required special tokens."""
        return {t: self._index[t] for t in SPECIAL_TOKENS}

    def fingerprint(self) -> str:
        """Returns a sha256 of the token list, which data and checkpoints record to detect a vocabulary mismatch."""
        return hashlib.sha256("\n".join(self.tokens).encode("utf-8")).hexdigest()
