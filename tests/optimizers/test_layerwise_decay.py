"""Layer-wise learning-rate decay: the released and the corrected (google-research/electra#51) multipliers, and the
updates they give."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.optimizers import layerwise_decay


@pytest.fixture()
def classifier(saved_encoder):
    keras.utils.set_random_seed(0)
    return ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=16, dropout=0.0)


def _expected(path, num_layers, decay, rule="released"):
    gap = {"released": 2, "corrected": 1}[rule]  # How far above the top encoder layer the head counts.
    if path.startswith("embeddings"):  # Token, position and segment tables, their LayerNorm, the projection.
        return decay ** (num_layers + gap)
    if path.startswith("transformer_layer_"):
        i = int(path.split("/")[0].rsplit("_", 1)[1]) + 1  # 1-based, bottom to top.
        return decay ** (num_layers + gap - i)
    assert path.startswith("head/")
    return 1.0


@pytest.mark.parametrize(
    "rule, powers",
    [
        # L = 2. Released (google-research/electra's code): embeddings d^4, layer_0 d^3, layer_1 d^2, head 1.
        ("released", {"embeddings": 4, "transformer_layer_0": 3, "transformer_layer_1": 2, "head": 0}),
        # Corrected (google-research/electra#51): the top layer gets d, one power less everywhere below the head.
        ("corrected", {"embeddings": 3, "transformer_layer_0": 2, "transformer_layer_1": 1, "head": 0}),
    ],
)
def test_multipliers_per_layer(classifier, rule, powers):
    multipliers = layerwise_decay.layerwise_multipliers(classifier.encoder, classifier.head_variables(), 0.8, rule)
    assert set(multipliers) == {v.path for v in classifier.trainable_weights}
    for path, value in multipliers.items():
        assert value == pytest.approx(_expected(path, 2, 0.8, rule)), path
        assert value == pytest.approx(
            0.8 ** powers[path.split("/")[0].replace("embeddings_projection", "embeddings")]
        ), path
    assert multipliers["embeddings_projection/kernel"] == pytest.approx(0.8 ** powers["embeddings"])


def test_default_rule_and_bad_arguments(classifier):
    default = layerwise_decay.layerwise_multipliers(classifier.encoder, classifier.head_variables(), 0.8)
    assert sorted(set(round(v, 6) for v in default.values())) == [0.4096, 0.512, 0.64, 1.0]  # "released".
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        layerwise_decay.layerwise_multipliers(classifier.encoder, [], 0.0)
    with pytest.raises(
        ValueError,
        match="layerwise_rule must be one of \\('released', 'corrected'\\), but received layerwise_rule='fixed'",
    ):
        layerwise_decay.layerwise_multipliers(classifier.encoder, [], 0.8, "fixed")


def test_first_update_is_scaled_per_layer(classifier):
    """The recipe's first step is google-research/electra's: the gradients clipped to global norm 1, then, with no bias
    correction, lr_layer * (m / (sqrt(v) + epsilon) + 0.01 * w) with m = 0.1 g and v = 0.001 g^2 (no decay on
    LayerNorm parameters and biases), lr_layer the layer's rate. Compare every variable's update with that."""
    lr, decay, weight_decay = 1e-3, 0.5, 0.01
    classifier.compile(learning_rate=lr, layerwise_decay_rate=decay, warmup_fraction=0.0, num_train_steps=1000)
    rng = np.random.default_rng(0)
    features = {
        "token_ids": rng.integers(5, 2000, (8, 16)).astype("int32"),
        "segment_ids": np.zeros((8, 16), "int32"),
        "padding_mask": np.ones((8, 16), "int32"),
    }
    labels = np.array([0, 1] * 4)
    with tf.GradientTape() as tape:
        logits = classifier(features, training=True)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    gradients = {
        v.path: tf.convert_to_tensor(g).numpy().astype(np.float64)
        for v, g in zip(classifier.trainable_weights, tape.gradient(loss, classifier.trainable_weights))
    }
    norm = np.sqrt(sum(np.sum(g**2) for g in gradients.values()))
    scale = min(1.0, 1.0 / norm)  # Global-norm clipping at 1.0.
    before = {v.path: v.numpy().copy() for v in classifier.trainable_weights}
    classifier.train_on_batch(features, labels)
    for variable in classifier.trainable_weights:
        if variable.path.endswith("key/bias"):
            continue  # Softmax ignores a key bias: its gradient is 0 up to rounding noise, which Adam amplifies.
        g = gradients[variable.path] * scale
        w = before[variable.path]
        decayed = not any(s in variable.path for s in ("gamma", "beta", "bias"))
        step = 0.1 * g / (np.sqrt(0.001 * g * g) + 1e-6) + (weight_decay * w if decayed else 0.0)
        expected = lr * _expected(variable.path, 2, decay) * step
        actual = w - variable.numpy()
        tolerance = 1e-2 * np.abs(expected) + 2 * np.spacing(np.abs(w))  # float32 rounding.
        bad = np.abs(actual - expected) > tolerance
        assert not bad.any(), (variable.path, actual[bad][:5], expected[bad][:5], g[bad][:5])
    assert norm > 1.0  # So the clipping was exercised.


def test_weight_decay_uses_the_layer_rate():
    variable = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    optimizer = layerwise_decay.LayerwiseAdamW(
        lr_multipliers={variable.path: 0.25}, weight_decay=0.1, learning_rate=0.01
    )
    optimizer.apply([np.zeros((2, 2), "float32")], [variable])  # Zero gradient: only the decay moves it.
    np.testing.assert_allclose(variable.numpy(), 1 - 0.1 * 0.01 * 0.25, rtol=1e-6)
    config = optimizer.get_config()
    assert config["lr_multipliers"] == {variable.path: 0.25} and config["weight_decay"] == 0.1
    assert config["bias_correction"] is False  # google-research/electra's default.
