"""File helpers: glob expansion with clear errors, and atomic writes (temporary name, then rename).

Everything goes through `tf.io.gfile`, so `gs://` paths work where TensorFlow's filesystem plugins are present.
"""

import contextlib
import json
import os
import uuid
from typing import Iterator, Sequence

import tensorflow as tf


def expand_inputs(patterns: Sequence[str], what: str = "input") -> list[str]:
    """Expands files and globs into a sorted, de-duplicated list of files.

    Args:
        patterns: list of str. File paths or glob patterns.
        what: str. What the files are, for error messages.

    Returns:
        The matching files, sorted.

    Raises:
        ValueError: if no pattern is given.
        FileNotFoundError: naming the first pattern that matches no file.
    """
    if not patterns:
        raise ValueError(f"No {what} files were given. Pass at least one file or glob.")
    files = []
    for pattern in patterns:
        matches = [m for m in tf.io.gfile.glob(pattern) if not tf.io.gfile.isdir(m)]
        if not matches:
            raise FileNotFoundError(
                f"The {what} '{pattern}' matches no file. Check the path, or quote the glob so the shell "
                "does not expand it."
            )
        files.extend(matches)
    return sorted(set(files))


def check_output_file(path: str, what: str = "output") -> None:
    """Raises `ValueError` if `path`, where a file is to be written, is a folder; checked before any long work."""
    if tf.io.gfile.isdir(path):
        raise ValueError(
            f"The {what} {path} is a folder, but a file is to be written there. Pass a file path, e.g. "
            f"{os.path.join(path, 'vocab.txt')}."
        )


def check_output_dir(path: str, what: str = "output folder") -> None:
    """Raises `ValueError` if `path`, where a folder is to be written, is a file; checked before any long work."""
    if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
        raise ValueError(f"The {what} {path} is a file, but a folder is to be written there. Pass a folder path.")


def temporary_path(path: str) -> str:
    """Returns a unique sibling of `path` to write to before renaming it into place."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.tmp-{uuid.uuid4().hex[:8]}")


@contextlib.contextmanager
def atomic_output(path: str, mode: str = "w") -> Iterator:
    """Opens a temporary file that replaces `path` only if the block finishes without an error."""
    tmp = temporary_path(path)
    try:
        with tf.io.gfile.GFile(tmp, mode) as f:
            yield f
        tf.io.gfile.rename(tmp, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)


def write_text_atomic(path: str, text: str) -> None:
    """Writes `text` to `path` so that readers see the old file or the whole new one, never a part."""
    with atomic_output(path, "w") as f:
        f.write(text)


def read_json(path: str, what: str = "JSON file"):
    """Parses a JSON file; a missing file or bad JSON is an error naming the path."""
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{what[:1].upper()}{what[1:]} {path} does not exist.")
    with tf.io.gfile.GFile(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}.") from None


@contextlib.contextmanager
def staged_directory(directory: str) -> Iterator[str]:
    """Yields a staging folder that replaces `directory` only if the block finishes; otherwise it is removed and
    `directory` is left as it was."""
    staging = directory.rstrip("/") + f".tmp-{uuid.uuid4().hex[:8]}"
    try:
        tf.io.gfile.makedirs(staging)
        yield staging
        if tf.io.gfile.exists(directory):
            tf.io.gfile.rmtree(directory)
        tf.io.gfile.rename(staging, directory)
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
