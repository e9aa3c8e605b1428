"""The progress log: each line is the mean over the steps since the previous line, at multiples of log_every."""

from types import SimpleNamespace

import keras
import pytest
import tensorflow as tf

from electra_tf.training import callbacks


def test_each_line_is_the_mean_of_its_own_window(capsys):
    step = tf.Variable(0, dtype=tf.int64)
    loss = keras.metrics.Mean(name="loss")
    logger = callbacks.TrainingLogger(None, 7, 10, 2, "{}", step, lambda s: 1e-3, 1)
    logger.set_model(SimpleNamespace(metrics=[loss]))
    logger.on_train_begin()
    for value in range(1, 8):  # The loss at step s is s.
        step.assign(value)
        loss.update_state(float(value))
        logger.on_train_batch_end(0, {"loss": loss.result()})
    # Steps 2, 4, 6 and the last one (7); fit's running mean would give 1.5, 2.5, 3.5, 4.
    assert [r["step"] for r in logger.history] == [2, 4, 6, 7]
    assert [r["loss"] for r in logger.history] == pytest.approx([1.5, 3.5, 5.5, 7.0])
    assert "step 4/7 loss=3.5 " in capsys.readouterr().out


def test_lines_fall_on_multiples_of_log_every_after_a_resume():
    step = tf.Variable(25, dtype=tf.int64)
    logger = callbacks.TrainingLogger(None, 100, 10, 10, "{}", step, lambda s: 1e-3, 1)
    logger.set_model(SimpleNamespace(metrics=[]))
    logger.on_train_begin()
    for value in range(26, 46):
        step.assign(value)
        logger.on_train_batch_end(0, {})
    # A run resumed at step 25 logs where the uninterrupted run does.
    assert [r["step"] for r in logger.history] == [30, 40]
