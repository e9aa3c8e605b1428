"""The learning-rate schedule, the optimizers' updates (with and without bias correction), weight-decay exclusions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.optimizers.adamw import NO_DECAY, FusedAdamW
from electra_tf.optimizers.config import OptimizerConfig, create_optimizer
from electra_tf.optimizers.layerwise_decay import LayerwiseAdamW
from electra_tf.optimizers.schedules import WarmupLinearDecay


def test_warmup_factor_times_linear_decay():
    """google-research/electra's rate is lr * (1 - t / T) * min(1, t / W): inside warmup both factors apply."""
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, total_steps=100)
    rates = [float(schedule(step)) for step in (0, 2, 5, 10, 55, 100, 150)]
    # t=2: 1e-3 * 0.98 * 0.2; t=5: 1e-3 * 0.95 * 0.5; from t=10 on the warmup factor is 1.
    assert rates == pytest.approx([0.0, 1.96e-4, 4.75e-4, 9e-4, 4.5e-4, 0.0, 0.0], abs=1e-9)
    restored = WarmupLinearDecay.from_config(schedule.get_config())
    assert float(restored(42)) == pytest.approx(float(schedule(42)))
    # Unrounded warmup (google-research/electra's 10% of 75 steps) and no warmup at all.
    assert float(WarmupLinearDecay(1e-3, 7.5, 75)(3)) == pytest.approx(1e-3 * (1 - 3 / 75) * 3 / 7.5)
    assert [float(WarmupLinearDecay(1e-3, 0, 100)(t)) for t in (0, 50)] == pytest.approx([1e-3, 5e-4])


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
    # lr (1 - t / 8) min(1, t / 2): step 1 is inside warmup, 0.875 * 0.5.
    assert rates[1] == pytest.approx([0.0, 0.4375, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])


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


def _reference_adamw(
    values,
    gradients,
    rates,
    multipliers,
    decayed,
    weight_decay,
    bias_correction,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-6,
):
    """google-research/electra's AdamWeightDecayOptimizer in numpy (float64), optionally with Keras's bias correction:

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  step = m / (sqrt(v) + eps) [* sqrt(1 - b2^t) / (1 - b1^t)];
    p -= k lr (step + weight_decay p), the decay only on `decayed` variables, k the variable's rate multiplier.
    """
    values = [np.asarray(v, np.float64) for v in values]
    m = [np.zeros_like(v) for v in values]
    v2 = [np.zeros_like(v) for v in values]
    for t, (step_gradients, lr) in enumerate(zip(gradients, rates), start=1):
        correction = np.sqrt(1 - beta_2**t) / (1 - beta_1**t) if bias_correction else 1.0
        for i, g in enumerate(step_gradients):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v2[i] = beta_2 * v2[i] + (1 - beta_2) * g * g
            rate = lr * multipliers[i]
            values[i] = values[i] - rate * (
                correction * m[i] / (np.sqrt(v2[i]) + epsilon) + (weight_decay * values[i] if decayed[i] else 0)
            )
    return values


def _fused(bias_correction, **kwargs):
    return FusedAdamW(bias_correction=bias_correction, **kwargs)


def _keras_path(bias_correction, **kwargs):
    """FusedAdamW on Keras's own element-wise step (its path for other backends and amsgrad)."""
    optimizer = FusedAdamW(bias_correction=bias_correction, **kwargs)
    optimizer._fused = lambda: False
    return optimizer


@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize("make", ["fused", "keras_path", "layerwise"])
def test_updates_match_hand_computed_adamw(make, bias_correction):
    """Three steps with weight decay and changing rates, against the formula; without bias correction the first step is
    (1 - b1) / sqrt(1 - b2) = 3.16 times Keras's."""
    rng = np.random.default_rng(1)
    initial = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    gradients = [[rng.normal(size=(3, 4)) * scale, rng.normal(size=(4,)) * scale] for scale in (1.0, 0.3, 2.0)]
    rates = [1e-2, 5e-3, 2e-2]
    variables = [
        keras.Variable(initial[0].astype("float32"), name="kernel"),
        keras.Variable(initial[1].astype("float32"), name="bias"),
    ]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([0, 1], rates)  # rates[t] at update t.
    if make == "layerwise":
        optimizer = LayerwiseAdamW(
            lr_multipliers={variables[0].path: 0.5},
            weight_decay=0.1,
            bias_correction=bias_correction,
            learning_rate=schedule,
            epsilon=1e-6,
        )
        multipliers = [0.5, 1.0]
    else:
        optimizer = {"fused": _fused, "keras_path": _keras_path}[make](
            bias_correction, learning_rate=schedule, weight_decay=0.1, epsilon=1e-6
        )
        optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
        multipliers = [1.0, 1.0]
    for step_gradients in gradients:
        optimizer.apply([g.astype("float32") for g in step_gradients], variables)
    expected = _reference_adamw(initial, gradients, rates, multipliers, [True, False], 0.1, bias_correction)
    for variable, value in zip(variables, expected):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-5, atol=1e-6)
    assert optimizer.get_config()["bias_correction"] is bias_correction
    assert type(optimizer).from_config(optimizer.get_config()).bias_correction is bias_correction


def test_bias_correction_follows_the_optimizer_by_default():
    assert OptimizerConfig().resolved_bias_correction is False  # google-research/electra's AdamW.
    assert create_optimizer(OptimizerConfig(), 10).bias_correction is False
    assert create_optimizer(OptimizerConfig(bias_correction=True), 10).bias_correction is True
    assert OptimizerConfig(name="lamb").resolved_bias_correction is True  # Keras's LAMB always corrects.
    assert isinstance(create_optimizer(OptimizerConfig(name="lamb", bias_correction=True), 10), keras.optimizers.Lamb)
    with pytest.raises(ValueError, match="name='lamb' with bias_correction=False.*use name='adamw'"):
        OptimizerConfig(name="lamb", bias_correction=False)


def _train(make_optimizer, accumulation, gradient_dtype):
    """Six steps of an optimizer on a kernel, a bias and a LayerNorm scale; returns every variable it holds."""
    rng = np.random.default_rng(0)
    variables = [
        keras.Variable(rng.normal(size=shape).astype("float32"), name=name)
        for shape, name in (((7, 5), "kernel"), ((5,), "bias"), ((3,), "gamma"))
    ]
    optimizer = make_optimizer(
        learning_rate=WarmupLinearDecay(1e-2, 2, 10, accumulation or 1),
        weight_decay=0.1,
        epsilon=1e-6,
        gradient_accumulation_steps=accumulation,
    )
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
    """With bias correction the fused kernel is Keras's AdamW; without, it is Keras's step with the rate rescaled."""
    pairs = [  # (fused, reference, atol): uncorrected early steps are ~3x larger, and so is their float32 rounding.
        (lambda **kw: FusedAdamW(bias_correction=True, **kw), keras.optimizers.AdamW, 1e-6),
        (lambda **kw: _fused(False, **kw), lambda **kw: _keras_path(False, **kw), 4e-6),
    ]
    for make_fused, make_reference, atol in pairs:
        fused_weights, fused_state = _train(make_fused, accumulation, gradient_dtype)
        keras_weights, keras_state = _train(make_reference, accumulation, gradient_dtype)
        assert len(fused_state) == len(keras_state)  # The same slots: checkpoints are interchangeable.
        for fused, reference in zip(fused_weights + fused_state, keras_weights + keras_state):
            np.testing.assert_allclose(fused, reference, rtol=1e-5, atol=atol)
    assert isinstance(create_optimizer(OptimizerConfig(), 10), FusedAdamW)


@pytest.mark.parametrize(
    "kwargs,message", [({"name": "sgd"}, "optimizer name"), ({"learning_rate": 0.0}, "learning_rate")]
)
def test_bad_optimizer_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OptimizerConfig(**kwargs)


def test_lamb_and_loss_scaling_are_available():
    assert isinstance(create_optimizer(OptimizerConfig(name="lamb"), 10), keras.optimizers.Lamb)
    assert isinstance(create_optimizer(OptimizerConfig(), 10, "mixed_float16"), keras.optimizers.LossScaleOptimizer)
