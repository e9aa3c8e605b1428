"""ElectraClassifier: raw-string fit/predict through the preprocessor, saving, and errors on bad pre-trained dirs."""

import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models.classifier_preprocessor import ClassifierPreprocessor
from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.tasks import reader, registry


@pytest.fixture(scope="module")
def sst2_dev(glue_dir):
    return reader.read_split(registry.get("sst-2"), str(glue_dir), "dev")


def test_preprocessor_packs_pairs(vocabulary):
    preprocessor = ClassifierPreprocessor(vocabulary, sequence_length=10, pair=True)
    long_a = "the cat sat on the mat and looked at the dog"
    out = preprocessor({"text_a": tf.constant([long_a, ""]), "text_b": tf.constant(["a dog", "hello"])})
    ids = out["token_ids"].numpy()
    cls, sep = vocabulary.cls_id, vocabulary.sep_id
    # The longer segment is shrunk first: a keeps 5 tokens, b keeps both of its 2.
    expected_a = vocabulary.token_ids("the cat sat on the".split())
    assert ids[0].tolist() == [cls, *expected_a, sep, *vocabulary.token_ids(["a", "dog"]), sep]
    assert out["segment_ids"].numpy()[0].tolist() == [0] * 7 + [1] * 3
    # An empty text is not an error: it packs to [CLS] [SEP] b [SEP], padded.
    assert ids[1].tolist()[:4] == [cls, sep, vocabulary.token_id("hello"), sep] and ids[1][4:].tolist() == [0] * 6
    assert out["padding_mask"].numpy()[1].tolist() == [1] * 4 + [0] * 6
    one = preprocessor({"text_a": tf.constant("a b"), "text_b": tf.constant("c")})
    assert one["token_ids"].shape == (10,)
    with pytest.raises(ValueError, match=r"keys \['text_a', 'text_b'\]"):
        preprocessor({"text_a": tf.constant(["x"])})


def test_fit_and_predict_on_raw_strings(saved_encoder, sst2_dev):
    keras.utils.set_random_seed(1)
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=64)
    features = {"text_a": sst2_dev.text_a[:64]}
    labels = sst2_dev.labels[:64]
    classifier.compile(learning_rate=2e-3, layerwise_decay_rate=1.0)
    history = classifier.fit(features, labels, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]  # It fits the 64 sentences.
    assert classifier.optimizer._learning_rate.total_steps == 8 * 4  # The schedule took its length from fit.
    predictions = classifier.predict_labels(features, verbose=0)
    assert predictions.shape == (64,) and np.mean(predictions == labels) > 0.9


def test_jit_compile_sees_no_strings(saved_encoder, sst2_dev):
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=32)
    classifier.compile(jit_compile=True, num_train_steps=2)
    dataset = tf.data.Dataset.from_tensor_slices(({"text_a": sst2_dev.text_a[:32]}, sst2_dev.labels[:32])).batch(16)
    history = classifier.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert classifier.evaluate(dataset, verbose=0, return_dict=True)["accuracy"] >= 0


def test_regression_head(saved_encoder, glue_dir):
    task = registry.get("sts-b")
    dev = reader.read_split(task, str(glue_dir), "dev")
    classifier = ElectraClassifier.from_task(task, saved_encoder, sequence_length=32)
    classifier.compile(num_train_steps=2)
    history = classifier.fit(dev.features(), dev.labels, batch_size=16, steps_per_epoch=2, verbose=0)
    assert "mse" in history.history
    scores = classifier.predict_labels({k: v[:5] for k, v in dev.features().items()}, verbose=0)
    assert scores.shape == (5,)


def test_save_and_load_finetuned(saved_encoder, sst2_dev, tmp_path):
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, labels=["neg", "pos"], sequence_length=32)
    features = {"text_a": sst2_dev.text_a[:8]}
    classifier.save_finetuned(str(tmp_path / "clf"))
    loaded = ElectraClassifier.from_finetuned(str(tmp_path / "clf"))
    np.testing.assert_allclose(loaded.predict(features, verbose=0), classifier.predict(features, verbose=0), atol=1e-6)
    assert loaded.labels == ["neg", "pos"] and loaded.preprocessor.sequence_length == 32
    # The embeddings' weights came along: the encoder is the pre-trained one.
    np.testing.assert_array_equal(
        loaded.encoder.embeddings.token_embedding.embeddings.numpy(),
        classifier.encoder.embeddings.token_embedding.embeddings.numpy(),
    )


def test_pretrained_dir_errors(saved_encoder, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(saved_encoder, bad)
    lines = (bad / "vocab.txt").read_text().splitlines()
    (bad / "vocab.txt").write_text("\n".join(lines[:-10]) + "\n")
    with pytest.raises(ValueError, match=r"vocab.txt \(30512 tokens\) does not match encoder_config.json \(vocab_size=30522\)"):
        ElectraClassifier.from_pretrained(str(bad))
    with pytest.raises(FileNotFoundError, match="not a saved electra_tf encoder"):
        ElectraClassifier.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match="exceeds the encoder's max_position_embeddings=512"):
        ElectraClassifier.from_pretrained(saved_encoder, sequence_length=600)


def test_random_encoder_linear_probe(saved_encoder, sst2_dev):
    pretrained = ElectraClassifier.from_pretrained(saved_encoder, sequence_length=32)
    keras.utils.set_random_seed(5)
    probe = ElectraClassifier.from_pretrained(saved_encoder, sequence_length=32, random_encoder=True, freeze_encoder=True)
    table = lambda model: model.encoder.embeddings.token_embedding.embeddings.numpy()  # noqa: E731
    assert not np.allclose(table(probe), table(pretrained))  # Re-initialised...
    assert probe.encoder.encoder_config == pretrained.encoder.encoder_config  # ...with the same architecture.
    assert {v.path for v in probe.trainable_weights} == {"head/kernel", "head/bias"}
    before = [w.copy() for w in probe.encoder.get_weights()]
    probe.compile(learning_rate=1e-2)
    probe.fit({"text_a": sst2_dev.text_a[:32]}, sst2_dev.labels[:32], batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, probe.encoder.get_weights()))
