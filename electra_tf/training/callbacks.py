"""Keras callbacks of the pre-training run: checkpoints, stopping at the step budget, progress and TensorBoard."""

import json
import os
import time

import keras
import tensorflow as tf
from absl import logging

from electra_tf import io_utils
from electra_tf.models.electra_pretrainer import NONFINITE_METRIC


class CheckpointEvery(keras.callbacks.Callback):
    """Saves a `tf.train.CheckpointManager` checkpoint at each epoch end (an epoch is `checkpoint_every` steps) and
    when training ends, numbered by the global step."""

    def __init__(self, manager: tf.train.CheckpointManager, step_variable):
        super().__init__()
        self.manager = manager
        self.step_variable = step_variable

    def _save(self):
        step = int(self.step_variable.numpy())
        if self.manager.latest_checkpoint is None or not self.manager.latest_checkpoint.endswith(f"-{step}"):
            self.manager.save(checkpoint_number=step)

    def on_epoch_end(self, epoch, logs=None):
        self._save()

    def on_train_end(self, logs=None):
        self._save()


class StepReader:
    """The optimizer's global step, read afresh at every `numpy()`.

    Under gradient accumulation Keras's `optimizer.iterations` is not a variable but a new tensor at each read
    (`_iterations // k`): a callback holding one would see the step it was created at for the whole run.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def numpy(self):
        return self.optimizer.iterations.numpy()


KEPT_DIR = "kept"
COMPLETE_FILE = "COMPLETE"


def kept_checkpoint_prefix(checkpoint_dir: str, step: int) -> str:
    """Where the kept checkpoint of `step` lives (`tf.train.Checkpoint.read`/`restore` take this prefix)."""
    return os.path.join(checkpoint_dir, KEPT_DIR, f"ckpt-{step}", "ckpt")


def has_kept_checkpoint(checkpoint_dir: str, step: int) -> bool:
    return tf.io.gfile.exists(
        os.path.join(os.path.dirname(kept_checkpoint_prefix(checkpoint_dir, step)), COMPLETE_FILE)
    )


def pending_kept_steps(steps, restored_step: int) -> set:
    """The kept steps a run starting at `restored_step` writes: those after it. Kept checkpoints already past it
    belong to the interrupted path and are removed by `remove_kept_after`. The set depends only on the config and
    the restored step, so every worker computes the same one and all take part in the same writes."""
    return {step for step in steps if step > restored_step}


def remove_kept_after(checkpoint_dir: str, restored_step: int) -> None:
    """Deletes kept checkpoints of steps after `restored_step`: the resumed run will write its own (after a
    non-finite stop it takes another path, so the old ones would not be its checkpoints)."""
    for folder in tf.io.gfile.glob(os.path.join(checkpoint_dir, KEPT_DIR, "ckpt-*")):
        step = os.path.basename(folder.rstrip("/"))[len("ckpt-") :]
        if step.isdigit() and int(step) > restored_step:
            logging.warning("Removing %s: it lies after the step the run resumes from (%d).", folder, restored_step)
            tf.io.gfile.rmtree(folder)


def write_kept_checkpoint(checkpoint: tf.train.Checkpoint, checkpoint_dir: str, step: int) -> None:
    """Writes the checkpoint of `step` into its kept folder (replacing what is there), then a `COMPLETE` marker: a
    write cut short by a kill has no marker."""
    prefix = kept_checkpoint_prefix(checkpoint_dir, step)
    folder = os.path.dirname(prefix)
    if tf.io.gfile.exists(folder):
        tf.io.gfile.rmtree(folder)
    checkpoint.write(prefix)
    io_utils.write_text_atomic(os.path.join(folder, COMPLETE_FILE), f"{step}\n")


class KeepCheckpointsAt(keras.callbacks.Callback):
    """Writes a kept checkpoint (`write_kept_checkpoint`) when the global step reaches one of `steps`. Listed before
    `CheckpointEvery`, so a periodic save at the same step comes after the kept one."""

    def __init__(self, checkpoint: tf.train.Checkpoint, checkpoint_dir: str, steps, step_variable):
        super().__init__()
        self.checkpoint = checkpoint
        self.checkpoint_dir = checkpoint_dir
        self.steps = set(steps)  # The pending ones (`pending_kept_steps`).
        self.step_variable = step_variable

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step_variable.numpy())
        if step in self.steps:
            write_kept_checkpoint(self.checkpoint, self.checkpoint_dir, step)


class StopAtStep(keras.callbacks.Callback):
    """Stops `fit` once the global step reaches `total_steps`."""

    def __init__(self, total_steps: int, step_variable):
        super().__init__()
        self.total_steps = total_steps
        self.step_variable = step_variable

    def on_train_batch_end(self, batch, logs=None):
        if int(self.step_variable.numpy()) >= self.total_steps:
            self.model.stop_training = True


class TrainingLogger(keras.callbacks.Callback):
    """At every multiple of `log_every` steps (and the last step): a progress line (step, metrics, tokens/s, ETA) and
    TensorBoard scalars (metrics, learning rate, tokens/s). Writes the resolved configuration as TensorBoard text at
    the start.

    Each logged metric is the mean over the steps since the previous log line (or the last checkpoint, where Keras
    resets them at each epoch), not `fit`'s running mean since the epoch began: the logger resets the model's metrics
    after every line. A running mean over a long epoch lags the model by hundreds of steps and hides plateaus.

    Args:
        log_dir: str or None. TensorBoard folder; None writes no summaries (non-chief workers).
        total_steps: int.
        tokens_per_step: int. Global batch size x sequence length.
        log_every: int.
        config_json: str. The resolved configuration.
        step_variable: the optimizer's iteration counter.
        learning_rate: callable step -> rate.
        flops_per_step: int. Analytical training FLOPs, reported once.
        history_path: str or None. A JSON-lines file that keeps every training and evaluation record across resumed
            invocations: records from steps after the restored one (work the resume redoes) are dropped at start.
            None keeps only this invocation's records. Defaults to None.
    """

    def __init__(
        self,
        log_dir,
        total_steps,
        tokens_per_step,
        log_every,
        config_json,
        step_variable,
        learning_rate,
        flops_per_step,
        history_path=None,
    ):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir) if log_dir else None
        self.total_steps = total_steps
        self.tokens_per_step = tokens_per_step
        self.log_every = log_every
        self.config_json = config_json
        self.step_variable = step_variable
        self.learning_rate = learning_rate
        self.flops_per_step = flops_per_step
        self.history_path = history_path
        self.history = []  # Training records.
        self.eval_history = []  # Held-out evaluations (periodic and final).
        if history_path:
            self._load_history(int(step_variable.numpy()))

    def _load_history(self, restored_step: int) -> None:
        self._records = []
        if tf.io.gfile.exists(self.history_path):
            with tf.io.gfile.GFile(self.history_path) as f:
                for line in f:
                    try:
                        self._records.append(json.loads(line))
                    except json.JSONDecodeError:  # A line cut short (written by an older, appending version).
                        continue
        self._records = [r for r in self._records if r.get("step", 0) <= restored_step]
        self.history = [r["record"] for r in self._records if r.get("kind") == "train"]
        evaluations = {r["step"]: r["record"] for r in self._records if r.get("kind") == "eval"}  # The last per step.
        self.eval_history = [evaluations[s] for s in sorted(evaluations)]
        self._write_history()

    def _write_history(self) -> None:
        # The whole file, atomically (through tf.io.gfile, so a gs:// model_dir works; GCS has no append).
        io_utils.write_text_atomic(self.history_path, "".join(json.dumps(r) + "\n" for r in self._records))

    def _append(self, kind: str, record: dict) -> None:
        # Kept in memory and written at checkpoints, evaluations and the end: lines after the last checkpoint are
        # dropped on resume anyway, and rewriting the file at every line would cost quadratic I/O on long runs.
        if self.history_path:
            self._records.append({"kind": kind, "step": record["step"], "record": record})

    def on_epoch_end(self, epoch, logs=None):
        if self.history_path:
            self._write_history()

    def on_train_end(self, logs=None):
        if self.history_path:
            self._write_history()

    def on_train_begin(self, logs=None):
        self._last_time = time.perf_counter()
        self._last_step = int(self.step_variable.numpy())
        self._start_step = self._last_step
        if self.writer:
            with self.writer.as_default():
                tf.summary.text("config", f"```\n{self.config_json}\n```", step=self._last_step)
                tf.summary.scalar("flops_per_step", float(self.flops_per_step), step=self._last_step)
        logging.info(
            "Training from step %d to %d; %.3e FLOPs per step.", self._last_step, self.total_steps, self.flops_per_step
        )

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step_variable.numpy())
        if step // self.log_every == self._last_step // self.log_every and step < self.total_steps:
            return
        now = time.perf_counter()
        tokens_per_second = (step - self._last_step) * self.tokens_per_step / max(now - self._last_time, 1e-9)
        remaining = (self.total_steps - step) * self.tokens_per_step / max(tokens_per_second, 1e-9)
        self._last_step, self._last_time = step, now
        values = {k: float(v) for k, v in (logs or {}).items() if k != NONFINITE_METRIC}
        learning_rate = float(self.learning_rate(step))
        record = {"step": step, "tokens_per_second": tokens_per_second, "learning_rate": learning_rate, **values}
        self.history.append(record)
        self._append("train", record)
        shown = " ".join(f"{k}={v:.4g}" for k, v in sorted(values.items()))
        print(
            f"step {step}/{self.total_steps} {shown} lr={learning_rate:.3g} "
            f"{tokens_per_second:,.0f} tokens/s ETA {remaining / 60:.1f} min",
            flush=True,
        )
        if self.writer:
            with self.writer.as_default():
                for name, value in record.items():
                    if name != "step":
                        tf.summary.scalar(f"train/{name}", value, step=step)
            self.writer.flush()
        if self.model is not None:
            for metric in self.model.metrics:
                metric.reset_state()

    def on_test_end(self, logs=None):
        if not logs:
            return
        step = int(self.step_variable.numpy())
        record = {"step": step, **{k: float(v) for k, v in logs.items()}}
        if self.eval_history and self.eval_history[-1]["step"] == step:
            self.eval_history[-1] = record  # The final evaluation at a step the periodic one also evaluated.
        else:
            self.eval_history.append(record)
        self._append("eval", record)
        if self.history_path:
            self._write_history()
        print(
            f"eval at step {step}: " + " ".join(f"{k}={v:.4g}" for k, v in sorted(record.items()) if k != "step"),
            flush=True,
        )
        if self.writer:
            with self.writer.as_default():
                for name, value in logs.items():
                    tf.summary.scalar(f"eval/{name}", float(value), step=step)
            self.writer.flush()
