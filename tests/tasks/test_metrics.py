"""GLUE metrics against hand-computed values, and against Keras's metrics where Keras has one."""

import keras
import numpy as np
import pytest

from electra_tf.tasks import metrics

LABELS = [1, 1, 0, 0, 1]
PREDICTIONS = [1, 0, 0, 1, 1]  # TP 2, FN 1, TN 1, FP 1.


def test_binary_metrics_by_hand():
    assert metrics.accuracy(LABELS, PREDICTIONS) == pytest.approx(3 / 5)
    assert metrics.f1(LABELS, PREDICTIONS) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 1) / sqrt(3 * 3 * 2 * 2)
    assert metrics.mcc(LABELS, PREDICTIONS) == pytest.approx(1 / 6)


def test_mcc_edge_cases():
    assert metrics.mcc([0, 1, 0, 1], [0, 1, 0, 1]) == pytest.approx(1.0)
    assert metrics.mcc([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    assert metrics.mcc([0, 1, 0, 1], [1, 1, 1, 1]) == 0.0  # A constant prediction has no correlation.


def test_multiclass_mcc_by_hand():
    # Confusion (rows true, columns predicted): [[2, 0, 0], [0, 1, 1], [1, 0, 1]]; n = 6, correct = 4.
    labels = [0, 0, 1, 1, 2, 2]
    predictions = [0, 0, 1, 2, 0, 2]
    t = np.array([2, 2, 2])
    p = np.array([3, 1, 2])
    expected = (4 * 6 - t @ p) / (np.sqrt(36 - p @ p) * np.sqrt(36 - t @ t))
    assert metrics.mcc(labels, predictions) == pytest.approx(expected)


def test_correlations_by_hand():
    # x - mean = [-1, 0, 1], y - mean = [-1, 1, 0]: r = 1 / sqrt(2 * 2).
    assert metrics.pearson([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]) == pytest.approx(0.5)
    assert metrics.spearman([1.0, 2.0, 3.0], [10.0, 30.0, 20.0]) == pytest.approx(0.5)
    assert metrics.spearman([1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 9.0, 16.0]) == pytest.approx(1.0)
    assert metrics.pearson([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0


def test_agree_with_keras_metrics():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    predictions = np.where(rng.random(200) < 0.7, labels, 1 - labels)
    accuracy = keras.metrics.Accuracy()
    accuracy.update_state(labels, predictions)
    assert metrics.accuracy(labels, predictions) == pytest.approx(float(accuracy.result()), abs=1e-6)
    f1 = keras.metrics.F1Score(average=None, threshold=0.5)
    f1.update_state(np.eye(2)[labels].astype("float32"), np.eye(2)[predictions].astype("float32"))
    assert metrics.f1(labels, predictions) == pytest.approx(float(f1.result()[1]), abs=1e-5)
    scores = rng.random(200).astype("float32")
    targets = (scores + 0.3 * rng.random(200)).astype("float32")
    pearson = keras.metrics.PearsonCorrelation(axis=0)
    pearson.update_state(targets, scores)
    assert metrics.pearson(targets, scores) == pytest.approx(float(pearson.result()), abs=1e-4)


def test_metric_checks():
    with pytest.raises(ValueError, match="does not suit"):
        metrics.check_metric("spearman", "classification", 2)
    with pytest.raises(ValueError, match="two labels"):
        metrics.check_metric("f1", "classification", 3)
    with pytest.raises(ValueError, match="one length"):
        metrics.accuracy([1, 0], [1])
    assert metrics.compute(("accuracy", "f1"), LABELS, PREDICTIONS).keys() == {"accuracy", "f1"}
