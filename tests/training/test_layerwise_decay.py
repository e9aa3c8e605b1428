"""Layer-wise learning-rate decay: the multipliers of google-research/electra#51, and the updates they give."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.training import layerwise_decay


@pytest.fixture()
def classifier(saved_encoder):
    keras.utils.set_random_seed(0)
    return ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=16, dropout=0.0)


def _expected(path, num_layers, decay):
    if path.startswith("embeddings"):  # Token, position and segment tables, their LayerNorm, the projection.
        return decay ** (num_layers + 1)
    if path.startswith("transformer_layer_"):
        i = int(path.split("/")[0].rsplit("_", 1)[1]) + 1  # 1-based, bottom to top.
        return decay ** (num_layers + 1 - i)
    assert path.startswith("head/")
    return 1.0


def test_multipliers_per_layer(classifier):
    multipliers = layerwise_decay.layerwise_multipliers(classifier.encoder, classifier.head_variables(), 0.8)
    assert set(multipliers) == {v.path for v in classifier.trainable_weights}
    for path, value in multipliers.items():
        assert value == pytest.approx(_expected(path, 2, 0.8)), path
    # L = 2: embeddings 0.8^3, layer 1 0.8^2, layer 2 0.8, head 1.
    assert sorted(set(round(v, 6) for v in multipliers.values())) == [0.512, 0.64, 0.8, 1.0]
    assert multipliers["embeddings_projection/kernel"] == pytest.approx(0.512)
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        layerwise_decay.layerwise_multipliers(classifier.encoder, [], 0.0)


def test_first_update_is_scaled_per_layer(classifier):
    """Adam's first step is exactly lr * g / (|g| + epsilon / sqrt(1 - beta_2)) per entry; with layer-wise decay, lr
    is the layer's rate. Compare every variable's update with that, from the gradients of the same batch."""
    lr, decay = 1e-3, 0.5
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
    gradients = {v.path: tf.convert_to_tensor(g).numpy() for v, g in zip(classifier.trainable_weights, tape.gradient(loss, classifier.trainable_weights))}
    before = {v.path: v.numpy().copy() for v in classifier.trainable_weights}
    classifier.train_on_batch(features, labels)
    for variable in classifier.trainable_weights:
        if variable.path.endswith("key/bias"):
            continue  # Softmax ignores a key bias: its gradient is 0 up to rounding noise, which Adam amplifies.
        g = gradients[variable.path]
        expected = lr * _expected(variable.path, 2, decay) * g / (np.abs(g) + 1e-6 / np.sqrt(1 - 0.999))
        actual = before[variable.path] - variable.numpy()
        tolerance = 1e-2 * np.abs(expected) + 2 * np.spacing(np.abs(before[variable.path]))  # float32 rounding.
        bad = np.abs(actual - expected) > tolerance
        assert not bad.any(), (variable.path, actual[bad][:5], expected[bad][:5], g[bad][:5])


def test_weight_decay_uses_the_layer_rate():
    variable = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    optimizer = layerwise_decay.LayerwiseAdamW(lr_multipliers={variable.path: 0.25}, weight_decay=0.1, learning_rate=0.01)
    optimizer.apply([np.zeros((2, 2), "float32")], [variable])  # Zero gradient: only the decay moves it.
    np.testing.assert_allclose(variable.numpy(), 1 - 0.1 * 0.01 * 0.25, rtol=1e-6)
    config = optimizer.get_config()
    assert config["lr_multipliers"] == {variable.path: 0.25} and config["weight_decay"] == 0.1
