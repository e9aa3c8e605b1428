"""Reads a task's delimited files into examples, with GLUE's quoting rules.

GLUE files are tab-separated with no quoting: a `"` is part of the text. Reading them with `csv.QUOTE_NONE` keeps a
stray quote from swallowing tabs and shifting columns. A UTF-8 byte-order mark (MRPC's header has one) is dropped.
A malformed row raises `MalformedRowError` naming the file, line and content, or, with `on_error="skip"`, is
skipped and counted.
"""

import csv
import dataclasses
import io
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

from electra_tf.tasks.task import Task

ON_ERROR = ("raise", "skip")


class MalformedRowError(ValueError):
    """A row of a task file that cannot be read."""


@dataclasses.dataclass
class Examples:
    """One split of a task, column-wise.

    Attributes:
        text_a: list of str.
        text_b: list of str, or None for single-sentence tasks.
        labels: int32 label ids or float32 scores, or None for unlabelled splits.
        ids: list of str. Example ids, for prediction files.
        skipped: int. Malformed rows skipped with `on_error="skip"`.
        source: str. The file read.
    """

    text_a: list
    text_b: Optional[list]
    labels: Optional[np.ndarray]
    ids: list
    skipped: int = 0
    source: str = ""

    def __len__(self):
        return len(self.text_a)

    def features(self) -> dict:
        """The texts as a dict of string arrays, the form `ElectraClassifier` takes."""
        features = {"text_a": np.asarray(self.text_a, dtype=object)}
        if self.text_b is not None:
            features["text_b"] = np.asarray(self.text_b, dtype=object)
        return features


def task_file(task: Task, data_dir: str, split: str) -> str:
    if split not in task.files:
        raise ValueError(f"Task {task.name!r} has no split {split!r}; it has {sorted(task.files)}.")
    return os.path.join(data_dir, task.folder, task.files[split])


def read_split(
    task: Task, data_dir: str, split: str, on_error: str = "raise", labelled: Optional[bool] = None
) -> Examples:
    """Reads `<data_dir>/<task folder>/<file of split>`.

    Args:
        task: `Task`.
        data_dir: str. The GLUE root (one folder per task).
        split: str. "train", "dev", "test", or another split of `task.files`.
        on_error: str. "raise" (default) stops at the first malformed row; "skip" skips and counts it.
        labelled: bool or None. Whether the file has labels; None means every split but the "test" ones.
            Defaults to None.

    Returns:
        `Examples`.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, but received {on_error!r}.")
    path = task_file(task, data_dir, split)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"Task {task.name!r} needs {path} for its {split!r} split, and it does not exist. Check --data_dir: it "
            f"should hold a {task.folder}/ folder in the GLUE layout."
        )
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise MalformedRowError(f"{path}:{line}: not valid UTF-8 ({e.reason} at byte {e.start}).") from None
    return parse_rows(task, text, split, path, on_error, labelled)


def parse_rows(
    task: Task, text: str, split: str, source: str, on_error: str = "raise", labelled: Optional[bool] = None
) -> Examples:
    """Parses the contents of one task file; see `read_split`."""
    columns = task.columns(split)
    labelled = not split.startswith("test") if labelled is None else labelled
    if labelled and columns.label is None:
        raise ValueError(f"Task {task.name!r}: the {split!r} split's columns have no label column.")
    label_ids = {label: i for i, label in enumerate(task.labels)}
    text_a, text_b, labels, ids = [], [] if columns.text_b is not None else None, [], []
    skipped = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=task.delimiter, quoting=csv.QUOTE_NONE)
    for row in reader:
        line = reader.line_num
        if columns.header and line == 1:
            _check_header(task, columns, row, source, labelled)
            continue
        if not row or row == [""]:
            continue  # A blank line, such as a trailing newline.
        try:
            if len(row) != columns.num_columns:
                raise MalformedRowError(f"has {len(row)} columns, expected {columns.num_columns}")
            label = _parse_label(task, row[columns.label], label_ids) if labelled else None
        except MalformedRowError as e:
            message = f"{source}:{line}: {e} in {_clip(row)}."
            if on_error == "raise":
                raise MalformedRowError(
                    message + " Fix the file, or pass on_error='skip' (--on_bad_row=skip) to skip and count such rows."
                ) from None
            logging.warning("Skipping %s", message)
            skipped += 1
            continue
        text_a.append(row[columns.text_a])
        if text_b is not None:
            text_b.append(row[columns.text_b])
        if labelled:
            labels.append(label)
        ids.append(row[columns.index] if columns.index is not None else str(len(ids)))
    if skipped:
        logging.warning("%s: skipped %d malformed rows.", source, skipped)
    label_array = None
    if labelled:
        label_array = np.asarray(labels, dtype=np.float32 if task.is_regression else np.int32)
    return Examples(text_a, text_b, label_array, ids, skipped, source)


def _check_header(task: Task, columns, row: list, source: str, labelled: bool) -> None:
    """Refuses a first line that is not the header the task expects: a file without its header would otherwise lose
    its first example, silently."""
    fix = (
        'If the file has no header line, add one, or set "header": false for this split in the task spec '
        "(electra_tf/tasks/registry.py)."
    )
    if columns.header_names:
        found = {
            role: row[getattr(columns, role)] if len(row) == columns.num_columns else None
            for role in columns.header_names
        }
        if found != columns.header_names:
            expected = ", ".join(f"{role} {name!r}" for role, name in columns.header_names.items())
            raise MalformedRowError(
                f"{source}:1: expected {task.name}'s header line (columns {expected}), found {_clip(row)}. {fix}"
            )
        return
    if labelled and columns.label is not None and len(row) == columns.num_columns:
        try:
            _parse_label(task, row[columns.label], {label: i for i, label in enumerate(task.labels)})
        except MalformedRowError:
            return  # Not a label: a header.
        raise MalformedRowError(
            f"{source}:1: the first line holds the label {row[columns.label]!r}, so it is an example, not the header "
            f"line the task expects: {_clip(row)}. {fix}"
        )


def _parse_label(task: Task, value: str, label_ids: dict):
    if task.is_regression:
        try:
            score = float(value)
        except ValueError:
            raise MalformedRowError(f"label {value!r} is not a number") from None
        if not np.isfinite(score):
            raise MalformedRowError(f"label {value!r} is not finite")
        return score
    if value not in label_ids:
        raise MalformedRowError(f"label {value!r} is not one of {list(task.labels)}")
    return label_ids[value]


def _clip(row, limit=200) -> str:
    text = repr("\t".join(row))
    return text if len(text) <= limit else text[:limit] + "...'"
