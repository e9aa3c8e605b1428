"""Pins the Keras private state `optimizers.keras_internals` reads against the Keras version installed (setup.py's)."""

import keras
import numpy as np
import tensorflow as tf

from electra_tf.optimizers import keras_internals


def _read(handle):
    return tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32).numpy()


def test_variable_index_and_adam_slots_are_the_moments_keras_updates():
    first, second = keras.Variable(np.ones(3, np.float32)), keras.Variable(np.ones(2, np.float32))
    optimizer = keras.optimizers.Adam(learning_rate=0.1, beta_1=0.9, beta_2=0.99)
    optimizer.build([first, second])
    gradient = np.array([1.0, -2.0], np.float32)
    optimizer.apply([tf.zeros(3), tf.constant(gradient)], [first, second])
    assert keras_internals.variable_index(optimizer, second) == 1
    momentum, velocity = keras_internals.adam_slot_handles(optimizer, second)
    np.testing.assert_allclose(_read(momentum), 0.1 * gradient, rtol=1e-6)
    np.testing.assert_allclose(_read(velocity), 0.01 * gradient**2, rtol=1e-6)


def test_decays_follows_exclude_from_weight_decay():
    kernel = keras.Variable(np.ones(2, np.float32), name="kernel")
    bias = keras.Variable(np.ones(2, np.float32), name="bias")
    optimizer = keras.optimizers.AdamW(weight_decay=0.1)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.build([kernel, bias])
    assert keras_internals.decays(optimizer, kernel) and not keras_internals.decays(optimizer, bias)


def test_keras_calls_the_decay_hook_before_the_updates():
    calls = []

    class Recording(keras.optimizers.AdamW):
        def update_step(self, gradient, variable, learning_rate):
            calls.append("update")
            super().update_step(gradient, variable, learning_rate)

    def hook(self, variables):
        calls.append("decay")

    setattr(Recording, keras_internals.DECAY_HOOK, hook)
    variable = keras.Variable(np.ones(2, np.float32))
    optimizer = Recording(weight_decay=0.1)
    optimizer.apply([tf.ones(2)], [variable])
    assert calls == ["decay", "update"]
