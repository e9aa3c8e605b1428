"""The learning-rate schedule and the optimizer's weight-decay exclusions."""

import keras
import numpy as np
import pytest

from electra_tf.training.optimization import OptimizerConfig, WarmupLinearDecay, create_optimizer


def test_warmup_then_linear_decay_to_zero():
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=100)
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100, 150)]
    assert rates == pytest.approx([0.0, 5e-4, 9e-4, 4.5e-4, 0.0, 0.0], abs=1e-9)
    restored = WarmupLinearDecay.from_config(schedule.get_config())
    assert float(restored(42)) == pytest.approx(float(schedule(42)))


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


@pytest.mark.parametrize("kwargs,message", [({"name": "sgd"}, "optimizer name"), ({"learning_rate": 0.0}, "learning_rate")])
def test_bad_optimizer_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OptimizerConfig(**kwargs)


def test_lamb_and_loss_scaling_are_available():
    assert isinstance(create_optimizer(OptimizerConfig(name="lamb"), 10), keras.optimizers.Lamb)
    assert isinstance(create_optimizer(OptimizerConfig(), 10, "mixed_float16"), keras.optimizers.LossScaleOptimizer)
