"""`ElectraQuestionAnswerer`: a pre-trained ELECTRA encoder with google-research/electra's SQuAD head, Keras-style.

    model = ElectraQuestionAnswerer.from_pretrained("data/models/tiny/discriminator")
    model.compile()                            # The fine-tuning recipe for the encoder's size.
    model.fit(squad.read_squad("train-v1.1.json").examples, epochs=2, batch_size=32)
    model.predict({"question": ["Who won?"], "context": ["The Broncos won."]})   # answers with offsets

Questions and contexts are raw strings: `QuestionAnsweringPreprocessor` cuts them into windows in `tf.data` (and in
the serving graph), the model scores each window, and `qa_decoding.decode` picks each example's answer, all in graph
ops, so `predict` and the served model give the same answers.

The loss is google-research/electra's: per window, the mean of the start and end cross-entropies plus 0.5 times the
answerability (no-answer) sigmoid cross-entropy, summed over the batch.
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from electra_tf.layers.span_head import SpanHead
from electra_tf.models import qa_decoding, saving
from electra_tf.models.finetuning_model import FinetuningModel
from electra_tf.models.qa_preprocessor import CONTEXT, QUESTION, QuestionAnsweringPreprocessor, byte_span

MODEL_FILE = "question_answerer.keras"
ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")
LABELS = ("start_positions", "end_positions", "is_impossible")


@keras.saving.register_keras_serializable(package="electra_tf")
class ElectraQuestionAnswerer(FinetuningModel, keras.Model):
    """An encoder and a `SpanHead`: answers to questions as spans of their contexts.

    Args:
        encoder: `ElectraEncoder`.
        joint: bool. GR's joint start-end head (True), or independent start and end logits (HF's). Defaults to True.
        answerable: bool. GR's answerability classifier, for SQuAD 2.0 (GR trains it on 1.1 too, with every label
            0). Defaults to True.
        beam_size: int. Candidates per window at inference. Defaults to 20.
        answerable_weight: float. Weight of the no-answer loss. Defaults to 0.5 (GR's).
        max_answer_length: int. Longest answer, in tokens. Defaults to 30.
        no_answer_threshold: float or None. `predict` answers "" where the no-answer logit is above it; None never
            does (SQuAD 1.1). Defaults to None.
        preprocessor: `QuestionAnsweringPreprocessor` or None. Needed for raw strings. Not serialized.
    """

    MODEL_FILE = MODEL_FILE
    PREPROCESSOR_CLASS = QuestionAnsweringPreprocessor
    KIND = "question answerer"

    def __init__(
        self,
        encoder,
        joint: bool = True,
        answerable: bool = True,
        beam_size: int = 20,
        answerable_weight: float = 0.5,
        max_answer_length: int = 30,
        no_answer_threshold: Optional[float] = None,
        preprocessor: Optional[QuestionAnsweringPreprocessor] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.head = SpanHead(joint=joint, answerable=answerable, beam_size=beam_size, name="span_head")
        self.answerable_weight = float(answerable_weight)
        self.max_answer_length = int(max_answer_length)
        self.no_answer_threshold = no_answer_threshold
        self.preprocessor = preprocessor

    @property
    def no_answer_threshold(self) -> Optional[float]:
        """The no-answer logit above which `predict` answers "" (None: never). Setting it applies to the next call."""
        return self._no_answer_threshold

    @no_answer_threshold.setter
    def no_answer_threshold(self, value: Optional[float]) -> None:
        self._no_answer_threshold = None if value is None else float(value)
        self._answer_function = None  # Traced with the old threshold.

    @classmethod
    def from_pretrained(
        cls,
        directory: str,
        sequence_length: int = 512,
        doc_stride: int = 128,
        max_query_length: int = 64,
        random_encoder: bool = False,
        **kwargs,
    ) -> "ElectraQuestionAnswerer":
        """A question answerer on a saved encoder (`<model_dir>/discriminator` of `bin/pretrain`).

        Args:
            directory: str. A saved encoder folder.
            sequence_length, doc_stride, max_query_length: the windows (`QuestionAnsweringPreprocessor`); the
                defaults are GR's for SQuAD.
            random_encoder: bool. Keep the architecture and vocabulary but re-initialize the weights: the control
                that shows what pre-training bought. Defaults to False.
            **kwargs: the constructor's arguments.
        """
        encoder, vocabulary, settings = saving.load_encoder(directory)
        if random_encoder:
            encoder = type(encoder).from_config(encoder.get_config())
        saving.check_sequence_length(encoder, sequence_length, directory)
        preprocessor = QuestionAnsweringPreprocessor(
            vocabulary, sequence_length, doc_stride, max_query_length, settings["lower_case"], settings["strip_accents"]
        )
        return cls(encoder, preprocessor=preprocessor, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "joint": self.head.joint,
            "answerable": self.head.answerable,
            "beam_size": self.head.beam_size,
            "answerable_weight": self.answerable_weight,
            "max_answer_length": self.max_answer_length,
            "no_answer_threshold": self.no_answer_threshold,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**dict(config, encoder=keras.saving.deserialize_keras_object(config["encoder"])))

    # The network.

    def call(self, inputs, training=False):
        """Window features in; the `SpanHead`'s outputs. With `start_positions` (training and evaluation), the
        joint head's end logits read the gold start; without them, the outputs are decoding's candidates."""
        sequence = self.encoder({name: inputs[name] for name in ENCODER_INPUTS}, training=training)["sequence_output"]
        first = tf.one_hot(0, tf.shape(inputs["token_ids"])[1], dtype=tf.int32)[tf.newaxis, :]
        answer_mask = tf.maximum(
            tf.cast(inputs["padding_mask"], tf.int32) * tf.cast(inputs["segment_ids"], tf.int32), first
        )
        return self.head(sequence, answer_mask, inputs.get("start_positions"))

    def default_loss(self):
        return None  # `compute_loss` is GR's combined loss.

    def default_metrics(self):
        return None  # Span metrics (EM, F1) need whole examples: `squad_metrics` on `predict`'s answers.

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        del x, sample_weight, training
        cross_entropy = keras.losses.sparse_categorical_crossentropy
        span = 0.5 * (
            cross_entropy(y["start_positions"], y_pred["start_logits"], from_logits=True)
            + cross_entropy(y["end_positions"], y_pred["end_logits"], from_logits=True)
        )
        if "no_answer_logit" in y_pred:
            labels = tf.cast(y["is_impossible"], tf.float32)
            span += self.answerable_weight * tf.nn.sigmoid_cross_entropy_with_logits(labels, y_pred["no_answer_logit"])
        return tf.reduce_sum(span)

    # Data.

    def to_dataset(self, examples, batch_size: int = 32, shuffle: bool = False, seed=None) -> tf.data.Dataset:
        """Training windows `(features, labels)`, batched, from `squad.Example`s (the first answer of each, as GR).

        The number of batches is counted up front, so `fit` can size the recipe's schedule."""
        if self.preprocessor is None:
            raise ValueError("This model has no preprocessor, so it cannot take raw strings.")
        columns = _training_columns(examples)
        windows = tf.data.Dataset.from_tensor_slices(columns).map(
            lambda e: self.preprocessor.windows(e[QUESTION], e[CONTEXT], e["answer"], e["is_impossible"]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        count = int(
            windows.reduce(np.int64(0), lambda total, w: total + tf.cast(tf.shape(w["token_ids"])[0], tf.int64))
        )
        windows = windows.unbatch().apply(tf.data.experimental.assert_cardinality(count))
        if shuffle:
            windows = windows.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        keys = ENCODER_INPUTS + ("start_positions",)
        return (
            windows.batch(batch_size)
            .map(lambda w: ({k: w[k] for k in keys}, {k: w[k] for k in LABELS}))
            .prefetch(tf.data.AUTOTUNE)
        )

    def fit(self, x=None, y=None, batch_size=None, epochs=1, shuffle=True, seed=None, **kwargs):
        """`keras.Model.fit` on `squad.Example`s (or a dataset from `to_dataset`)."""
        if y is not None:
            raise ValueError("Pass answers inside the examples (squad.Example), not as y.")
        dataset = x if isinstance(x, tf.data.Dataset) else self.to_dataset(x, batch_size or 32, shuffle, seed)
        self.size_schedule(dataset, epochs, kwargs.get("steps_per_epoch"))
        return super().fit(dataset, epochs=epochs, shuffle=False, **kwargs)

    def predict(self, x, **kwargs) -> list:
        """Answers: one dict per example with `answer`, `span`, `start_char`, `end_char`, `score`,
        `no_answer_logit` and `has_answer` (see `qa_decoding.decode`).

        Args:
            x: `squad.Example`s, or a dict with `question` and `context` string sequences.
        """
        del kwargs
        questions, contexts = _texts(x)
        answer = self.answer_function()
        results = []
        for question, context in zip(questions, contexts, strict=True):
            outputs = answer(tf.constant(question), tf.constant(context))
            results.append({key: _python(value) for key, value in outputs.items()})
        return results

    def answer_function(self):
        """A `tf.function` from one (question, context) pair to its decoded answer: what serving exports too."""
        if self._answer_function is None:
            if self.preprocessor is None:
                raise ValueError("This model has no preprocessor, so it cannot take raw strings.")

            @tf.function(
                input_signature=[
                    tf.TensorSpec([], tf.string, name=QUESTION),
                    tf.TensorSpec([], tf.string, name=CONTEXT),
                ]
            )
            def answer(question, context):
                windows = self.preprocessor.windows(question, context)
                outputs = self({k: windows[k] for k in ENCODER_INPUTS}, training=False)
                return qa_decoding.decode(context, windows, outputs, self.max_answer_length, self.no_answer_threshold)

            self._answer_function = answer
        return self._answer_function


def _training_columns(examples) -> dict:
    questions, contexts, answers, impossible = [], [], [], []
    for example in examples:
        questions.append(example.question)
        contexts.append(example.context)
        impossible.append(bool(example.is_impossible))
        first = example.answers[0] if example.answers else None
        answers.append(byte_span(example.context, first.start, first.text) if first else (0, 0))
    return {
        QUESTION: np.asarray(questions, dtype=object),
        CONTEXT: np.asarray(contexts, dtype=object),
        "answer": np.asarray(answers, dtype=np.int64).reshape(-1, 2),
        "is_impossible": np.asarray(impossible, dtype=bool),
    }


def _texts(x) -> tuple:
    if isinstance(x, (str, bytes)):
        raise ValueError(
            "predict takes squad.Example objects or a dict of question and context sequences, not one string: "
            'pass {"question": [question], "context": [context]}.'
        )
    if isinstance(x, dict):
        if set(x) != {QUESTION, CONTEXT}:
            raise ValueError(f"Expected a dict with keys ['{QUESTION}', '{CONTEXT}'], but received {sorted(x)}.")
        as_text = lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v)  # noqa: E731
        return [as_text(q) for q in x[QUESTION]], [as_text(c) for c in x[CONTEXT]]
    examples = list(x)
    return [e.question for e in examples], [e.context for e in examples]


def _python(value: tf.Tensor):
    value = value.numpy()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value.item() if hasattr(value, "item") else value
