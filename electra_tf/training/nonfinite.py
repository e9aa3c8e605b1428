"""The non-finite guard: a NaN or Inf loss or gradient stops pre-training before anything is saved.

`ElectraPretrainer.train_step` checks the global loss and the global gradient norm after the all-reduce. A
non-finite step applies zero gradients, so the weights in memory stay finite, and counts itself in the
`nonfinite_steps` metric. The guard reads that count after every compiled call (every step, or every
`steps_per_execution` steps), which is at least as often as the progress log, and raises `NonFiniteLossError`. The
raise happens before the checkpoint callback runs, so the last good checkpoint is never overwritten.

Under mixed_float16 loss scaling an overflowing gradient is routine (the optimizer lowers the scale and skips the
step), so only the loss is checked there.
"""

from typing import Callable, Optional

import keras
import tensorflow as tf

from electra_tf import errors
from electra_tf.models.electra_pretrainer import NONFINITE_METRIC as METRIC


class NonFiniteLossError(errors.RunFailedError):
    """Training produced a non-finite loss or gradient."""


def check(
    logs: Optional[dict], step: int, last_checkpoint: Callable[[], Optional[str]], previous_step: Optional[int] = None
) -> None:
    """Raises `NonFiniteLossError` if `logs` count a non-finite step.

    Args:
        logs: the step function's logs, holding `nonfinite_steps`.
        step: int. The global step after the compiled call.
        last_checkpoint: callable returning the newest checkpoint on disk, or None. Called only to word the error,
            so that a healthy step does not list the checkpoint folder.
        previous_step: int or None. The global step before the call, when it ran several steps.
    """
    if not logs or float(logs.get(METRIC, 0.0)) <= 0:
        return
    last_checkpoint = last_checkpoint()
    where = (
        f"step {step}" if previous_step is None or previous_step >= step - 1 else f"steps {previous_step + 1}-{step}"
    )
    loss = logs.get("loss")
    shown = f" (running loss {float(loss):.4g})" if loss is not None else ""
    restart = (
        f"The last good checkpoint is {last_checkpoint}; it was not overwritten, and a restart with the same "
        "--model_dir resumes from it."
        if last_checkpoint
        else "No checkpoint had been written yet."
    )
    raise NonFiniteLossError(
        f"Training stopped: a non-finite loss or gradient at {where}{shown}. {restart} Common causes: a learning rate "
        "too high for the batch size, a warmup too short, or mixed_float16 without loss scaling; try a lower "
        "learning rate or mixed_bfloat16."
    )


class NonFiniteGuard(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` at the end of the first compiled call that saw a non-finite step.

    Args:
        checkpoint_dir: str. The folder whose latest checkpoint the message names.
        step_variable: the optimizer's iteration counter.
    """

    def __init__(self, checkpoint_dir: str, step_variable):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.step_variable = step_variable
        self._previous = None

    def on_train_begin(self, logs=None):
        self._previous = int(self.step_variable.numpy())

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.step_variable.numpy())
        check(logs, step, lambda: tf.train.latest_checkpoint(self.checkpoint_dir), self._previous)
        self._previous = step
