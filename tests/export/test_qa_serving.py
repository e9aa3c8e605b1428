"""The question-answering export: raw strings in, answers out; equal to `predict`, in a bare process and through TF1."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.export import op_allowlist, qa_serving
from electra_tf.models.electra_question_answerer import ElectraQuestionAnswerer
from electra_tf.tasks import squad
from tests.conftest import repo_root, subprocess_env

CLIENT = repo_root() / "tests" / "export" / "serving_client.py"


@pytest.fixture(scope="module")
def qa_export(saved_encoder, data_dir, tmp_path_factory):
    """A question answerer fine-tuned briefly on SQuAD 2.0 training articles, exported; (model, path, held-out)."""
    train, held_out = squad.split_by_article(squad.read_squad(str(data_dir / "squad" / "dev-v2.0-half.json")))
    keras.utils.set_random_seed(0)
    model = ElectraQuestionAnswerer.from_pretrained(
        saved_encoder, sequence_length=64, doc_stride=24, max_query_length=16, no_answer_threshold=0.0
    )
    model.compile(learning_rate=1e-3)
    model.fit(train.examples[:96], batch_size=16, verbose=0)
    logits = sorted(answer["no_answer_logit"] for answer in model.predict(held_out.examples[::40]))
    # Some answered, some not; between two logits, so float rounding cannot move an example across it.
    model.no_answer_threshold = (logits[len(logits) // 2] + logits[len(logits) // 2 + 1]) / 2
    path = qa_serving.export_question_answerer(model, str(tmp_path_factory.mktemp("export") / "squad"))
    return model, path, held_out.examples[::40]


def _served(path, questions, contexts) -> list:
    outputs = tf.saved_model.load(path).signatures["serving_default"](
        question=tf.constant(questions), context=tf.constant(contexts)
    )
    return [
        {
            "answer": outputs["answer"][i].numpy().decode(),
            "span": outputs["span"][i].numpy().decode(),
            "start_char": int(outputs["start_char"][i]),
            "end_char": int(outputs["end_char"][i]),
            "has_answer": bool(outputs["has_answer"][i]),
            "score": float(outputs["score"][i]),
            "no_answer_logit": float(outputs["no_answer_logit"][i]),
        }
        for i in range(len(questions))
    ]


def _same(served: list, predicted: list) -> None:
    for got, want in zip(served, predicted, strict=True):
        keys = ("answer", "span", "start_char", "end_char", "has_answer")
        assert {k: got[k] for k in keys} == {k: want[k] for k in keys}
        assert got["score"] == pytest.approx(want["score"], abs=1e-4)
        assert got["no_answer_logit"] == pytest.approx(want["no_answer_logit"], abs=1e-4)


def test_answers_equal_predict_on_held_out_articles(qa_export):
    model, path, examples = qa_export
    served = _served(path, [e.question for e in examples], [e.context for e in examples])
    predicted = model.predict(examples)
    _same(served, predicted)
    assert len(examples) == 41 and 0 < sum(p["has_answer"] for p in predicted) < len(examples)
    for answer, example in zip(served, examples):
        assert answer["start_char"] < 0 or example.context[answer["start_char"] : answer["end_char"]] == answer["span"]
        assert answer["answer"] == (answer["span"] if answer["has_answer"] else "")


def test_long_empty_and_non_ascii_inputs(qa_export):
    model, path, examples = qa_export
    long_context = " ".join(e.context for e in examples[:6])  # Many windows of 64 tokens.
    questions = ["Where was Chopin born?", "", examples[0].question, "x"]
    contexts = [
        "Frédéric Chopin est né à Żelazowa Wola, près de Varsovie, en 1810.",
        examples[0].context,
        long_context,
        "",
    ]
    served = _served(path, questions, contexts)
    _same(served, model.predict({"question": questions, "context": contexts}))
    assert served[3] == {**served[3], "answer": "", "span": "", "start_char": -1, "has_answer": False}  # No context.
    window_count = model.preprocessor.windows(tf.constant(questions[2]), tf.constant(long_context))["token_ids"]
    assert window_count.shape[0] > 10
    for answer, context in zip(served, contexts):
        assert answer["start_char"] < 0 or context[answer["start_char"] : answer["end_char"]] == answer["span"]


def test_a_megabyte_context_is_read_in_bounded_windows(qa_export):
    _, path, examples = qa_export
    context = (examples[1].context + " ") * (1_000_000 // (len(examples[1].context) + 1))
    assert len(context.encode()) > 900_000
    served = _served(path, [examples[1].question], [context])[0]
    assert served["start_char"] < 64 * 64 * 10  # From the first MAX_WINDOWS windows: about 24 word-pieces each here.


def test_bare_process_tf1_session_and_allowlist(qa_export, data_dir):
    model, path, examples = qa_export
    inputs = {"question": [e.question for e in examples[:3]], "context": [e.context for e in examples[:3]]}
    result = subprocess.run(
        [sys.executable, str(CLIENT), path], input=json.dumps(inputs), capture_output=True, text=True,
        env=subprocess_env(), check=True, timeout=300,
    )  # fmt: skip
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["foreign_modules"] == []
    assert served["outputs"]["answer"] == [a["answer"] for a in model.predict(examples[:3])]
    graph = tf.Graph()
    with tf.compat.v1.Session(graph=graph) as session:
        signature = tf.compat.v1.saved_model.load(session, ["serve"], path).signature_def["serving_default"]
        feed = {signature.inputs[key].name: np.array(values, dtype=object) for key, values in inputs.items()}
        answers = session.run(signature.outputs["answer"].name, feed)
    assert [a.decode() for a in answers] == served["outputs"]["answer"]
    assert op_allowlist.disallowed_ops(path) == []
    assert {"FastWordpieceTokenizeWithOffsets", "FastBertNormalize"} <= op_allowlist.saved_model_ops(path)


def test_an_export_that_drifts_from_predict_is_refused(qa_export, tmp_path, monkeypatch):
    model, _, _ = qa_export
    original = qa_serving.InferenceQuestionAnswerer.__call__

    def drifted(self, *inputs):
        outputs = original(self, *inputs)
        return dict(outputs, start_top_scores=outputs["start_top_scores"] + 0.5)

    monkeypatch.setattr(qa_serving.InferenceQuestionAnswerer, "__call__", drifted)
    with pytest.raises(ValueError, match="so it was not published"):
        qa_serving.export_question_answerer(model, str(tmp_path / "drift"), warmup=False)
    assert not (tmp_path / "drift").exists() or not list((tmp_path / "drift").iterdir())
