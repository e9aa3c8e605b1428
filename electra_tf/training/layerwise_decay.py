"""Layer-wise learning-rate decay (LLRD) for fine-tuning, as the ELECTRA paper's author corrected it
(google-research/electra#51).

With L encoder layers and decay d, the task head gets lr, encoder layer i (1..L, bottom to top) gets
lr * d ** (L + 1 - i), and the embeddings and the embedding projection get lr * d ** (L + 1). The released code gave
the embeddings d ** L and layer i d ** (L - i), one power too few everywhere below the head.

Scaling gradients would not do this: Adam's update does not change when a gradient is scaled. So the optimizer
multiplies the learning rate per variable, decoupled weight decay included.
"""

import re

import keras
import tensorflow as tf

from electra_tf.training.optimization import NO_DECAY

_LAYER = re.compile(r"transformer_layer_(\d+)/")


def layerwise_multipliers(encoder, head_variables, decay: float) -> dict:
    """Returns {variable path: learning-rate multiplier} for an `ElectraEncoder` and the variables above it.

    Args:
        encoder: `ElectraEncoder`.
        head_variables: variables of the task head (multiplier 1).
        decay: float in (0, 1]. 1 disables the decay.
    """
    if not 0 < decay <= 1:
        raise ValueError(f"layerwise_decay must be in (0, 1], but received {decay}.")
    num_layers = len(encoder.transformer_layers)
    multipliers = {}

    def assign(variables, value):
        for variable in variables:
            if variable.path in multipliers and multipliers[variable.path] != value:
                raise ValueError(f"Variable path {variable.path!r} is not unique; layer-wise decay cannot tell its layer.")
            multipliers[variable.path] = value

    bottom = list(encoder.embeddings.trainable_weights)
    if encoder.embeddings_projection is not None:
        bottom += encoder.embeddings_projection.trainable_weights
    assign(bottom, decay ** (num_layers + 1))
    for i, layer in enumerate(encoder.transformer_layers, start=1):
        assign(layer.trainable_weights, decay ** (num_layers + 1 - i))
    assign(head_variables, 1.0)
    return multipliers


@keras.saving.register_keras_serializable(package="electra_tf")
class LayerwiseAdamW(keras.optimizers.Adam):
    """Adam with decoupled weight decay and a learning-rate multiplier per variable.

    Args:
        lr_multipliers: dict {variable path: multiplier}; unlisted variables get 1. The decay applies to the
            weight decay too, since it is scaled by the learning rate.
        weight_decay: float. Decoupled weight decay; skips LayerNorm parameters and biases. Defaults to 0.0, the
            ELECTRA paper's fine-tuning setting.
        **kwargs: `keras.optimizers.Adam` arguments.
    """

    def __init__(self, lr_multipliers=None, weight_decay=0.0, name="layerwise_adamw", **kwargs):
        super().__init__(name=name, **kwargs)
        self.lr_multipliers = dict(lr_multipliers or {})
        self.decoupled_weight_decay = float(weight_decay)
        self._multipliers = []
        self._decays = []

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._multipliers = [float(self.lr_multipliers.get(v.path, 1.0)) for v in variables]
        self._decays = [self.decoupled_weight_decay > 0 and not any(s in v.path for s in NO_DECAY) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        if isinstance(gradient, tf.IndexedSlices):
            # Keras's Adam applies an embedding's sparse gradient row by row without summing repeated rows, so a
            # token seen twice in a batch gets a larger step than Adam's. Summing first gives Adam's update.
            gradient = tf.convert_to_tensor(gradient)
        learning_rate = keras.ops.cast(learning_rate, variable.dtype) * self._multipliers[index]
        if self._decays[index]:
            self.assign_sub(variable, variable * (self.decoupled_weight_decay * learning_rate))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update(lr_multipliers=self.lr_multipliers, weight_decay=self.decoupled_weight_decay)
        return config
