"""google-research/electra's learning-rate schedule: a linear warmup factor times a linear decay to 0."""

import keras


@keras.saving.register_keras_serializable(package="electra_tf")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """google-research/electra's schedule: `lr * max(0, 1 - step / total_steps) * min(1, step / warmup_steps)`.

    A linear decay from step 0 to 0 at `total_steps`, times a linear warmup factor: the product of the two, not a
    switch from one to the other, so during warmup the rate is `lr * (step / warmup) * (1 - step / total)` and at
    the end of warmup it is `lr * (1 - warmup / total)`. The rate of the first update (step 0) is 0 when there is
    warmup. With `warmup_steps` 0 there is no warmup factor.

    Args:
        learning_rate: float. Peak rate.
        warmup_steps: int or float. In updates; google-research/electra uses `warmup_fraction * total_steps`
            unrounded. 0 disables warmup.
        total_steps: int. In updates.
        batches_per_update: int. With gradient accumulation, Keras calls the schedule with its batch counter, not
            its update counter (`optimizer.iterations`); the schedule divides it back into updates. Defaults to 1.
    """

    def __init__(self, learning_rate, warmup_steps, total_steps, batches_per_update=1):
        self.learning_rate = learning_rate
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.batches_per_update = batches_per_update

    def __call__(self, step):
        if self.batches_per_update > 1:
            step = keras.ops.floor_divide(step, self.batches_per_update)
        step = keras.ops.cast(step, "float32")
        rate = self.learning_rate * keras.ops.maximum(0.0, 1.0 - step / float(max(1, self.total_steps)))
        if self.warmup_steps > 0:
            rate = rate * keras.ops.minimum(1.0, step / float(self.warmup_steps))
        return rate

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "batches_per_update": self.batches_per_update,
        }
