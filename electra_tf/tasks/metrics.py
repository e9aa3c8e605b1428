"""GLUE's scores, computed on whole evaluation sets (numpy in, float out).

- `mcc`: Matthews correlation (CoLA), from the confusion matrix; the multi-class form (Gorodkin 2004) reduces to
  the binary one for two labels. There is no scipy function for it and scikit-learn is too heavy a dependency for
  one formula, so it is here, tested against hand-computed values.
- `f1`: F1 of label id 1 (MRPC, QQP: "equivalent", "duplicate").
- `accuracy`.
- `pearson`, `spearman`: scipy.stats (STS-B).

A score that is undefined (a constant prediction has no correlation) is reported as 0.0, as GLUE's own scorer does.
"""

import numpy as np
from scipy import stats

CLASSIFICATION_METRICS = ("accuracy", "f1", "mcc")
REGRESSION_METRICS = ("pearson", "spearman")


def accuracy(labels, predictions) -> float:
    labels, predictions = _check(labels, predictions)
    return float(np.mean(labels == predictions))


def f1(labels, predictions, positive: int = 1) -> float:
    labels, predictions = _check(labels, predictions)
    true_positive = np.sum((predictions == positive) & (labels == positive))
    predicted = np.sum(predictions == positive)
    actual = np.sum(labels == positive)
    if predicted + actual == 0:
        return 0.0
    return float(2.0 * true_positive / (predicted + actual))


def mcc(labels, predictions) -> float:
    labels, predictions = _check(labels, predictions)
    classes = np.union1d(labels, predictions)
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=np.float64)
    for label, prediction in zip(labels, predictions):
        confusion[index[label], index[prediction]] += 1
    n = confusion.sum()
    correct = np.trace(confusion)
    true_counts = confusion.sum(axis=1)
    predicted_counts = confusion.sum(axis=0)
    numerator = correct * n - np.dot(true_counts, predicted_counts)
    denominator = np.sqrt(n * n - np.dot(predicted_counts, predicted_counts)) * np.sqrt(
        n * n - np.dot(true_counts, true_counts)
    )
    return float(numerator / denominator) if denominator > 0 else 0.0


def pearson(labels, predictions) -> float:
    labels, predictions = _check(labels, predictions, float)
    if np.std(labels) == 0 or np.std(predictions) == 0:
        return 0.0
    return float(stats.pearsonr(labels, predictions)[0])


def spearman(labels, predictions) -> float:
    labels, predictions = _check(labels, predictions, float)
    if np.all(labels == labels[0]) or np.all(predictions == predictions[0]):
        return 0.0
    return float(stats.spearmanr(labels, predictions)[0])


METRICS = {"accuracy": accuracy, "f1": f1, "mcc": mcc, "pearson": pearson, "spearman": spearman}


def check_metric(name: str, kind: str, num_labels: int) -> None:
    """Raises ValueError unless metric `name` suits a task of `kind` with `num_labels` labels."""
    allowed = REGRESSION_METRICS if kind == "regression" else CLASSIFICATION_METRICS
    if name not in allowed:
        raise ValueError(f"Metric {name!r} does not suit a {kind} task; choose from {allowed}.")
    if name == "f1" and num_labels != 2:
        raise ValueError(f"Metric 'f1' is defined here for two labels, but the task has {num_labels}.")


def compute(names, labels, predictions) -> dict:
    """Returns {name: score} for each metric in `names`."""
    return {name: METRICS[name](labels, predictions) for name in names}


def _check(labels, predictions, dtype=None):
    labels = np.asarray(labels, dtype=dtype)
    predictions = np.asarray(predictions, dtype=dtype)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(
            "labels and predictions must be 1-D and of one length, but have shapes "
            f"{labels.shape} and {predictions.shape}."
        )
    if labels.size == 0:
        raise ValueError("Cannot score an empty evaluation set.")
    return labels, predictions
