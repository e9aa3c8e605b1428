"""The TF Serving export: string signature, same predictions in a bare TF process, only allowed ops, warmup."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from electra_tf.export import inference_graph, op_allowlist, serving
from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.tasks import reader, registry
from tests.conftest import repo_root, subprocess_env

CLIENT = repo_root() / "tests" / "export" / "serving_client.py"


@pytest.fixture(scope="module")
def mrpc_texts(glue_dir):
    dev = reader.read_split(registry.get("mrpc"), str(glue_dir), "dev")
    text_a = dev.text_a[:6] + ["", "word " * 400]  # An empty and an over-long input are truncated, not errors.
    text_b = dev.text_b[:6] + ["Something.", ""]
    return {"text_a": text_a, "text_b": text_b}


def _serve(path, inputs):
    result = subprocess.run(
        [sys.executable, str(CLIENT), path],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=True,
        timeout=300,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fresh_process_matches_keras(mrpc_export, mrpc_texts):
    classifier, path = mrpc_export
    assert path.endswith("/1")
    served = _serve(path, mrpc_texts)
    assert served["foreign_modules"] == []
    outputs = served["outputs"]
    logits = classifier.predict({k: np.array(v, dtype=object) for k, v in mrpc_texts.items()}, verbose=0)
    expected = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(np.array(outputs["probabilities"]), expected, atol=1e-5)
    assert outputs["label_id"] == expected.argmax(-1).tolist()
    assert outputs["label"] == [classifier.labels[i] for i in expected.argmax(-1)]


def test_tf1_loader_restores_every_variable(mrpc_export, mrpc_texts):
    """TF Serving (and `saved_model_cli run`) load through the MetaGraph's saver into a Session, not through
    `tf.saved_model.load`. A Keras 3 model tracked inside a tf.Module loads that way, then fails every request with
    "Could not find variable" (keras-team/keras#20095); the export must not."""
    _, path = mrpc_export
    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], path)
        signature = meta_graph.signature_def["serving_default"]
        feed = {signature.inputs[key].name: np.array(values, dtype=object) for key, values in mrpc_texts.items()}
        probabilities = session.run(signature.outputs["probabilities"].name, feed)
    served = tf.saved_model.load(path).signatures["serving_default"](
        **{key: tf.constant(values) for key, values in mrpc_texts.items()}
    )
    np.testing.assert_allclose(probabilities, served["probabilities"].numpy(), atol=1e-6)


def test_empty_huge_and_non_utf8_texts_get_valid_predictions(mrpc_export):
    _, path = mrpc_export
    signature = tf.saved_model.load(path).signatures["serving_default"]
    words, no_spaces = "word " * 20_000, "x" * 100_000  # 100 kB each.
    outputs = signature(
        text_a=tf.constant(["", words, no_spaces, b"caf\xe9 \xff\xfe", ""]),
        text_b=tf.constant([words, "", "", "Fine.", ""]),
    )
    probabilities = outputs["probabilities"].numpy()
    assert probabilities.shape == (5, 2) and np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)
    assert {label.decode() for label in outputs["label"].numpy()} <= {"not_equivalent", "equivalent"}


def test_saved_model_cli_lists_string_inputs(mrpc_export):
    _, path = mrpc_export
    shown = subprocess.run(
        ["saved_model_cli", "show", "--all", "--dir", path],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    ).stdout
    signature = shown[shown.index("signature_def['serving_default']") :]
    for key in ("text_a", "text_b"):
        block = signature[signature.index(f"inputs['{key}']") :]
        assert block.split("dtype:")[1].split()[0] == "DT_STRING"
    assert "outputs['probabilities']" in signature and "outputs['label']" in signature


def test_only_ops_stock_tf_serving_runs(mrpc_export, data_dir):
    _, path = mrpc_export
    shared_list = data_dir.parent / "serving" / "tf_text_ops_in_tf_serving.txt"
    allowed = op_allowlist.tf_text_ops_in_tf_serving()
    if shared_list.exists():  # The package's copy is the project's list.
        lines = shared_list.read_text().splitlines()
        assert allowed == {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    ops = op_allowlist.saved_model_ops(path)
    assert {"FastWordpieceTokenizeWithOffsets", "FastBertNormalize"} <= ops
    assert op_allowlist.disallowed_ops(path) == []
    assert not any(op.startswith("TFText>RoundRobin") for op in ops)


def test_allowlist_catches_round_robin_trimmer(tmp_path):
    class Trims(tf.Module):
        @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)] * 2)
        def trim(self, a, b):
            return tf_text.RoundRobinTrimmer(4).trim([a, b])[0].flat_values

    tf.saved_model.save(Trims(), str(tmp_path))
    assert "TFText>RoundRobinTrim" in op_allowlist.disallowed_ops(str(tmp_path))


def test_warmup_requests_replay(mrpc_export):
    from tensorflow_serving.apis import prediction_log_pb2

    _, path = mrpc_export
    records = list(tf.data.TFRecordDataset(f"{path}/assets.extra/{serving.WARMUP_FILE}").as_numpy_iterator())
    assert len(records) == 2
    signature = tf.saved_model.load(path).signatures["serving_default"]
    for record in records:
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        assert request.model_spec.name == "mrpc" and set(request.inputs) == {"text_a", "text_b"}
        inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
        outputs = signature(**{key: tf.constant(value) for key, value in inputs.items()})
        assert outputs["probabilities"].shape[0] == len(inputs["text_a"])


def test_versions_and_regression(saved_encoder, tmp_path):
    classifier = ElectraClassifier.from_task(registry.get("sts-b"), saved_encoder, sequence_length=32)
    first = serving.export_classifier(classifier, str(tmp_path), warmup=False)
    second = serving.export_classifier(classifier, str(tmp_path), warmup=False)
    assert (first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]) == ("1", "2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2"]  # No staging folder is left behind.
    with pytest.raises(FileExistsError, match="immutable"):
        serving.export_classifier(classifier, str(tmp_path), version=1)
    signature = tf.saved_model.load(second).signatures["serving_default"]
    texts = {"text_a": tf.constant(["A man plays.", ""]), "text_b": tf.constant(["A man is playing.", "x"])}
    expected = classifier.predict({k: v.numpy().astype(object) for k, v in texts.items()}, verbose=0)
    np.testing.assert_allclose(signature(**texts)["score"].numpy(), expected, atol=1e-5)


def test_export_refuses_a_graph_that_drifts_from_keras(saved_encoder, tmp_path, monkeypatch):
    """The serving forward pass is a second implementation: an export whose outputs move from the Keras model's on
    the warmup texts is refused, and no version appears."""
    classifier = ElectraClassifier.from_task(registry.get("mrpc"), saved_encoder, sequence_length=32)
    path = serving.export_classifier(classifier, str(tmp_path / "good"), warmup=False)
    assert serving.check_against_keras(path, classifier) < 1e-5
    original = inference_graph.InferenceClassifier.__call__

    def drifted(self, token_ids, segment_ids, padding_mask):
        return original(self, token_ids, segment_ids, padding_mask) + tf.constant([0.0, 0.05])

    monkeypatch.setattr(inference_graph.InferenceClassifier, "__call__", drifted)
    with pytest.raises(ValueError, match=r"differ from the Keras classifier's by .* not published"):
        serving.export_classifier(classifier, str(tmp_path / "bad"), warmup=False)
    assert not (tmp_path / "bad").exists() or list((tmp_path / "bad").iterdir()) == []
