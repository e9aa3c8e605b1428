"""ElectraTagger: GR's loss, graph decoding equal to conlleval's reading, fit/predict/extract, save and load."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models import tagging_decoding
from electra_tf.models.electra_tagger import ElectraTagger
from electra_tf.models.tagging_preprocessor import IGNORED
from electra_tf.tasks import conll, tag_schemes, tagging_metrics


def test_graph_chunks_equal_conllevals_on_random_sequences():
    labels = ["O"] + [f"{prefix}-{kind}" for kind in ("A", "B") for prefix in "BIES"]
    prefix_codes, type_codes, types = tagging_decoding.label_tables(labels)
    rng = random.Random(0)
    for _ in range(1500):
        ids = [rng.randrange(len(labels)) for _ in range(rng.randrange(0, 9))]
        kinds, starts, ends = tagging_decoding.chunk_spans(tf.constant(ids, tf.int32), prefix_codes, type_codes)
        found = [(types[k], s, e) for k, s, e in zip(kinds.numpy(), starts.numpy(), ends.numpy())]
        assert found == tagging_metrics.chunks([labels[i] for i in ids])
    with pytest.raises(ValueError, match="Label 'X-A' is not O or B-, I-, E-, S-"):
        tagging_decoding.label_tables(["O", "X-A"])
    with pytest.raises(ValueError, match="must hold O exactly once"):
        tagging_decoding.label_tables(["B-A", "I-A"])


def test_words_without_a_window_are_o_whatever_its_id():
    """HF checkpoints need not put O first: a word beyond `max_windows` takes O's id, not id 0."""
    logits = tf.constant([[[0.0, 0.0, 5.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]]])  # Position 1 predicts label 1.
    word_index = tf.constant([[IGNORED, 0, IGNORED]])
    labels = tagging_decoding.word_labels(logits, word_index, 3, outside=2)
    assert labels.numpy().tolist() == [1, 2, 2]


@pytest.fixture(scope="module")
def trained(saved_encoder, data_dir):
    keras.utils.set_random_seed(0)
    train = conll.read_split("conll2003", "train", str(data_dir))
    train.sentences = train.sentences[:96]
    model = ElectraTagger.from_pretrained(saved_encoder, tag_schemes.labels_for(train.types()), sequence_length=16)
    model.compile(learning_rate=3e-3)
    history = model.fit(train, epochs=2, batch_size=16, verbose=0)
    return model, train, history


def test_loss_is_grs_sum_over_labelled_positions(trained):
    model, train, history = trained
    assert history.history["loss"][1] < history.history["loss"][0]
    features, labels = next(iter(model.to_dataset(train, batch_size=8)))
    logits = model(features, training=False)
    expected = 0.0
    for window_logits, window_labels in zip(logits.numpy(), labels.numpy()):
        for row, label in zip(window_logits, window_labels):
            if label != IGNORED:
                expected -= row[label] - np.log(np.exp(row).sum())
    assert float(model.compute_loss(y=labels, y_pred=logits)) == pytest.approx(expected, rel=1e-5)


def test_predict_and_extract_agree_and_offsets_are_characters(trained, tmp_path):
    model, train, _ = trained
    sentences = [list(s.words) for s in train.sentences[:6]] + [["Zoë", "Müller", "visited", "São", "Paulo", "."]]
    tags = model.predict(sentences)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    texts = ["  ".join(words) + " " for words in sentences]  # Runs of whitespace move the offsets, not the words.
    found = 0
    for text, words, sentence_tags in zip(texts, sentences, tags):
        spans = model.extract([text])[0]
        found += len(spans)
        expected = tagging_metrics.chunks(sentence_tags)
        assert [(s["type"], s["text"]) for s in spans] == [(k, "  ".join(words[a:b])) for k, a, b in expected]
        for span in spans:
            assert text[span["start_char"] : span["end_char"]] == span["text"]
    assert found > 3  # Not vacuous: the trained model tags entities.
    model.save_finetuned(str(tmp_path / "tagger"))
    loaded = ElectraTagger.from_finetuned(str(tmp_path / "tagger"))
    assert loaded.labels == model.labels and loaded.predict(sentences) == tags
    assert loaded.preprocessor.get_config() == model.preprocessor.get_config()


def test_bad_inputs(trained):
    model, _, _ = trained
    with pytest.raises(ValueError, match="predict takes sentences as lists of words"):
        model.predict(["EU", "rejects"])
    with pytest.raises(ValueError, match="extract takes a sequence of texts"):
        model.extract("EU rejects German call")
    with pytest.raises(ValueError, match=r"Chunk types \['NP'\] are not among this tagger's labels"):
        model.label_ids(["B-NP"])
    assert model.predict([[]]) == [[]] and model.extract([""]) == [[]]
