"""AdamW as google-research/electra runs it: optional bias correction, and each variable's update one kernel.

google-research/electra's `AdamWeightDecayOptimizer` does not correct Adam's moments for their zero start: its step is
`lr * m / (sqrt(v) + epsilon)`, where Keras's Adam steps `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) +
epsilon)`. Its first steps are therefore larger than Keras's by `(1 - beta_1^t) / sqrt(1 - beta_2^t)` (about 3.2 at
t = 1), a difference that fades over a few thousand steps. `bias_correction` chooses between the two.

Weight decay skips LayerNorm parameters and biases, as in google-research/electra. Global-norm clipping is done by
`ElectraPretrainer` after the gradient all-reduce, not by the optimizer: Keras clips each replica's gradient before
the all-reduce, which is not the global norm.
"""

import keras
import tensorflow as tf

from electra_tf.optimizers import keras_internals

# Substrings of variable paths that weight decay skips: LayerNorm scales/offsets and all biases.
NO_DECAY = ("gamma", "beta", "bias")


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
                learning_rate = uncorrected_rate(
                    learning_rate, self.iterations, self.beta_1, self.beta_2, variable.dtype
                )
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        learning_rate = tf.cast(learning_rate, dtype)
        if self.weight_decay is not None and keras_internals.decays(self, variable):
            variable.assign_sub(variable * (tf.cast(self.weight_decay, dtype) * learning_rate))
        momentum, velocity = keras_internals.adam_slot_handles(self, variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        if self.bias_correction:
            step = tf.cast(self.iterations + 1, dtype)
            beta_1_power, beta_2_power = tf.pow(beta_1, step), tf.pow(beta_2, step)
        else:  # The kernel's lr * sqrt(1 - beta_2_power) / (1 - beta_1_power) is then lr.
            beta_1_power = beta_2_power = tf.zeros([], dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=momentum,
            v=velocity,
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
