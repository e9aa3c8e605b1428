"""Optimization settings (`OptimizerConfig`) and the optimizer they build (`create_optimizer`)."""

import dataclasses
from typing import Optional

import keras

from electra_tf.optimizers.adamw import NO_DECAY, FusedAdamW
from electra_tf.optimizers.schedules import WarmupLinearDecay

OPTIMIZERS = ("adamw", "lamb")
# What each optimizer does when `bias_correction` is None: its reference implementation's behaviour.
# google-research/electra's AdamW does not bias-correct; Keras's LAMB always does.
REFERENCE_BIAS_CORRECTION = {"adamw": False, "lamb": True}


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


def create_optimizer(
    config: OptimizerConfig, total_steps: int, mixed_precision: str = "float32"
) -> keras.optimizers.Optimizer:
    """Builds the optimizer; wraps it in a `LossScaleOptimizer` under mixed_float16.

    "adamw" is `FusedAdamW` with `config.resolved_bias_correction`; "lamb" is Keras's `Lamb` (always bias-corrected).
    """
    # Keras evaluates a schedule at its batch counter even when it accumulates gradients over several batches.
    schedule = WarmupLinearDecay(
        config.learning_rate, config.warmup_steps, total_steps, config.gradient_accumulation_steps
    )
    common = dict(
        learning_rate=schedule,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        weight_decay=config.weight_decay,
        gradient_accumulation_steps=config.gradient_accumulation_steps
        if config.gradient_accumulation_steps > 1
        else None,
    )
    if config.name == "adamw":
        optimizer = FusedAdamW(bias_correction=config.resolved_bias_correction, **common)
    else:
        optimizer = keras.optimizers.Lamb(**common)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    if mixed_precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
