"""The tagging export: raw text in, chunks out; equal to `extract`, in a bare process and through TF1."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.export import op_allowlist, tagging_serving
from electra_tf.models.electra_tagger import ElectraTagger
from electra_tf.tasks import conll, tag_schemes
from tests.conftest import repo_root, subprocess_env

CLIENT = repo_root() / "tests" / "export" / "serving_client.py"


@pytest.fixture(scope="module")
def tagging_export(saved_encoder, data_dir, tmp_path_factory):
    """A NER tagger fine-tuned briefly on CoNLL-2003, exported; (model, path, test texts)."""
    train = conll.read_split("conll2003", "train", str(data_dir))
    train.sentences = train.sentences[:128]
    keras.utils.set_random_seed(0)
    model = ElectraTagger.from_pretrained(saved_encoder, tag_schemes.labels_for(train.types()), sequence_length=24)
    model.compile(learning_rate=3e-3)
    model.fit(train, epochs=2, batch_size=16, verbose=0)
    path = tagging_serving.export_tagger(model, str(tmp_path_factory.mktemp("export") / "ner"))
    test = conll.read_split("conll2003", "test", str(data_dir))
    texts = [" ".join(s.words) for s in test.sentences[:200]]
    return model, path, texts


def _served(path, texts) -> list:
    signature = tf.saved_model.load(path).signatures["serving_default"]
    return tagging_serving.served_chunks(signature(text=tf.constant(texts)))


def test_chunks_equal_extract_on_test_sentences(tagging_export):
    model, path, texts = tagging_export
    served = _served(path, texts)
    assert served == model.extract(texts)
    assert sum(len(chunks) for chunks in served) > 20  # Not vacuous: the tagger finds entities.


def test_long_empty_and_non_ascii_inputs(tagging_export):
    model, path, texts = tagging_export
    inputs = [
        "",
        "   ",
        "Zoë Müller flew from São Paulo to Kraków .",
        " ".join(texts[:12]),
    ]  # The last: many windows, under MAX_WINDOWS.
    served = _served(path, inputs)
    assert served == model.extract(inputs) and served[0] == served[1] == []
    for text, chunks in zip(inputs, served):
        assert all(text[c["start_char"] : c["end_char"]] == c["text"] for c in chunks)


def test_a_megabyte_text_is_read_in_bounded_windows(tagging_export):
    _, path, texts = tagging_export
    text = (texts[1] + " ") * (1_000_000 // (len(texts[1]) + 1))
    served = _served(path, [text])[0]
    assert max(c["end_char"] for c in served) < len(text) // 10  # Only the first MAX_WINDOWS windows are tagged.


def test_bare_process_tf1_session_and_allowlist(tagging_export):
    model, path, texts = tagging_export
    result = subprocess.run(
        [sys.executable, str(CLIENT), path], input=json.dumps({"text": texts[:4]}), capture_output=True, text=True,
        env=subprocess_env(), check=True, timeout=300,
    )  # fmt: skip
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["foreign_modules"] == []
    expected = model.extract(texts[:4])
    assert served["outputs"]["num_chunks"] == [len(chunks) for chunks in expected]
    assert [row[: len(chunks)] for row, chunks in zip(served["outputs"]["text"], expected)] == [
        [c["text"] for c in chunks] for chunks in expected
    ]
    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as session:
        signature = tf.compat.v1.saved_model.load(session, ["serve"], path).signature_def["serving_default"]
        feed = {signature.inputs["text"].name: np.array(texts[:4], dtype=object)}
        counts = session.run(signature.outputs["num_chunks"].name, feed)
    assert counts.tolist() == served["outputs"]["num_chunks"]
    assert op_allowlist.disallowed_ops(path) == []
    assert {"FastWordpieceTokenizeWithOffsets", "WhitespaceTokenizeWithOffsetsV2"} & op_allowlist.saved_model_ops(path)
    assert tf.io.gfile.exists(f"{path}/assets.extra/tf_serving_warmup_requests")


def test_an_export_that_drifts_from_extract_is_refused(tagging_export, tmp_path, monkeypatch):
    model, _, _ = tagging_export
    original = tagging_serving.TaggingServingModule.chunks

    def drifted(self, text):
        outputs = original(self, text)
        return dict(outputs, start_char=outputs["start_char"] + 1)

    monkeypatch.setattr(tagging_serving.TaggingServingModule, "chunks", drifted)
    with pytest.raises(ValueError, match="so it was not published"):
        tagging_serving.export_tagger(model, str(tmp_path / "drift"), warmup=False)
    assert not (tmp_path / "drift").exists() or not list((tmp_path / "drift").iterdir())
