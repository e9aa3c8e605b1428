"""Our `TransformerEncoder` is keras-hub's with `PackedDropout`: the same weights, outputs, checkpoints and files."""

import warnings

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.layers.packed_dropout import PackedDropout
from electra_tf.layers.transformer_encoder import SelfAttention, TransformerEncoder

ARGS = dict(
    intermediate_dim=48,
    num_heads=4,
    dropout=0.1,
    activation="gelu",
    layer_norm_epsilon=1e-12,
    kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
)


def _built(cls, seed=3):
    keras.utils.set_random_seed(seed)
    layer = cls(**ARGS, name="transformer_layer_0")
    layer.build((None, None, 16))
    return layer


def _inputs():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 7, 16)), tf.float32)
    padding_mask = tf.constant([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5], tf.int32)
    return x, padding_mask


def test_same_seed_gives_keras_hubs_weights_names_and_inference_outputs_bit_for_bit():
    ours, theirs = _built(TransformerEncoder), _built(keras_hub.layers.TransformerEncoder)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    for mine, reference in zip(ours.weights, theirs.weights):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())
    x, padding_mask = _inputs()
    np.testing.assert_array_equal(
        ours(x, padding_mask=padding_mask, training=False).numpy(),
        theirs(x, padding_mask=padding_mask, training=False).numpy(),
    )
    # Keras's seeds are drawn in the same order, so the dropout seed generators start where keras-hub's do.
    seeds = lambda layer: [v.numpy().tolist() for v in layer.variables if "seed_generator" in v.path]  # noqa: E731
    assert seeds(ours) == seeds(theirs) and len(seeds(ours)) == 3


def test_every_dropout_is_packed_and_training_drops_the_attention_probabilities():
    layer = _built(TransformerEncoder)
    attention = layer._self_attention_layer
    assert isinstance(attention, SelfAttention)
    dropouts = [sub for sub in layer._flatten_layers() if isinstance(sub, keras.layers.Dropout)]
    assert len(dropouts) == 3 and all(type(sub) is PackedDropout for sub in dropouts)
    x, padding_mask = _inputs()
    first = layer(x, padding_mask=padding_mask, training=True).numpy()
    second = layer(x, padding_mask=padding_mask, training=True).numpy()
    inference = layer(x, padding_mask=padding_mask, training=False).numpy()
    assert not np.array_equal(first, second) and not np.array_equal(first, inference)
    _, probabilities = attention(x, x, attention_mask=padding_mask[:, None, :], return_attention_scores=True)
    np.testing.assert_allclose(tf.reduce_sum(probabilities, -1).numpy(), 1.0, rtol=1e-6)
    assert np.all(probabilities.numpy()[2, :, :, 2:] == 0)  # Padding gets no attention.


@pytest.fixture
def checkpoint_prefix(tmp_path):
    return str(tmp_path / "ckpt")


def test_checkpoints_are_interchangeable_with_keras_hubs(checkpoint_prefix):
    theirs, ours = _built(keras_hub.layers.TransformerEncoder, seed=1), _built(TransformerEncoder, seed=2)
    saved = tf.train.Checkpoint(layer=theirs).write(checkpoint_prefix)
    tf.train.Checkpoint(layer=ours).read(saved).assert_existing_objects_matched().assert_consumed()
    for mine, reference in zip(ours.weights, theirs.weights):  # Keras keeps dropout seeds out of checkpoints.
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())


def test_masks_merge_as_in_keras_causal_included():
    x, padding_mask = _inputs()
    x = x[..., :8]
    ours, theirs = SelfAttention(num_heads=2, key_dim=4), keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    for layer in (ours, theirs):
        keras.utils.set_random_seed(5)
        layer.build(x.shape, x.shape)
    for kwargs in (dict(attention_mask=padding_mask[:, None, :]), dict(use_causal_mask=True)):
        mine, my_scores = ours(x, x, return_attention_scores=True, **kwargs)
        reference, reference_scores = theirs(x, x, return_attention_scores=True, **kwargs)
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())
        np.testing.assert_array_equal(my_scores.numpy(), reference_scores.numpy())


def test_keras_files_written_with_keras_hubs_layer_load_into_ours(tmp_path):
    """`.keras` weight files name a model's layers by class: ours must read the files keras-hub's layer wrote."""

    def model(cls, seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((None, 16))
        outputs = cls(**ARGS, name="transformer_layer_1")(cls(**ARGS, name="transformer_layer_0")(inputs))
        return keras.Model(inputs, outputs)

    theirs, ours = model(keras_hub.layers.TransformerEncoder, 1), model(TransformerEncoder, 2)
    theirs.save_weights(str(tmp_path / "theirs.weights.h5"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns, not raises, about objects it could not load.
        ours.load_weights(str(tmp_path / "theirs.weights.h5"))
    for mine, reference in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())
