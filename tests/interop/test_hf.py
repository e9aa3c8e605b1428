"""HF transformers interop, checked against PyTorch itself: import, export, round trip, and bad checkpoints.

Needs the `interop` extra (torch, transformers); skipped cleanly without it."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf.interop import hf
from electra_tf.models import saving
from electra_tf.tasks import tag_schemes

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.interop

SIZES = dict(embedding_size=32, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


def _inputs(vocab_size):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, vocab_size, (3, 24)).astype("int32")
    segments = np.zeros_like(ids)
    segments[:, 12:] = 1
    mask = np.ones_like(ids)
    mask[1, 18:] = 0
    return ids, segments, mask


def _torch_outputs(model, ids, segments, mask):
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(ids).long(),
            token_type_ids=torch.tensor(segments).long(),
            attention_mask=torch.tensor(mask).long(),
            output_hidden_states=True,
        )
    return out.hidden_states[-1].numpy(), out.logits.numpy()


def _ours(converted, ids, segments, mask):
    hidden = converted.encoder({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})["sequence_output"]
    return hidden.numpy(), converted.head(hidden).numpy()


@pytest.fixture(params=["ElectraForPreTraining", "ElectraForMaskedLM"])
def hf_dir(request, vocabulary, tmp_path):
    torch.manual_seed(0)
    model = getattr(transformers, request.param)(transformers.ElectraConfig(vocab_size=vocabulary.size, **SIZES)).eval()
    model.save_pretrained(str(tmp_path / "hf"))
    vocabulary.save(str(tmp_path / "hf" / "vocab.txt"))
    return model, str(tmp_path / "hf")


def test_import_matches_pytorch(hf_dir, vocabulary):
    model, directory = hf_dir
    converted = hf.load_hf(directory)
    ids, segments, mask = _inputs(vocabulary.size)
    their_hidden, their_logits = _torch_outputs(model, ids, segments, mask)
    hidden, logits = _ours(converted, ids, segments, mask)
    real = mask.astype(bool)
    assert np.abs(hidden - their_hidden)[real].max() <= 1e-4
    if converted.kind == saving.DISCRIMINATOR:
        assert np.abs(logits - their_logits)[real].max() <= 1e-4
    else:  # MLM logits over the vocabulary at every position.
        assert np.abs(logits - their_logits)[real].max() <= 1e-4
    assert converted.encoder.encoder_config.hidden_act == "gelu"  # HF's exact GELU.


def test_export_loads_in_pytorch_and_round_trips(hf_dir, vocabulary, tmp_path):
    model, directory = hf_dir
    converted = hf.load_hf(directory)
    hf.save_hf(converted, str(tmp_path / "exported"))
    reloaded = type(model).from_pretrained(str(tmp_path / "exported")).eval()
    ids, segments, mask = _inputs(vocabulary.size)
    _, their_logits = _torch_outputs(reloaded, ids, segments, mask)
    _, logits = _ours(converted, ids, segments, mask)
    assert np.abs(logits - their_logits)[mask.astype(bool)].max() <= 1e-4
    # ours -> HF -> ours is bit-identical.
    again = hf.load_hf(str(tmp_path / "exported"))
    for a, b in zip(converted.encoder.weights + converted.head.weights, again.encoder.weights + again.head.weights):
        assert a.path == b.path and np.array_equal(a.numpy(), b.numpy()), a.path


def test_saved_checkpoint_round_trip_and_finetune_start(hf_dir, tmp_path, glue_dir):
    _, directory = hf_dir
    converted = hf.load_hf(directory)
    saving.save(converted, str(tmp_path / "ours"))
    loaded = saving.load(str(tmp_path / "ours"))
    assert loaded.kind == converted.kind and loaded.head_act == converted.head_act
    for a, b in zip(converted.head.weights, loaded.head.weights):
        assert np.array_equal(a.numpy(), b.numpy())
    from electra_tf.models.electra_classifier import ElectraClassifier

    classifier = ElectraClassifier.from_pretrained(str(tmp_path / "ours"), sequence_length=16)
    np.testing.assert_array_equal(
        classifier.encoder.embeddings.token_embedding.embeddings.numpy(),
        converted.encoder.embeddings.token_embedding.embeddings.numpy(),
    )


def test_bad_checkpoints(hf_dir, tmp_path):
    _, directory = hf_dir
    weights = os.path.join(directory, "model.safetensors")
    data = open(weights, "rb").read()
    bad = tmp_path / "truncated"
    os.makedirs(bad)
    for name in ("config.json", "vocab.txt"):
        (bad / name).write_bytes(open(os.path.join(directory, name), "rb").read())
    (bad / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable safetensors file .* truncated"):
        hf.load_hf(str(bad))

    (bad / "model.safetensors").write_bytes(data)
    config = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps(dict(config, intermediate_size=256)))
    with pytest.raises(ValueError, match="the config's sizes do not match the weights"):
        hf.load_hf(str(bad))
    from tests.cli.test_binaries import run_binary

    result = run_binary("convert", "--from=hf", f"--src={bad}", f"--dst={tmp_path / 'dst'}")
    assert result.returncode == 2 and "do not match the weights" in result.stderr
    assert not (tmp_path / "dst").exists()  # Nothing is written on failure.

    (bad / "config.json").write_text(json.dumps(dict(config, architectures=["BertForMaskedLM"], model_type="bert")))
    with pytest.raises(ValueError, match="'BertForMaskedLM' .* is not one electra_tf imports"):
        hf.load_hf(str(bad))

    (bad / "config.json").write_text(json.dumps(config))
    os.remove(bad / "model.safetensors")
    (bad / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(ValueError, match="pickle file that can run code"):
        hf.load_hf(str(bad))


def test_finetune_starts_from_an_imported_checkpoint(hf_dir, tmp_path, glue_dir):
    from tests.cli.test_binaries import run_binary

    _, directory = hf_dir
    converted = run_binary("convert", "--from=hf", f"--src={directory}", f"--dst={tmp_path / 'imported'}")
    assert converted.returncode == 0, converted.stderr
    result = run_binary(
        "finetune",
        "--task=rte",
        f"--data_dir={glue_dir}",
        f"--pretrained={tmp_path / 'imported'}",
        f"--model_dir={tmp_path / 'rte'}",
        "--max_train_examples=16",
        "--batch_size=8",
        "--sequence_length=16",
        "--epochs=1",
        "--keras_verbose=0",
        "--novalidate_every_epoch",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["task"] == "rte"


def test_question_answering_import_matches_pytorch(vocabulary, tmp_path):
    torch.manual_seed(1)
    config = transformers.ElectraConfig(vocab_size=vocabulary.size, **SIZES)
    model = transformers.ElectraForQuestionAnswering(config).eval()
    model.save_pretrained(str(tmp_path / "hf"))
    vocabulary.save(str(tmp_path / "hf" / "vocab.txt"))
    ours = hf.load_hf_question_answerer(str(tmp_path / "hf"), sequence_length=64, doc_stride=16, max_query_length=8)
    ids, segments, mask = _inputs(vocabulary.size)
    with torch.no_grad():
        theirs = model(
            input_ids=torch.tensor(ids).long(),
            token_type_ids=torch.tensor(segments).long(),
            attention_mask=torch.tensor(mask).long(),
        )
    outputs = ours({"token_ids": ids, "segment_ids": segments, "padding_mask": mask, "start_positions": ids[:, 0] * 0})
    answer_mask = np.maximum(mask * segments, np.eye(1, ids.shape[1], dtype=int))  # [CLS], context, final [SEP].
    penalty = (1 - answer_mask) * 1000.0  # google-research/electra's mask: HF has none.
    for name, logits in (("start_logits", theirs.start_logits), ("end_logits", theirs.end_logits)):
        np.testing.assert_allclose(outputs[name].numpy() + penalty, logits.numpy(), atol=1e-4)
    answers = ours.predict({"question": ["Who won?"], "context": ["The Denver Broncos won the game in 2016."]})
    assert answers[0]["start_char"] == -1 or answers[0]["span"] in "The Denver Broncos won the game in 2016."
    with pytest.raises(
        ValueError, match="is an ElectraForQuestionAnswering .* import it with load_hf_question_answerer"
    ):
        hf.load_hf(str(tmp_path / "hf"))
    from electra_tf.models.electra_question_answerer import ElectraQuestionAnswerer
    from tests.cli.test_binaries import run_binary

    result = run_binary("convert", "--from=hf", f"--src={tmp_path / 'hf'}", f"--dst={tmp_path / 'qa'}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"written": [str(tmp_path / "qa")]}
    converted = ElectraQuestionAnswerer.from_finetuned(str(tmp_path / "qa"))
    assert converted.preprocessor.sequence_length == 384 and not converted.head.joint
    again = converted(
        {"token_ids": ids, "segment_ids": segments, "padding_mask": mask, "start_positions": ids[:, 0] * 0}
    )
    np.testing.assert_array_equal(again["start_logits"].numpy(), outputs["start_logits"].numpy())
    refused = run_binary("convert", "--from=hf", "--to=hf", f"--src={tmp_path / 'hf'}", f"--dst={tmp_path / 'back'}")
    assert refused.returncode == 2 and "it converts to electra_tf only" in refused.stderr


def test_token_classification_import_matches_pytorch(vocabulary, tmp_path):
    torch.manual_seed(2)
    labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    config = transformers.ElectraConfig(
        vocab_size=vocabulary.size, id2label=dict(enumerate(labels)), label2id={v: k for k, v in enumerate(labels)}
    )
    config.update(SIZES)
    model = transformers.ElectraForTokenClassification(config).eval()
    model.save_pretrained(str(tmp_path / "hf"))
    vocabulary.save(str(tmp_path / "hf" / "vocab.txt"))
    ours = hf.load_hf_tagger(str(tmp_path / "hf"), sequence_length=64)
    assert ours.labels == labels and ours.preprocessor.segment_id == 0  # HF's segment id.
    ids, segments, mask = _inputs(vocabulary.size)
    with torch.no_grad():
        theirs = model(
            input_ids=torch.tensor(ids).long(),
            token_type_ids=torch.tensor(segments).long(),
            attention_mask=torch.tensor(mask).long(),
        ).logits.numpy()
    logits = ours({"token_ids": ids, "segment_ids": segments, "padding_mask": mask}).numpy()
    np.testing.assert_allclose(logits[mask == 1], theirs[mask == 1], atol=1e-4)
    # HF's own word-level tagging: the first piece of each word, token type 0.
    words = ["Zoë", "lives", "in", "São", "Paulo"]
    features = ours.preprocessor.windows(tf.constant(words))
    with torch.no_grad():
        word_logits = model(
            input_ids=torch.tensor(features["token_ids"].numpy()).long(),
            attention_mask=torch.tensor(features["padding_mask"].numpy()).long(),
        ).logits.numpy()
    first = features["word_index"].numpy() >= 0
    expected = [labels[i] for i in word_logits[first].argmax(-1)]
    assert ours.predict([words]) == [tag_schemes.convert(expected, "IOB2")]

    from electra_tf.models.electra_tagger import ElectraTagger
    from tests.cli.test_binaries import run_binary

    result = run_binary("convert", "--from=hf", f"--src={tmp_path / 'hf'}", f"--dst={tmp_path / 'tagger'}")
    assert result.returncode == 0, result.stderr
    converted = ElectraTagger.from_finetuned(str(tmp_path / "tagger"))
    assert converted.labels == labels and converted.predict([words]) == ours.predict([words])
    with pytest.raises(ValueError, match="is an ElectraForTokenClassification .* import it with load_hf_tagger"):
        hf.load_hf(str(tmp_path / "hf"))
    written = json.loads((tmp_path / "hf" / "config.json").read_text())
    written["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
    (tmp_path / "hf" / "config.json").write_text(json.dumps(written))
    with pytest.raises(ValueError, match="id2label: Label 'LABEL_0' is not O or B-, I-, E-, S-"):
        hf.load_hf_tagger(str(tmp_path / "hf"))
    written["id2label"] = {"0": "O", "2": "B-PER"}
    (tmp_path / "hf" / "config.json").write_text(json.dumps(written))
    with pytest.raises(ValueError, match="id2label must name every label id from 0"):
        hf.load_hf_tagger(str(tmp_path / "hf"))
