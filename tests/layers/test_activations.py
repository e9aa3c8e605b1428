"""The two GELUs: the exact one in google-research/electra's formula, the tanh one keras-hub hard-codes."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.layers import activations


def test_exact_gelu_is_google_researchs_formula_and_keras_exact_gelu_to_float_round_off():
    x = tf.constant(np.linspace(-8, 8, 4001, dtype=np.float32))
    ours = activations.get("gelu")(x)
    # google-research/electra, modeling.gelu: x * 0.5 * (1 + erf(x / sqrt(2))).
    np.testing.assert_array_equal(ours, x * 0.5 * (1.0 + tf.math.erf(x / math.sqrt(2.0))))
    np.testing.assert_allclose(ours, keras.activations.gelu(x, approximate=False), atol=2e-6)
    assert float(activations.get("gelu")(tf.constant(1.0))) == pytest.approx(0.841345, abs=1e-6)


def test_exact_gelu_gradient_matches_keras_and_bfloat16_stays_bfloat16():
    x = tf.constant(np.linspace(-6, 6, 1201, dtype=np.float32))
    grads = []
    for fn in (activations.get("gelu"), lambda v: keras.activations.gelu(v, approximate=False)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        grads.append(tape.gradient(y, x))
    np.testing.assert_allclose(grads[0], grads[1], atol=5e-6)
    low = activations.get("gelu")(tf.cast(x, tf.bfloat16))
    assert low.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(low, tf.float32), activations.get("gelu")(x), atol=0.05)


def test_exact_gelu_ops_carry_the_gelu_scope_the_step_profile_counts():
    graph = tf.function(activations.get("gelu")).get_concrete_function(tf.TensorSpec([4])).graph
    erf = [op.name for op in graph.get_operations() if op.type == "Erf"]
    assert erf and all("gelu/" in name for name in erf)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="gelu_tanh"):
        activations.get("relu")
