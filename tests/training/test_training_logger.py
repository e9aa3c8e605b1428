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


def test_history_file_keeps_records_across_a_resume_and_drops_redone_steps(tmp_path, capsys):
    path = str(tmp_path / "history.jsonl")
    step = tf.Variable(0, dtype=tf.int64)
    first = callbacks.TrainingLogger(None, 100, 10, 10, "{}", step, lambda s: 1e-3, 1, history_path=path)
    first.set_model(SimpleNamespace(metrics=[]))
    first.on_train_begin()
    for value in range(1, 36):
        step.assign(value)
        first.on_train_batch_end(0, {"loss": float(value)})
        if value == 20:
            first.on_test_end({"mlm_loss_at_mask": 6.5})
    assert "eval at step 20: mlm_loss_at_mask=6.5" in capsys.readouterr().out
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"kind": "train", "step": 3')  # A line cut short by a kill.
    # Killed after step 35; the last checkpoint was at step 20, so steps 21-35 are redone.
    step.assign(20)
    resumed = callbacks.TrainingLogger(None, 100, 10, 10, "{}", step, lambda s: 1e-3, 1, history_path=path)
    assert [r["step"] for r in resumed.history] == [10, 20]
    assert resumed.eval_history == [{"step": 20, "mlm_loss_at_mask": 6.5}]
    resumed.set_model(SimpleNamespace(metrics=[]))
    resumed.on_train_begin()
    for value in range(21, 41):
        step.assign(value)
        resumed.on_train_batch_end(0, {"loss": float(value)})
    resumed.on_test_end({"mlm_loss_at_mask": 6.0})
    resumed.on_test_end({"mlm_loss_at_mask": 5.9})  # The final evaluation at the step of a periodic one replaces it.
    assert [r["step"] for r in resumed.history] == [10, 20, 30, 40]
    assert resumed.eval_history == [{"step": 20, "mlm_loss_at_mask": 6.5}, {"step": 40, "mlm_loss_at_mask": 5.9}]
    again = callbacks.TrainingLogger(None, 100, 10, 10, "{}", step, lambda s: 1e-3, 1, history_path=path)
    assert [r["step"] for r in again.history] == [10, 20, 30, 40]
    assert again.eval_history == resumed.eval_history
