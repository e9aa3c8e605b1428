"""What a fine-tuning task is: where its files are, which columns hold what, its labels and its metrics.

A `Task` is plain data, so users can describe their own TSV or CSV tasks in a JSON file (see `registry.py`) instead
of editing package code.
"""

import dataclasses
from typing import Optional

from electra_tf.tasks import metrics as metrics_lib

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclasses.dataclass(frozen=True)
class Columns:
    """Where the fields of one file format are. Indices count from 0; negative ones count from the end.

    Args:
        text_a: int. Column of the first text.
        text_b: int or None. Column of the second text, for pair tasks.
        label: int or None. Column of the label; None for unlabelled (test) files.
        index: int or None. Column of the example id written into predictions; None numbers rows from 0.
        num_columns: int. Columns every row must have.
        header: bool. Whether the first line is a header. A header line is checked, not just dropped: a file
            without one would otherwise lose its first example without a word.
        header_names: dict or None. The header's names of the columns read, by role ("text_a", "text_b", "label",
            "index"), compared with the file's first line. None checks only that, in labelled files, the first
            line's label field is not a valid label (which would make the line an example, not a header).
    """

    text_a: int
    text_b: Optional[int] = None
    label: Optional[int] = None
    index: Optional[int] = None
    num_columns: int = 2
    header: bool = True
    header_names: Optional[dict] = None

    def __post_init__(self):
        for name in ("text_a", "text_b", "label", "index"):
            value = getattr(self, name)
            if value is not None and not -self.num_columns <= value < self.num_columns:
                raise ValueError(f"Column {name}={value} is outside a {self.num_columns}-column row.")
        for role in self.header_names or {}:
            if role not in ("text_a", "text_b", "label", "index") or getattr(self, role) is None:
                raise ValueError(f"header_names names {role!r}, which is not a column this format reads.")


@dataclasses.dataclass(frozen=True)
class Task:
    """A sentence(-pair) classification or regression task read from delimited text files.

    Args:
        name: str. Registry name, e.g. "cola".
        kind: str. "classification" or "regression".
        labels: tuple of str. Label values as written in the files, in label-id order; empty for regression.
        metrics: tuple of str. Names from `metrics.METRICS`; the first is the task's main score.
        files: dict split -> file name under `<data_dir>/<directory>/`. "train", "dev" and "test" are the usual
            splits; MNLI adds "dev_mismatched".
        labelled: `Columns` of labelled files (train and dev).
        unlabelled: `Columns` of unlabelled files (test), or None when test files are labelled alike.
        split_columns: dict split -> `Columns`, for splits laid out unlike the rest (MNLI's dev files have 16
            columns, its train file 12). Defaults to None.
        directory: str. Folder under `data_dir`; defaults to `name`.
        delimiter: str. Field separator: "\\t" for TSV, "," for CSV. Defaults to "\\t".
        submission_names: dict split -> GLUE submission file stem (e.g. "test" -> "MNLI-m"). Defaults to
            `{"test": directory}`.
        tfds_name: str or None. TFDS builder name (e.g. "glue/cola"), for the optional TFDS source.
        unordered: bool. Whether the order of a pair carries no meaning (paraphrase, similarity), so that
            fine-tuning may train on both orders of each pair (`FinetuningConfig.double_unordered`). Defaults to
            False.
        target_scale: float. Regression only: the model learns `score / target_scale` and multiplies its output
            back, so predictions are on the file's scale. google-research/electra trains STS-B on scores / 5.
            Defaults to 1.0.
    """

    name: str
    kind: str
    labels: tuple = ()
    metrics: tuple = ("accuracy",)
    files: dict = dataclasses.field(
        default_factory=lambda: {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    )
    labelled: Columns = dataclasses.field(default_factory=lambda: Columns(text_a=0, label=1))
    unlabelled: Optional[Columns] = None
    split_columns: Optional[dict] = None
    directory: Optional[str] = None
    delimiter: str = "\t"
    submission_names: Optional[dict] = None
    tfds_name: Optional[str] = None
    unordered: bool = False
    target_scale: float = 1.0

    def __post_init__(self):
        if self.kind not in (CLASSIFICATION, REGRESSION):
            raise ValueError(f"Task {self.name!r}: kind must be 'classification' or 'regression', not {self.kind!r}.")
        if self.kind == CLASSIFICATION and len(self.labels) < 2:
            raise ValueError(f"Task {self.name!r}: a classification task needs at least 2 labels, got {self.labels!r}.")
        if self.kind == REGRESSION and self.labels:
            raise ValueError(f"Task {self.name!r}: a regression task has no labels, got {self.labels!r}.")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"Task {self.name!r}: labels repeat: {self.labels!r}.")
        if self.labelled.label is None:
            raise ValueError(f"Task {self.name!r}: the labelled columns need a label column.")
        if not self.target_scale > 0 or (self.target_scale != 1.0 and not self.is_regression):
            raise ValueError(
                f"Task {self.name!r}: target_scale must be positive, and differ from 1 only for regression, but "
                "received "
                f"target_scale={self.target_scale!r} for kind={self.kind!r}."
            )
        if self.unordered and self.labelled.text_b is None:
            raise ValueError(f"Task {self.name!r}: unordered=True needs sentence pairs, but it has no text_b column.")
        if not self.metrics:
            raise ValueError(f"Task {self.name!r}: give at least one metric.")
        for metric in self.metrics:
            metrics_lib.check_metric(metric, self.kind, len(self.labels))
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "metrics", tuple(self.metrics))

    @property
    def is_regression(self) -> bool:
        return self.kind == REGRESSION

    @property
    def num_outputs(self) -> int:
        """Width of the model's head: one score for regression, one logit per label otherwise."""
        return 1 if self.is_regression else len(self.labels)

    @property
    def is_pair(self) -> bool:
        return self.labelled.text_b is not None

    @property
    def folder(self) -> str:
        return self.directory or self.name

    @property
    def main_metric(self) -> str:
        return self.metrics[0]

    def columns(self, split: str) -> Columns:
        """The column layout of `split`'s file."""
        if self.split_columns and split in self.split_columns:
            return self.split_columns[split]
        if split.startswith("test") and self.unlabelled is not None:
            return self.unlabelled
        return self.labelled

    def submission_name(self, split: str) -> str:
        names = self.submission_names or {"test": self.folder}
        if split not in names:
            raise ValueError(
                f"Task {self.name!r} has no submission file name for split {split!r}; it has {sorted(names)}."
            )
        return names[split]
