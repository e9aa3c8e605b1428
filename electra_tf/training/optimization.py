"""Keras optimizers for ELECTRA: AdamW (or LAMB) with linear warmup and linear decay to 0, as google-research/electra.

google-research/electra's `AdamWeightDecayOptimizer` does not correct Adam's moments for their zero start: its step is
`lr * m / (sqrt(v) + epsilon)`, where Keras's Adam steps `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) +
epsilon)`. Its first steps are therefore larger than Keras's by `(1 - beta_1^t) / sqrt(1 - beta_2^t)` (about 3.2 at
t = 1), a difference that fades over a few thousand steps. `bias_correction` chooses between the two.

Weight decay skips LayerNorm parameters and biases, as in google-research/electra. Global-norm clipping is done by
`ElectraPretrainer` after the gradient all-reduce, not by the optimizer: Keras clips each replica's gradient before
the all-reduce, which is not the global norm.
"""

import dataclasses
from typing import Optional

import keras
import tensorflow as tf

OPTIMIZERS = ("adamw", "lamb")
# What each optimizer does when `bias_correction` is None: its reference implementation's behaviour.
# google-research/electra's AdamW does not bias-correct; Keras's LAMB always does.
REFERENCE_BIAS_CORRECTION = {"adamw": False, "lamb": True}
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
        bias_correction: bool or None. Whether Adam's moments are corrected for their zero start. None follows the
            optimizer's reference: no correction for "adamw" (google-research/electra), correction for "lamb"
            (Keras's LAMB, which cannot turn it off). Defaults to None.
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
    bias_correction: Optional[bool] = None
    gradient_accumulation_steps: int = 1

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer name must be one of {OPTIMIZERS}, but received name={self.name!r}.")
        if self.learning_rate <= 0 or self.warmup_steps < 0 or self.gradient_accumulation_steps < 1:
            raise ValueError(
                "learning_rate must be positive, warmup_steps non-negative and gradient_accumulation_steps at least 1, "
                f"but received {self.learning_rate}, {self.warmup_steps}, {self.gradient_accumulation_steps}."
            )
        if self.name == "lamb" and self.bias_correction is False:
            raise ValueError(
                "Keras's LAMB always corrects Adam's moments for their zero start, but received name='lamb' with "
                "bias_correction=False. Leave bias_correction unset (null) or true, or use name='adamw'."
            )

    @property
    def resolved_bias_correction(self) -> bool:
        """`bias_correction`, with None replaced by the optimizer's reference behaviour."""
        if self.bias_correction is None:
            return REFERENCE_BIAS_CORRECTION[self.name]
        return self.bias_correction


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
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "batches_per_update": self.batches_per_update}


def uncorrected_rate(learning_rate, iterations, beta_1, beta_2, dtype):
    """The rate that makes Keras's (bias-corrected) Adam step equal the uncorrected step `lr * m / (sqrt(v) + eps)`.

    Keras's Adam multiplies its rate by `sqrt(1 - beta_2^t) / (1 - beta_1^t)`, t = iterations + 1; this divides it
    out in advance.

    Args:
        learning_rate: scalar tensor. The rate wanted.
        iterations: scalar tensor. The optimizer's update count before this update.
        beta_1, beta_2: floats. Adam's decay rates.
        dtype: the variable's dtype.

    Returns:
        A scalar tensor of `dtype`.
    """
    step = keras.ops.cast(iterations + 1, dtype)
    beta_1_power = keras.ops.power(keras.ops.cast(beta_1, dtype), step)
    beta_2_power = keras.ops.power(keras.ops.cast(beta_2, dtype), step)
    return keras.ops.cast(learning_rate, dtype) * (1 - beta_1_power) / keras.ops.sqrt(1 - beta_2_power)


@keras.saving.register_keras_serializable(package="electra_tf")
class FusedAdamW(keras.optimizers.AdamW):
    """Keras's AdamW with google-research/electra's optional bias correction, each variable's update one kernel.

    Keras runs Adam as about ten element-wise ops per variable, and its weight decay evaluates the learning-rate
    schedule once per variable. Here each variable gets its decay (`var -= var * weight_decay * lr`, before the Adam
    step, as Keras orders them) and then `ResourceApplyAdam`: `m`, `v` as exponential means, and
    `var -= lr_t * m / (sqrt(v) + epsilon)`, with `lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)` (t = iterations
    + 1) when `bias_correction` is on (Keras's AdamW, value for value) and `lr_t = lr` when it is off
    (google-research/electra's `AdamWeightDecayOptimizer`). The decay before the step equals google-research/electra's
    `update += weight_decay * var`, since the Adam step does not read `var`. The learning rate is the one Keras
    evaluates once per step. Other backends and `amsgrad` use Keras's own step, with the rate rescaled when
    `bias_correction` is off.

    Args:
        bias_correction: bool. Whether Adam's moments are corrected for their zero start. Defaults to False
            (google-research/electra).
        **kwargs: `keras.optimizers.AdamW` arguments.
    """

    def __init__(self, *args, bias_correction: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.bias_correction = bool(bias_correction)

    def _fused(self) -> bool:
        return keras.backend.backend() == "tensorflow" and not self.amsgrad

    def _apply_weight_decay(self, variables):
        if not self._fused():
            super()._apply_weight_decay(variables)  # Otherwise `update_step` decays each variable.

    def update_step(self, gradient, variable, learning_rate):
        if not self._fused():
            if not self.bias_correction:
                learning_rate = uncorrected_rate(learning_rate, self.iterations, self.beta_1, self.beta_2, variable.dtype)
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        learning_rate = tf.cast(learning_rate, dtype)
        if self.weight_decay is not None and self._use_weight_decay(variable):
            variable.assign_sub(variable * (tf.cast(self.weight_decay, dtype) * learning_rate))
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        if self.bias_correction:
            step = tf.cast(self.iterations + 1, dtype)
            beta_1_power, beta_2_power = tf.pow(beta_1, step), tf.pow(beta_2, step)
        else:  # The kernel's lr * sqrt(1 - beta_2_power) / (1 - beta_1_power) is then lr.
            beta_1_power = beta_2_power = tf.zeros([], dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=beta_1_power,
            beta2_power=beta_2_power,
            lr=learning_rate,
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )

    def get_config(self):
        config = super().get_config()
        config["bias_correction"] = self.bias_correction
        return config


def create_optimizer(config: OptimizerConfig, total_steps: int, mixed_precision: str = "float32") -> keras.optimizers.Optimizer:
    """Builds the optimizer; wraps it in a `LossScaleOptimizer` under mixed_float16.

    "adamw" is `FusedAdamW` with `config.resolved_bias_correction`; "lamb" is Keras's `Lamb` (always bias-corrected).
    """
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
    if config.name == "adamw":
        optimizer = FusedAdamW(bias_correction=config.resolved_bias_correction, **common)
    else:
        optimizer = keras.optimizers.Lamb(**common)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    if mixed_precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
