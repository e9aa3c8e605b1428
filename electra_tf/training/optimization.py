"""Keras optimizers for ELECTRA: AdamW (or LAMB) with linear warmup then linear decay to 0.

Weight decay skips LayerNorm parameters and biases, as in google-research/electra. Global-norm clipping is done by
`ElectraPretrainer` after the gradient all-reduce, not by the optimizer: Keras clips each replica's gradient before
the all-reduce, which is not the global norm.
"""

import dataclasses

import keras
import tensorflow as tf

OPTIMIZERS = ("adamw", "lamb")
# Substrings of variable paths that weight decay skips: LayerNorm scales/offsets and all biases.
NO_DECAY = ("gamma", "beta", "bias")


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optimization settings.

    Args:
        name: str. "adamw" or "lamb". Defaults to "adamw".
        learning_rate: float. Peak learning rate. Defaults to 5e-4 (ELECTRA-Small).
        warmup_steps: int. Linear warmup from 0. Defaults to 10000.
        weight_decay: float. Decoupled weight decay. Defaults to 0.01.
        beta_1: float. Defaults to 0.9.
        beta_2: float. Defaults to 0.999.
        epsilon: float. Defaults to 1e-6.
        clip_norm: float. Global-norm clipping; 0 disables it. Defaults to 1.0.
        gradient_accumulation_steps: int. Apply the mean gradient of this many batches (Keras's accumulation); a
            step is then one update over that many batches. Each batch's gradient is clipped before it is
            accumulated. Defaults to 1.
    """

    name: str = "adamw"
    learning_rate: float = 5e-4
    warmup_steps: int = 10000
    weight_decay: float = 0.01
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6
    clip_norm: float = 1.0
    gradient_accumulation_steps: int = 1

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer name must be one of {OPTIMIZERS}, but received name={self.name!r}.")
        if self.learning_rate <= 0 or self.warmup_steps < 0 or self.gradient_accumulation_steps < 1:
            raise ValueError(
                "learning_rate must be positive, warmup_steps non-negative and gradient_accumulation_steps at least 1, "
                f"but received {self.learning_rate}, {self.warmup_steps}, {self.gradient_accumulation_steps}."
            )


@keras.saving.register_keras_serializable(package="electra_tf")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr * step / warmup during warmup, then lr * (1 - step / total_steps), reaching 0 at `total_steps`.

    This is google-research/electra's schedule: the decay is computed from step 0, so at the end of warmup the rate
    is lr * (1 - warmup / total).

    Args:
        learning_rate: float. Peak rate.
        warmup_steps: int. In updates.
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
        decayed = self.learning_rate * keras.ops.maximum(0.0, 1.0 - step / float(max(1, self.total_steps)))
        if self.warmup_steps <= 0:
            return decayed
        warmup = self.learning_rate * step / float(self.warmup_steps)
        return keras.ops.where(step < self.warmup_steps, warmup, decayed)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "batches_per_update": self.batches_per_update}


@keras.saving.register_keras_serializable(package="electra_tf")
class FusedAdamW(keras.optimizers.AdamW):
    """Keras's AdamW, with each variable's update as one TensorFlow kernel: the same values and variables.

    Keras runs Adam as about ten element-wise ops per variable, and its weight decay evaluates the learning-rate
    schedule once per variable. Here each variable gets its decay (`var -= var * weight_decay * lr`, before the Adam
    step, as Keras orders them) and then `ResourceApplyAdam`, whose formula is Keras's: `m`, `v` as exponential
    means, and `var -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)` with t = iterations + 1.
    The learning rate is the one Keras evaluates once per step. Other backends and `amsgrad` use Keras's own step.
    """

    def _fused(self) -> bool:
        return keras.backend.backend() == "tensorflow" and not self.amsgrad

    def _apply_weight_decay(self, variables):
        if not self._fused():
            super()._apply_weight_decay(variables)  # Otherwise `update_step` decays each variable.

    def update_step(self, gradient, variable, learning_rate):
        if not self._fused():
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        learning_rate = tf.cast(learning_rate, dtype)
        if self.weight_decay is not None and self._use_weight_decay(variable):
            variable.assign_sub(variable * (tf.cast(self.weight_decay, dtype) * learning_rate))
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=learning_rate,
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


def create_optimizer(config: OptimizerConfig, total_steps: int, mixed_precision: str = "float32") -> keras.optimizers.Optimizer:
    """Builds the optimizer; wraps it in a `LossScaleOptimizer` under mixed_float16."""
    # Keras evaluates a schedule at its batch counter even when it accumulates gradients over several batches.
    schedule = WarmupLinearDecay(config.learning_rate, config.warmup_steps, total_steps, config.gradient_accumulation_steps)
    common = dict(
        learning_rate=schedule,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        weight_decay=config.weight_decay,
        gradient_accumulation_steps=config.gradient_accumulation_steps if config.gradient_accumulation_steps > 1 else None,
    )
    optimizer = FusedAdamW(**common) if config.name == "adamw" else keras.optimizers.Lamb(**common)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    if mixed_precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
