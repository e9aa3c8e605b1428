"""Reads plain-text corpora: one sentence or paragraph per line, a blank line between documents.

Two ways in:
- `LineReader` streams lines from files (for vocabulary learning).
- `plan_shards` cuts the files into byte ranges at document boundaries, and `read_shard` decodes one range, so that
  worker processes read their share of a large file directly.

Invalid UTF-8 is handled by one policy everywhere (`on_decode_error`): "replace" (the default) substitutes U+FFFD
and counts the replacements, which are logged and recorded in the data's metadata; "strict" fails and names the file
and line.
"""

import dataclasses
import re
from typing import Iterator, Sequence

import tensorflow as tf

from electra_tf import io_utils

DECODE_POLICIES = ("replace", "strict")
_REPLACEMENT_CHAR_UTF8 = "\ufffd".encode("utf-8")
# A document boundary: a newline, then a line that holds only white space.
_BLANK_LINE = re.compile(rb"\n[ \t\r\f\v]*\n")
_BOUNDARY_SEARCH_WINDOW = 1 << 20


def check_decode_policy(on_decode_error: str) -> None:
    if on_decode_error not in DECODE_POLICIES:
        raise ValueError(f"on_decode_error must be one of {DECODE_POLICIES}, but received {on_decode_error!r}.")


def resolve_corpus_files(patterns: Sequence[str]) -> list[str]:
    """Expands corpus files and globs; fails if nothing matches or every file is empty."""
    paths = io_utils.expand_inputs(patterns, what="corpus")
    if all(tf.io.gfile.stat(p).length == 0 for p in paths):
        raise ValueError(f"The corpus is empty: {', '.join(paths)} hold(s) no bytes. Pass a file with text.")
    return paths


def _line_number(path: str, offset: int) -> int:
    """Returns the 1-based line number of byte `offset` in `path`."""
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def decode(raw: bytes, path: str, start: int, on_decode_error: str) -> tuple[str, int]:
    """Decodes UTF-8 bytes read from `path` at byte offset `start`.

    Returns:
        The text and the number of invalid byte sequences replaced by U+FFFD.

    Raises:
        ValueError: with the file, line and bytes, if the policy is "strict" and the bytes are not UTF-8.
    """
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError as e:
        if on_decode_error == "strict":
            line = _line_number(path, start + e.start)
            raise ValueError(
                f"{path}, line {line}: invalid UTF-8 bytes {raw[e.start : e.end]!r} ({e.reason}). Re-encode the file "
                "as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or pass on_decode_error='replace' "
                "(--on_decode_error=replace) to substitute U+FFFD."
            ) from e
    text = raw.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - raw.count(_REPLACEMENT_CHAR_UTF8)


class LineReader:
    """Iterates over the lines of text files, decoding them with one policy and counting replacements.

    Args:
        paths: list of str. The files, read in order.
        on_decode_error: str. "replace" or "strict". Defaults to "replace".
    """

    def __init__(self, paths: Sequence[str], on_decode_error: str = "replace"):
        check_decode_policy(on_decode_error)
        self.paths = list(paths)
        self.on_decode_error = on_decode_error
        self.num_decode_errors = 0
        self.num_text_lines = 0
        self.first_decode_error = None

    def __iter__(self) -> Iterator[str]:
        for path in self.paths:
            offset = 0
            with tf.io.gfile.GFile(path, "rb") as f:
                for raw in f:
                    text, errors = decode(raw, path, offset, self.on_decode_error)
                    if errors:
                        if self.first_decode_error is None:
                            self.first_decode_error = f"{path}, line {_line_number(path, offset)}"
                        self.num_decode_errors += errors
                    offset += len(raw)
                    text = text.rstrip("\r\n")
                    if text.strip():
                        self.num_text_lines += 1
                    yield text


@dataclasses.dataclass(frozen=True)
class Piece:
    """The bytes [start, end) of one corpus file."""

    path: str
    start: int
    end: int


def _next_document_start(f, offset: int, size: int) -> int:
    """Returns the first offset at or after `offset` where a document starts, or `size` if none does.

    It prefers a blank line; in a file without one nearby it settles for the next line.
    """
    while offset < size:
        f.seek(offset)
        window = f.read(min(_BOUNDARY_SEARCH_WINDOW, size - offset))
        match = _BLANK_LINE.search(window)
        if match:
            return offset + match.end()
        newline = window.find(b"\n")
        if newline >= 0:
            return offset + newline + 1
        offset += len(window)
    return size


def plan_shards(paths: Sequence[str], num_shards: int) -> list[list[Piece]]:
    """Splits the concatenated files into about `num_shards` byte ranges that begin at document starts.

    The plan depends only on the files and `num_shards`, never on the number of workers, so the output is the same
    whatever the parallelism. A file's end always ends a document. Fewer shards come back when documents are too
    large to cut the files finer.

    Returns:
        One list of `Piece`s per shard.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be at least 1, but received {num_shards}.")
    sizes = [tf.io.gfile.stat(p).length for p in paths]
    total = sum(sizes)
    cuts = []  # (file index, offset): a shard starts here.
    file_start = 0
    for index, (path, size) in enumerate(zip(paths, sizes)):
        with tf.io.gfile.GFile(path, "rb") as f:
            for k in range(1, num_shards):
                target = k * total // num_shards - file_start
                if 0 < target < size:
                    cut = _next_document_start(f, target, size)
                    if cut < size and (not cuts or cuts[-1][0] != index or cuts[-1][1] < cut):
                        cuts.append((index, cut))
        file_start += size
    shards = []
    current = []
    position = (0, 0)
    for cut in cuts + [(len(paths), 0)]:
        for index in range(position[0], min(cut[0] + 1, len(paths))):
            start = position[1] if index == position[0] else 0
            end = cut[1] if index == cut[0] else sizes[index]
            if end > start:
                current.append(Piece(paths[index], start, end))
        if current:
            shards.append(current)
        current = []
        position = cut
    return shards


def read_shard(pieces: Sequence[Piece], on_decode_error: str) -> tuple[list[str], int]:
    """Reads and decodes a shard's pieces into lines; a blank line separates documents and pieces of different files.

    Returns:
        The lines (without newlines) and the number of invalid UTF-8 sequences that were replaced.
    """
    lines = []
    num_errors = 0
    for piece in pieces:
        with tf.io.gfile.GFile(piece.path, "rb") as f:
            f.seek(piece.start)
            raw = f.read(piece.end - piece.start)
        text, errors = decode(raw, piece.path, piece.start, on_decode_error)
        num_errors += errors
        lines.extend(text.split("\n"))
        lines.append("")
    return lines, num_errors
