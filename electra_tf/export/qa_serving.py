"""SavedModel export of a question answerer for TF Serving: raw question and context in, the answer text out.

    electra_tf.export.qa_serving.export_question_answerer(model, "exports/squad")   # -> exports/squad/1/

`serving_default` takes `question` and `context`, string `(batch,)`, and returns per pair `answer` (string, "" for
no answer), `span` (the best span's text, kept when the no-answer threshold empties `answer`), `start_char` and
`end_char` (int32 character offsets of the span in the context, -1 without one), `score` (float32) and `has_answer`
(bool); with the answerability classifier (SQuAD 2.0), `no_answer_logit` too: what `predict` returns.
Tokenization, windowing (`QuestionAnsweringPreprocessor`), the forward pass (`InferenceQuestionAnswerer`) and span
selection (`qa_decoding.decode`) all run in the graph, the same code `predict` runs.

A context is answered from at most `max_windows` windows (64 by default: about 8,000 word-pieces at GR's 512 tokens and
stride 128): a longer one, such as 1 MB of text, is tokenized whole (time linear in its length) but answered from
its beginning, with the model's time and memory bounded, where `predict` scores every window; below that length
the two give the same answers.

The export is held to the classifier's bar before it is published: only ops stock TF Serving runs, none that touch
files, and answers identical to `predict`'s (text and offsets; scores within `SCORE_TOLERANCE`) on the warmup
pairs, written through a staging folder into `<export_dir>/<version>/`.
"""

from typing import Optional

import tensorflow as tf

from electra_tf.export import serving
from electra_tf.export.inference_span import InferenceQuestionAnswerer
from electra_tf.models import qa_decoding
from electra_tf.models.qa_preprocessor import CONTEXT, QUESTION

MAX_WINDOWS = 64
SCORE_TOLERANCE = 1e-3
WARMUP_PAIRS = (
    ("", ""),
    ("Who won?", "The Denver Broncos defeated the Carolina Panthers 24–10 to win Super Bowl 50."),
    ("Où est-il né ?", "Frédéric Chopin est né à Żelazowa Wola, près de Varsovie, en 1810. " * 40),
)
_ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")


class QuestionAnsweringServingModule(tf.Module):
    """Preprocessor, forward pass and decoding, as one tf.Module with a string-in, answer-out signature."""

    def __init__(self, model, compute_dtype: str = "float32", max_windows: int = MAX_WINDOWS):
        super().__init__(name="electra_qa_serving")
        if model.preprocessor is None:
            raise ValueError("The model has no preprocessor; export needs one to put the tokenizer in the graph.")
        if max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, but received {max_windows}.")
        self.preprocessor = model.preprocessor
        self.model = InferenceQuestionAnswerer(model, compute_dtype)
        self.max_windows = int(max_windows)
        self.max_answer_length = model.max_answer_length
        self.no_answer_threshold = model.no_answer_threshold
        self.answerable = model.head.answerable
        specs = [tf.TensorSpec([None], tf.string, name=QUESTION), tf.TensorSpec([None], tf.string, name=CONTEXT)]
        self.serve = tf.function(self._serve, input_signature=specs)

    def answer(self, question, context) -> dict:
        """One pair's answer (scalar strings in)."""
        windows = self.preprocessor.windows(question, context, max_windows=self.max_windows)
        outputs = self.model(*(windows[key] for key in _ENCODER_INPUTS))
        answer = qa_decoding.decode(context, windows, outputs, self.max_answer_length, self.no_answer_threshold)
        keys = ["answer", "span", "start_char", "end_char", "score", "has_answer"] + [
            "no_answer_logit"
        ] * self.answerable
        return {key: answer[key] for key in keys}

    def _serve(self, question, context):
        signature = {
            "answer": tf.TensorSpec([], tf.string),
            "span": tf.TensorSpec([], tf.string),
            "start_char": tf.TensorSpec([], tf.int32),
            "end_char": tf.TensorSpec([], tf.int32),
            "score": tf.TensorSpec([], tf.float32),
            "has_answer": tf.TensorSpec([], tf.bool),
        }
        if self.answerable:
            signature["no_answer_logit"] = tf.TensorSpec([], tf.float32)
        return tf.map_fn(lambda pair: self.answer(pair[0], pair[1]), (question, context), fn_output_signature=signature)


def export_question_answerer(
    model,
    export_dir: str,
    version: Optional[int] = None,
    model_name: str = "electra_qa",
    warmup: bool = True,
    compute_dtype: str = "float32",
    max_windows: int = MAX_WINDOWS,
) -> str:
    """Writes `model` (an `ElectraQuestionAnswerer` with a preprocessor) as `<export_dir>/<version>/`; returns it."""
    if compute_dtype != "float32" or model.compute_dtype != "float32":
        raise ValueError(
            f"A question answerer exports in float32 only (compute_dtype={compute_dtype!r}, the model computes in "
            f"{model.compute_dtype}): its answers must equal predict's, and bfloat16 moves span scores by about 1e-2."
        )
    module = QuestionAnsweringServingModule(model, compute_dtype, max_windows)
    return serving.publish(
        module,
        export_dir,
        version,
        lambda staging: check_against_predict(staging, model),
        (QUESTION, CONTEXT),
        model_name,
        warmup,
    )


def check_against_predict(saved_model_dir: str, model, pairs=WARMUP_PAIRS) -> None:
    """Raises `ValueError` (so nothing is published) unless the saved signature answers `pairs` as `predict` does:
    the same text and offsets, scores within `SCORE_TOLERANCE`."""
    questions, contexts = [q for q, _ in pairs], [c for _, c in pairs]
    served = tf.saved_model.load(saved_model_dir).signatures["serving_default"](
        **{QUESTION: tf.constant(questions), CONTEXT: tf.constant(contexts)}
    )
    expected = model.predict({QUESTION: questions, CONTEXT: contexts})
    for i, answer in enumerate(expected):
        got = {
            "answer": served["answer"][i].numpy().decode("utf-8", errors="replace"),
            "span": served["span"][i].numpy().decode("utf-8", errors="replace"),
            "start_char": int(served["start_char"][i]),
            "end_char": int(served["end_char"][i]),
        }
        want = {key: answer[key] for key in got}
        score_gap = abs(float(served["score"][i]) - answer["score"])
        if got != want or not score_gap <= SCORE_TOLERANCE:
            raise ValueError(
                f"The exported graph answers {questions[i]!r} with {got} (score {float(served['score'][i]):.5g}) where "
                f"predict gives {want} (score {answer['score']:.5g}), so it was not published. The serving forward "
                "pass (electra_tf/export/inference_span.py) no longer matches the model: please report it."
            )
