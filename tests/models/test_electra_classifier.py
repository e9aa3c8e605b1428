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


def test_sts_b_learns_scores_over_5_as_google_research_electra(saved_encoder, glue_dir):
    """GR's RegressionTask trains on label / 5 with a squared error summed over the batch: the dense layer learns
    score / 5, the model outputs 5x it (scores on the file's 0-5 scale), and the loss is sum((dense - label / 5)^2)."""
    task = registry.get("sts-b")
    assert task.target_scale == 5.0
    classifier = ElectraClassifier.from_task(task, saved_encoder, sequence_length=32, dropout=0.0)
    features = classifier.preprocessor(
        {"text_a": tf.constant(["A man plays."] * 3), "text_b": tf.constant(["x", "y", "z"])}
    )
    sequence = classifier.encoder(features)["sequence_output"][:, 0, :]
    dense = classifier.get_layer("head")(sequence)[:, 0].numpy()
    np.testing.assert_allclose(classifier(features).numpy(), 5 * dense, rtol=1e-5)
    classifier.compile(num_train_steps=2)
    labels = np.array([0.0, 2.5, 5.0], np.float32)
    expected = np.sum((dense - labels / 5) ** 2)
    np.testing.assert_allclose(float(classifier.loss(labels, 5 * dense)), expected, rtol=1e-5)


def test_head_reads_cls_through_dropout_without_a_pooler(saved_encoder):
    """GR's get_pooled_output is sequence_output[:, 0] (no pooler dense), then dropout 0.1 and the task's dense."""
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=16)
    assert classifier.get_layer("head_dropout").rate == 0.1
    assert {type(layer).__name__ for layer in classifier.layers} <= {
        "InputLayer",
        "ElectraEncoder",
        "GetItem",
        "Dropout",
        "Dense",
    }
    features = classifier.preprocessor({"text_a": tf.constant(["A cat sat.", "It rained all day long."])})
    first = classifier.encoder(features)["sequence_output"][:, 0, :]
    np.testing.assert_allclose(
        classifier(features).numpy(), classifier.get_layer("head")(first).numpy(), rtol=1e-5, atol=1e-6
    )


def test_classification_loss_is_summed_over_the_batch(saved_encoder):
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=3, sequence_length=16)
    classifier.compile(num_train_steps=2)
    logits = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]], np.float32)
    labels = np.array([0, 2])
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -(log_probs[0, 0] + log_probs[1, 2])  # google-research/electra: reduce_sum, not the mean.
    np.testing.assert_allclose(float(classifier.loss(labels, logits)), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="target_scale"):
        ElectraClassifier.from_pretrained(saved_encoder, num_outputs=3, sequence_length=16, target_scale=5.0)


def test_save_and_load_finetuned(saved_encoder, sst2_dev, tmp_path):
    classifier = ElectraClassifier.from_pretrained(
        saved_encoder, num_outputs=2, labels=["neg", "pos"], sequence_length=32
    )
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
    with pytest.raises(
        ValueError, match=r"vocab.txt \(30512 tokens\) does not match encoder_config.json \(vocab_size=30522\)"
    ):
        ElectraClassifier.from_pretrained(str(bad))
    with pytest.raises(FileNotFoundError, match="not a saved electra_tf encoder"):
        ElectraClassifier.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match="exceeds the encoder's max_position_embeddings=512"):
        ElectraClassifier.from_pretrained(saved_encoder, sequence_length=600)


def test_random_encoder_linear_probe(saved_encoder, sst2_dev):
    pretrained = ElectraClassifier.from_pretrained(saved_encoder, sequence_length=32)
    keras.utils.set_random_seed(5)
    probe = ElectraClassifier.from_pretrained(
        saved_encoder, sequence_length=32, random_encoder=True, freeze_encoder=True
    )
    table = lambda model: model.encoder.embeddings.token_embedding.embeddings.numpy()  # noqa: E731
    assert not np.allclose(table(probe), table(pretrained))  # Re-initialised...
    assert probe.encoder.encoder_config == pretrained.encoder.encoder_config  # ...with the same architecture.
    assert {v.path for v in probe.trainable_weights} == {"head/kernel", "head/bias"}
    before = [w.copy() for w in probe.encoder.get_weights()]
    probe.compile(learning_rate=1e-2)
    probe.fit({"text_a": sst2_dev.text_a[:32]}, sst2_dev.labels[:32], batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, probe.encoder.get_weights()))


def test_head_is_glorot_uniform(saved_encoder):
    """google-research/electra's head is `tf.layers.dense`, whose kernel starts Glorot-uniform: U(±sqrt(6 / (fan_in +
    fan_out))), not the encoder's truncated normal (stddev 0.02)."""
    keras.utils.set_random_seed(2)
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=16)
    head = classifier.get_layer("head")
    assert isinstance(head.kernel_initializer, keras.initializers.GlorotUniform)
    kernel = head.kernel.numpy()
    limit = np.sqrt(6 / (64 + 2))  # hidden_size 64, 2 labels: 0.30.
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.2 and abs(kernel.std() - limit / np.sqrt(3)) < 0.03  # Uniform's spread, not 0.02's.
    assert not head.bias.numpy().any()


def test_compile_follows_the_recipe_for_the_encoder_size(saved_encoder):
    """A 64-wide encoder is "small": lr 3e-4, layer-wise decay 0.8 by the released rule, weight decay 0.01, clipping at
    1.0, no bias correction. Set arguments override the recipe."""
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=16)
    classifier.compile(num_train_steps=100)
    optimizer = classifier.optimizer
    assert classifier.recipe.model_size == "small"
    assert optimizer._learning_rate.learning_rate == pytest.approx(3e-4)
    assert optimizer._learning_rate.warmup_steps == pytest.approx(10.0)
    assert optimizer.global_clipnorm == 1.0 and optimizer.bias_correction is False
    assert optimizer.decoupled_weight_decay == pytest.approx(0.01)
    assert optimizer.lr_multipliers["transformer_layer_1/self_attention_layer/query/kernel"] == pytest.approx(0.8**2)

    classifier.compile(
        num_train_steps=100,
        learning_rate=1e-3,
        model_size="large",
        layerwise_rule="corrected",
        clip_norm=0.0,
        bias_correction=True,
        weight_decay=0.0,
    )
    optimizer = classifier.optimizer
    assert optimizer._learning_rate.learning_rate == pytest.approx(1e-3)  # The override.
    assert optimizer.lr_multipliers["transformer_layer_1/self_attention_layer/query/kernel"] == pytest.approx(
        0.9
    )  # Large.
    assert optimizer.global_clipnorm is None and optimizer.bias_correction is True
    assert optimizer.decoupled_weight_decay == 0.0


def test_batches_cut_to_their_longest_example_give_the_full_length_outputs(saved_encoder, glue_dir):
    """Padding past a batch's longest example is masked out: cutting it changes no output beyond float noise."""
    task = registry.get("mrpc")
    dev = reader.read_split(task, str(glue_dir), "dev")
    classifier = ElectraClassifier.from_task(task, saved_encoder, sequence_length=128)
    features = {key: value[:48] for key, value in dev.features().items()}
    cut = classifier.predict(features, batch_size=16, verbose=0)
    packed = classifier.preprocessor({key: tf.constant(value.astype(str)) for key, value in features.items()})
    assert int(tf.reduce_max(tf.reduce_sum(packed["padding_mask"], 1))) < 120, "some padding to cut"
    full = classifier(packed, training=False).numpy()
    np.testing.assert_allclose(cut, full, atol=2e-5)
    lengths = [batch["token_ids"].shape[1] for batch in classifier.to_dataset(features, batch_size=16)]
    assert all(length % 8 == 0 and length < 128 for length in lengths), lengths


def test_group_by_length_sees_every_example_once_per_epoch_in_bands(saved_encoder, sst2_dev):
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=64)
    features = {"text_a": np.asarray(sst2_dev.text_a[:500], dtype=object)}
    labels = np.arange(500)  # Labels name the examples, to count them.
    lengths = classifier.packed_lengths(features)
    dataset = classifier.to_dataset(features, labels, batch_size=16, shuffle=True, seed=3, group_by_length=True)
    epochs = []
    for _ in range(2):
        seen, batches = [], 0
        for batch, ids in dataset:
            batches += 1
            ids = ids.numpy()
            seen += ids.tolist()
            # One 8-token band per batch, and the batch is cut to the band's top.
            bands = (lengths[ids] - 1) // 8
            assert bands.min() == bands.max(), lengths[ids]
            assert batch["token_ids"].shape[1] == -(-lengths[ids].max() // 8) * 8
        assert sorted(seen) == list(range(500))
        assert batches == int(dataset.cardinality())
        epochs.append(seen)
    assert epochs[0] != epochs[1], "a fresh shuffle each epoch"
    assert int(dataset.cardinality()) < 500 // 16 + 9  # At most one partial batch per band.
    classifier.compile(num_train_steps=4)
    with pytest.raises(ValueError, match="raw strings in a dict"):
        classifier.to_dataset(tf.data.Dataset.from_tensor_slices(features), group_by_length=True)


def test_fit_with_group_by_length_takes_its_schedule_from_the_grouped_batches(saved_encoder, sst2_dev):
    keras.utils.set_random_seed(2)
    classifier = ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=64)
    features = {"text_a": sst2_dev.text_a[:96]}
    classifier.compile(learning_rate=2e-3, layerwise_decay_rate=1.0)
    history = classifier.fit(features, sst2_dev.labels[:96], epochs=2, batch_size=16, verbose=0, group_by_length=True)
    batches = int(
        classifier.to_dataset(features, sst2_dev.labels[:96], batch_size=16, group_by_length=True).cardinality()
    )
    assert classifier.optimizer._learning_rate.total_steps == 2 * batches
    assert np.isfinite(history.history["loss"]).all()
