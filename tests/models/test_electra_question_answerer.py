"""`ElectraQuestionAnswerer`: GR's loss, fit on real SQuAD questions, and answers that are spans of the context."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from electra_tf.models.electra_question_answerer import ElectraQuestionAnswerer
from electra_tf.models.finetuning_model import FinetuningModel
from electra_tf.tasks import squad

WINDOWS = dict(sequence_length=64, doc_stride=32, max_query_length=16)


@pytest.fixture(scope="module")
def v1_split(data_dir):
    return squad.split_by_article(squad.read_squad(str(data_dir / "squad" / "dev-v1.1.json")))


def test_the_loss_is_google_research_electras(saved_encoder):
    keras.utils.set_random_seed(0)
    model = ElectraQuestionAnswerer.from_pretrained(saved_encoder, **WINDOWS)
    rng = np.random.default_rng(0)
    y = {
        "start_positions": tf.constant([0, 7, 9]),
        "end_positions": tf.constant([0, 8, 12]),
        "is_impossible": tf.constant([1, 0, 0]),
    }
    y_pred = {
        "start_logits": tf.constant(rng.normal(size=(3, 64)), tf.float32),
        "end_logits": tf.constant(rng.normal(size=(3, 64)), tf.float32),
        "no_answer_logit": tf.constant([0.3, -1.0, 2.0]),
    }
    log_p = lambda logits, labels: tf.nn.log_softmax(logits).numpy()[np.arange(3), labels.numpy()]  # noqa: E731
    span = -(log_p(y_pred["start_logits"], y["start_positions"]) + log_p(y_pred["end_logits"], y["end_positions"])) / 2
    z, x = y_pred["no_answer_logit"].numpy(), y["is_impossible"].numpy()
    answerable = np.maximum(z, 0) - z * x + np.log1p(np.exp(-np.abs(z)))
    expected = np.sum(span + 0.5 * answerable)  # Summed over the batch, as GR's FinetuningModel.
    assert float(model.compute_loss(y=y, y_pred=y_pred)) == pytest.approx(expected, rel=1e-5)


def test_fit_learns_and_predict_answers_with_spans_of_the_context(saved_encoder, v1_split):
    train, held_out = v1_split
    keras.utils.set_random_seed(1)
    model = ElectraQuestionAnswerer.from_pretrained(saved_encoder, **WINDOWS)
    model.compile(learning_rate=1e-3)
    history = model.fit(train.examples[:96], batch_size=16, epochs=3, seed=0, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert model._auto_schedule.total_steps == 3 * int(model.to_dataset(train.examples[:96], 16).cardinality())
    answers = model.predict(held_out.examples[:8])
    assert len(answers) == 8 and {"answer", "span", "start_char", "end_char", "score"} <= set(answers[0])
    for answer, example in zip(answers, held_out.examples[:8]):
        assert answer["has_answer"] and answer["answer"] == answer["span"] != ""  # 1.1: no threshold.
        assert example.context[answer["start_char"] : answer["end_char"]] == answer["span"]
    raw = model.predict({"question": [held_out.examples[0].question], "context": [held_out.examples[0].context]})
    assert raw[0] == answers[0]


def test_config_round_trip_and_bad_inputs(saved_encoder, v1_split):
    model = ElectraQuestionAnswerer.from_pretrained(saved_encoder, joint=False, no_answer_threshold=-1.0, **WINDOWS)
    clone = ElectraQuestionAnswerer.from_config(model.get_config())
    assert (clone.head.joint, clone.no_answer_threshold, clone.max_answer_length) == (False, -1.0, 30)
    with pytest.raises(ValueError, match="Pass answers inside the examples"):
        model.fit(v1_split[0].examples[:4], y=[1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"Expected a dict with keys \['question', 'context'\]"):
        model.predict({"question": ["q"], "text": ["c"]})
    with pytest.raises(ValueError, match="not one string"):
        model.predict("Who won?")
    with pytest.raises(ValueError, match="exceeds the encoder's max_position_embeddings"):
        ElectraQuestionAnswerer.from_pretrained(saved_encoder, sequence_length=1024)


def test_save_and_load_give_the_same_answers(saved_encoder, v1_split, tmp_path):
    keras.utils.set_random_seed(2)
    model = ElectraQuestionAnswerer.from_pretrained(saved_encoder, no_answer_threshold=-2.75, **WINDOWS)
    model.compile(num_train_steps=2)
    model.fit(v1_split[0].examples[:32], batch_size=16, verbose=0)
    model.save_finetuned(str(tmp_path / "qa"))
    loaded = ElectraQuestionAnswerer.from_finetuned(str(tmp_path / "qa"))
    assert loaded.preprocessor.get_config() == model.preprocessor.get_config() and loaded.no_answer_threshold == -2.75
    examples = v1_split[1].examples[:4]
    assert loaded.predict(examples) == model.predict(examples)
    with pytest.raises(FileNotFoundError, match="it is not a fine-tuned electra_tf question answerer"):
        ElectraQuestionAnswerer.from_finetuned(saved_encoder)


def test_a_functional_classifier_built_first_leaves_the_question_answerer_subclassed(saved_encoder):
    """Keras rewrites the bases of a functional model's classes: the shared fine-tuning part must be a mixin."""
    from electra_tf.models.electra_classifier import ElectraClassifier

    ElectraClassifier.from_pretrained(saved_encoder, num_outputs=2, sequence_length=16)
    model = ElectraQuestionAnswerer.from_pretrained(saved_encoder, **WINDOWS)
    assert type(model).__mro__[1:3] == (FinetuningModel, keras.Model)
