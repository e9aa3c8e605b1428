"""The serving forward pass gives the Keras classifier's outputs, for every architecture variant it must handle."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.export.inference_graph import InferenceClassifier, InferenceEncoder
from electra_tf.models.classifier_preprocessor import ClassifierPreprocessor
from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.networks.electra_encoder import ElectraEncoder

TEXTS = {
    "text_a": ["A short one.", "", "a much longer sentence that fills most of the packed length " * 3, "Two words"],
    "text_b": ["And its pair.", "x", "", "The second text of a pair is longer than the first."],
}


def _classifier(vocabulary, pair, regression=False, target_scale=1.0, **encoder_kwargs):
    keras.utils.set_random_seed(5)
    config = dict(
        vocab_size=vocabulary.size,
        hidden_size=48,
        num_layers=3,
        num_heads=4,
        intermediate_size=96,
        embedding_size=24,
        dropout=0.0,
    )
    encoder = ElectraEncoder(**(config | encoder_kwargs))
    preprocessor = ClassifierPreprocessor(vocabulary, 40, True, True, pair=pair)
    num_outputs = 1 if regression else 3
    classifier = ElectraClassifier(
        encoder, num_outputs, regression=regression, target_scale=target_scale, preprocessor=preprocessor
    )
    head = classifier.get_layer("head")
    head.bias.assign(np.linspace(-1, 1, num_outputs).astype(np.float32))  # A zero bias would hide a missing one.
    return classifier


def _inputs(classifier):
    keys = classifier.preprocessor.text_keys
    return classifier.preprocessor({key: tf.constant(TEXTS[key]) for key in keys})


def _run(model, inputs):
    return model(inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"]).numpy()


@pytest.mark.parametrize(
    "pair, regression, encoder_kwargs",
    [
        (False, False, {}),  # The default: exact GELU.
        (True, False, {"hidden_act": "gelu_tanh"}),  # The tanh GELU (keras-hub's).
        (True, True, {"embedding_size": 48}),  # No embedding projection.
        (True, True, {"target_scale": 5.0}),  # STS-B's: the dense layer learns score / 5, the output is 5x it.
        (False, False, {"num_layers": 1}),  # The one layer is the [CLS]-only last layer.
    ],
)
def test_matches_the_keras_classifier(vocabulary, pair, regression, encoder_kwargs):
    classifier = _classifier(vocabulary, pair, regression, **encoder_kwargs)
    inputs = _inputs(classifier)
    lengths = inputs["padding_mask"].numpy().sum(-1)
    assert lengths.min() < lengths.max() < inputs["padding_mask"].shape[1]  # Padding, and a batch cut shorter.
    expected = classifier(inputs, training=False).numpy()
    model = InferenceClassifier(classifier)
    assert model.constant_kernels
    got = _run(model, inputs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-5)
    np.testing.assert_allclose(_run(tf.function(model.__call__), inputs), expected, atol=2e-5)


def test_kernels_as_variables_give_the_same_outputs(vocabulary):
    classifier = _classifier(vocabulary, pair=True)
    inputs = _inputs(classifier)
    as_variables = InferenceClassifier(classifier, constant_kernels=False)
    assert not as_variables.constant_kernels
    assert len(as_variables.variables) > len(InferenceClassifier(classifier).variables)
    np.testing.assert_allclose(_run(as_variables, inputs), classifier(inputs, training=False).numpy(), atol=2e-5)


def test_bfloat16_stays_close(vocabulary):
    classifier = _classifier(vocabulary, pair=True)
    inputs = _inputs(classifier)
    expected = tf.nn.softmax(classifier(inputs, training=False)).numpy()
    got = tf.nn.softmax(_run(InferenceClassifier(classifier, compute_dtype="bfloat16"), inputs)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-2)


def test_unknown_dtype_is_refused(vocabulary):
    with pytest.raises(ValueError, match="compute_dtype must be one of"):
        InferenceClassifier(_classifier(vocabulary, pair=False), compute_dtype="float16")


def test_encoder_at_every_position_matches_keras_on_real_tokens(vocabulary):
    """The encoder that span and tagging heads will read: every position, cut to the longest real sequence."""
    classifier = _classifier(vocabulary, pair=True)
    inputs = _inputs(classifier)
    expected = classifier.encoder(inputs, training=False)["sequence_output"].numpy()
    got = _run(InferenceEncoder(classifier.encoder), inputs)
    lengths = inputs["padding_mask"].numpy().sum(-1)
    assert got.shape == (len(lengths), lengths.max(), expected.shape[-1])
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(got[row, :length], expected[row, :length], atol=2e-5)
    first = _run(InferenceEncoder(classifier.encoder, first_token_only=True), inputs)
    np.testing.assert_allclose(first, expected[:, 0], atol=2e-5)
