"""Layer-wise learning-rate decay (LLRD) for fine-tuning: lower rates for layers nearer the input.

With L encoder layers, decay d and encoder layer i numbered 1..L from the bottom, the variables get these multiples
of the head's rate:

| rule | task head | encoder layer i | top layer (i = L) | embeddings and their projection |
|---|---|---|---|---|
| "released" | 1 | d ** (L + 2 - i) | d ** 2 | d ** (L + 2) |
| "corrected" | 1 | d ** (L + 1 - i) | d | d ** (L + 1) |

"released" is what google-research/electra's code does (`_get_layer_lrs`: the head at depth L + 2, layer i at depth
i, the embeddings at depth 0, and each gets d ** (L + 2 - depth)), and so what its published fine-tuning results
used. "corrected" is what its author says was meant (google-research/electra#51): the head counts as one more layer
above the encoder, so the top encoder layer gets lr * d. The released code kept a depth for the pooler that ELECTRA
had before next-sentence prediction was dropped, which puts every layer below the head one power of d lower.

Scaling gradients would not do this: Adam's update does not change when a gradient is scaled. So the optimizer
multiplies the learning rate per variable, decoupled weight decay included.
"""

import keras
import tensorflow as tf

from electra_tf.optimizers import keras_internals
from electra_tf.optimizers.adamw import NO_DECAY, uncorrected_rate

LAYERWISE_RULES = ("released", "corrected")
# The depth the head sits above the top encoder layer, per rule.
_HEAD_GAP = {"released": 2, "corrected": 1}


def layerwise_multipliers(encoder, head_variables, decay: float, rule: str = "released") -> dict:
    """Returns {variable path: learning-rate multiplier} for an `ElectraEncoder` and the variables above it.

    Args:
        encoder: `ElectraEncoder`.
        head_variables: variables of the task head (multiplier 1).
        decay: float in (0, 1]. 1 disables the decay.
        rule: str. "released" (google-research/electra's code: the top encoder layer gets d ** 2) or "corrected"
            (google-research/electra#51: the top encoder layer gets d). Defaults to "released".

    Returns:
        dict {variable path: float}: 1 for the head, `decay ** (L + gap - i)` for encoder layer i (1..L, bottom to
        top) and `decay ** (L + gap)` for the embeddings, with gap 2 ("released") or 1 ("corrected").
    """
    if not 0 < decay <= 1:
        raise ValueError(f"layerwise_decay must be in (0, 1], but received {decay}.")
    if rule not in LAYERWISE_RULES:
        raise ValueError(f"layerwise_rule must be one of {LAYERWISE_RULES}, but received layerwise_rule={rule!r}.")
    num_layers = len(encoder.transformer_layers)
    top = num_layers + _HEAD_GAP[rule]  # The head's depth; the embeddings are at depth 0.
    multipliers = {}

    def assign(variables, value):
        for variable in variables:
            if variable.path in multipliers and multipliers[variable.path] != value:
                raise ValueError(
                    f"Variable path {variable.path!r} is not unique; layer-wise decay cannot tell its layer."
                )
            multipliers[variable.path] = value

    bottom = list(encoder.embeddings.trainable_weights)
    if encoder.embeddings_projection is not None:
        bottom += encoder.embeddings_projection.trainable_weights
    assign(bottom, decay**top)
    for depth, layer in enumerate(encoder.transformer_layers, start=1):
        assign(layer.trainable_weights, decay ** (top - depth))
    assign(head_variables, 1.0)
    return multipliers


@keras.saving.register_keras_serializable(package="electra_tf")
class LayerwiseAdamW(keras.optimizers.Adam):
    """Adam with decoupled weight decay, a learning-rate multiplier per variable and optional bias correction.

    The step of a variable with multiplier k is `var -= k * lr * (m / (sqrt(v) + epsilon) + weight_decay * var)`,
    google-research/electra's `AdamWeightDecayOptimizer`; with `bias_correction`, `m / (sqrt(v) + epsilon)` is
    Keras's bias-corrected Adam step instead.

    Args:
        lr_multipliers: dict {variable path: multiplier}; unlisted variables get 1. The decay applies to the
            weight decay too, since it is scaled by the learning rate.
        weight_decay: float. Decoupled weight decay; skips LayerNorm parameters and biases. Defaults to 0.0.
        bias_correction: bool. Whether Adam's moments are corrected for their zero start. Defaults to False
            (google-research/electra).
        **kwargs: `keras.optimizers.Adam` arguments (e.g. `global_clipnorm`).
    """

    def __init__(self, lr_multipliers=None, weight_decay=0.0, bias_correction=False, name="layerwise_adamw", **kwargs):
        super().__init__(name=name, **kwargs)
        self.lr_multipliers = dict(lr_multipliers or {})
        self.decoupled_weight_decay = float(weight_decay)
        self.bias_correction = bool(bias_correction)
        self._multipliers = []
        self._decays = []

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._multipliers = [float(self.lr_multipliers.get(v.path, 1.0)) for v in variables]
        self._decays = [self.decoupled_weight_decay > 0 and not any(s in v.path for s in NO_DECAY) for v in variables]

    def apply(self, grads, trainable_variables=None):
        # An embedding's gradient comes as sparse rows, a token seen twice in a batch as two rows. Keras's Adam
        # applies them row by row without summing, giving such a token a larger step than Adam's, and Keras's global
        # norm (for `global_clipnorm`) squares the rows unsummed, which is not the gradient's norm. Summing first
        # gives both their dense values, as google-research/electra's TPU runs (one-hot embeddings) had them.
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        index = keras_internals.variable_index(self, variable)
        learning_rate = keras.ops.cast(learning_rate, variable.dtype) * self._multipliers[index]
        if self._decays[index]:
            self.assign_sub(variable, variable * (self.decoupled_weight_decay * learning_rate))
        if not self.bias_correction:
            learning_rate = uncorrected_rate(learning_rate, self.iterations, self.beta_1, self.beta_2, variable.dtype)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update(
            lr_multipliers=self.lr_multipliers,
            weight_decay=self.decoupled_weight_decay,
            bias_correction=self.bias_correction,
        )
        return config
