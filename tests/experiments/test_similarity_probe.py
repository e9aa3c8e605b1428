"""The frozen-feature similarity probe, on the real STS-B dev set."""

import argparse

import numpy as np
import pytest

from electra_tf.experiments import similarity_probe


def test_word_overlap_is_the_jaccard_of_lowercased_word_sets():
    scores = similarity_probe.word_overlap(["A cat sat.", "x", ""], ["a cat ran.", "y", ""])
    np.testing.assert_allclose(scores, [2 / 4, 0.0, 0.0])


def test_probe_on_sts_b_dev(saved_encoder, glue_dir):
    result = similarity_probe.run({"random": saved_encoder}, str(glue_dir))
    assert result["pairs"] == 1500
    # Measured once on this dev set; the baseline is deterministic.
    assert result["word_overlap_jaccard"] == pytest.approx(60.2, abs=0.05)
    scores = result["encoders"]["random"]
    assert set(scores) == {"directory", *similarity_probe.FEATURES}
    # An untrained encoder's mean embedding is a bag of random word vectors, so its cosine follows word overlap.
    assert scores["embeddings_mean"] > 40


def test_features_ignore_padding_and_tell_sentences_apart(saved_encoder):
    """The same sentences padded to 32 and to 64 tokens give the same features: the pooling skips padding and
    attention masks it."""
    from electra_tf.models import saving
    from electra_tf.models.classifier_preprocessor import ClassifierPreprocessor

    encoder, vocabulary, _ = saving.load_encoder(saved_encoder)
    texts = ["the old man walked home .", "a storm broke the mast ."]
    short = similarity_probe.sentence_features(encoder, ClassifierPreprocessor(vocabulary, 32), texts)
    long = similarity_probe.sentence_features(encoder, ClassifierPreprocessor(vocabulary, 64), texts)
    for name in similarity_probe.FEATURES:
        np.testing.assert_allclose(short[name], long[name], rtol=1e-4, atol=1e-5, err_msg=name)
    other = similarity_probe.cosine(short["embeddings_mean"][:1], short["embeddings_mean"][1:])
    assert other[0] < 0.99  # [CLS], [SEP] and the position embeddings are shared, so not much below 1


def test_refuses_what_it_cannot_probe(saved_encoder, glue_dir):
    with pytest.raises(ValueError, match="sst-2 is not a pair-regression task.*pass --task=sts-b"):
        similarity_probe.run({"random": saved_encoder}, str(glue_dir), task_name="sst-2")
    with pytest.raises(ValueError, match=r"test.tsv has no scores \(split 'test'\): pass a labelled split"):
        similarity_probe.run({"random": saved_encoder}, str(glue_dir), split="test")
    with pytest.raises(ValueError, match="sequence_length"):
        similarity_probe.run({"random": saved_encoder}, str(glue_dir), sequence_length=100_000)
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=ENCODER_FOLDER"):
        similarity_probe._named_folder("just_a_folder")
