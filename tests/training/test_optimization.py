"""The learning-rate schedule and the optimizer's weight-decay exclusions."""

import keras
import numpy as np
import pytest

import tensorflow as tf

from electra_tf.training.optimization import NO_DECAY, FusedAdamW, OptimizerConfig, WarmupLinearDecay, create_optimizer


def test_warmup_then_linear_decay_to_zero():
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=100)
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100, 150)]
    assert rates == pytest.approx([0.0, 5e-4, 9e-4, 4.5e-4, 0.0, 0.0], abs=1e-9)
    restored = WarmupLinearDecay.from_config(schedule.get_config())
    assert float(restored(42)) == pytest.approx(float(schedule(42)))


def test_accumulation_follows_the_schedule_per_update():
    """Keras calls the schedule with its batch counter; with 2 batches per update the rate at update n must still be
    the schedule's rate at step n (before, warmup and decay ran twice as fast and the second half trained at 0)."""
    rates = {}
    for k in (1, 2):
        variable = keras.Variable(np.zeros(1, "float32"))
        config = OptimizerConfig(learning_rate=1.0, warmup_steps=2, weight_decay=0.0, gradient_accumulation_steps=k)
        optimizer = create_optimizer(config, total_steps=8)
        optimizer.build([variable])
        rates[k] = []
        for _ in range(8 * k):
            if int(optimizer._iterations.numpy()) % k == k - 1:  # The batch whose gradient completes an update.
                rates[k].append(float(optimizer.learning_rate))
            optimizer.apply([np.ones(1, "float32")], [variable])
        assert int(optimizer.iterations.numpy()) == 8
    assert rates[2] == pytest.approx(rates[1])
    assert rates[1] == pytest.approx([0.0, 0.5, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])


def test_weight_decay_skips_layer_norm_and_biases():
    dense = keras.layers.Dense(4)
    norm = keras.layers.LayerNormalization()
    dense.build((None, 3))
    norm.build((None, 4))
    optimizer = create_optimizer(OptimizerConfig(learning_rate=1e-3, warmup_steps=0, weight_decay=0.5), total_steps=10)
    variables = dense.weights + norm.weights
    optimizer.build(variables)
    for v in variables:  # Non-zero everywhere, so that decay would show.
        v.assign(np.ones(v.shape, "float32"))
    before = [v.numpy().copy() for v in variables]
    optimizer.apply([np.zeros(v.shape, "float32") for v in variables], variables)
    changed = {v.name: not np.allclose(v.numpy(), b) for v, b in zip(variables, before)}
    assert changed == {"kernel": True, "bias": False, "gamma": False, "beta": False}


def _train(optimizer_class, accumulation, gradient_dtype):
    """Six steps of `optimizer_class` on a kernel, a bias and a LayerNorm scale; returns every variable it holds."""
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=shape).astype("float32"), name=name)
                 for shape, name in (((7, 5), "kernel"), ((5,), "bias"), ((3,), "gamma"))]
    optimizer = optimizer_class(learning_rate=WarmupLinearDecay(1e-2, 2, 10, accumulation or 1), weight_decay=0.1,
                                epsilon=1e-6, gradient_accumulation_steps=accumulation)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))

    @tf.function
    def step(i):
        grads = [tf.cast(tf.sin(tf.cast(i + 1, tf.float32) * (v + 1.0)), gradient_dtype) for v in variables]
        optimizer.apply(grads, variables)

    for i in range(6):
        step(tf.constant(i))
    return [v.numpy() for v in variables], [v.numpy() for v in optimizer.variables]


@pytest.mark.parametrize("accumulation, gradient_dtype", [(None, "float32"), (2, "float32"), (None, "bfloat16")])
def test_fused_adamw_matches_keras_adamw(accumulation, gradient_dtype):
    fused_weights, fused_state = _train(FusedAdamW, accumulation, gradient_dtype)
    keras_weights, keras_state = _train(keras.optimizers.AdamW, accumulation, gradient_dtype)
    assert len(fused_state) == len(keras_state)  # The same slots: checkpoints are interchangeable.
    for fused, reference in zip(fused_weights + fused_state, keras_weights + keras_state):
        np.testing.assert_allclose(fused, reference, rtol=1e-5, atol=1e-6)
    assert isinstance(create_optimizer(OptimizerConfig(), 10), FusedAdamW)


@pytest.mark.parametrize("kwargs,message", [({"name": "sgd"}, "optimizer name"), ({"learning_rate": 0.0}, "learning_rate")])
def test_bad_optimizer_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OptimizerConfig(**kwargs)


def test_lamb_and_loss_scaling_are_available():
    assert isinstance(create_optimizer(OptimizerConfig(name="lamb"), 10), keras.optimizers.Lamb)
    assert isinstance(create_optimizer(OptimizerConfig(), 10, "mixed_float16"), keras.optimizers.LossScaleOptimizer)
