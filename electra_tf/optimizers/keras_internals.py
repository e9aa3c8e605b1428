"""The one place where electra_tf reads Keras optimizers' private state.

`FusedAdamW` runs each variable's Adam update as one `ResourceApplyAdam` kernel, and `LayerwiseAdamW` scales the
rate per variable. Both need what Keras 3 keeps private: a variable's index among the optimizer's variables, and
Adam's first and second moment slots. Keras has no public accessor for either, so they are read here and nowhere
else; `tests/optimizers/test_keras_internals.py` pins them against the Keras version in `setup.py`, so a Keras
upgrade that moves them fails one test, with this module's name in it, instead of training wrongly.

`FusedAdamW` also overrides `keras.optimizers.Optimizer._apply_weight_decay` (the hook Keras calls before the
updates) so that it can decay inside its own update: `DECAY_HOOK` names it for the same test.
"""

import keras

# The private method `FusedAdamW` overrides: Keras calls it with the variables before `update_step`.
DECAY_HOOK = "_apply_weight_decay"


def variable_index(optimizer: keras.optimizers.Optimizer, variable) -> int:
    """The position of `variable` among the variables `optimizer` was built with."""
    return optimizer._get_variable_index(variable)


def adam_slot_handles(optimizer: keras.optimizers.Adam, variable) -> tuple:
    """The resource handles of Adam's first and second moments of `variable` (TensorFlow backend)."""
    index = variable_index(optimizer, variable)
    return optimizer._momentums[index].value.handle, optimizer._velocities[index].value.handle


def decays(optimizer: keras.optimizers.Optimizer, variable) -> bool:
    """Whether `optimizer`'s weight decay applies to `variable` (its `exclude_from_weight_decay` rules)."""
    return optimizer._use_weight_decay(variable)
