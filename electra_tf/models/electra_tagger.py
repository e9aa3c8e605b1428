"""`ElectraTagger`: a pre-trained ELECTRA encoder with google-research/electra's tagging head, Keras-style.

    model = ElectraTagger.from_pretrained("data/models/tiny/discriminator", labels=tag_schemes.labels_for(["NP"]))
    model.compile()                                        # The fine-tuning recipe for the encoder's size.
    model.fit(conll.read_split("conll2000", "train", data_dir), epochs=3, batch_size=32)
    model.predict([["He", "reckons", "the", "current", "account", "deficit"]])   # IOB2 tags per word
    model.extract(["He reckons the current account deficit"])   # chunks with character offsets

Sentences are lists of words: `TaggingPreprocessor` cuts them into windows of word-pieces in `tf.data` (and in the
serving graph), the model scores every position, and each word takes the label predicted at its first piece, in the
window where it counts. Chunks are read from the labels with conlleval's rules (`tagging_decoding`).

As in google-research/electra: the head is one dense layer (Glorot-uniform, TF1's `tf.layers.dense` default) on the
encoder's last layer, with no dropout of its own; labels are BIOES by default; the loss is the cross-entropy at the
labelled positions, summed over the positions and the batch.
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from electra_tf.models import saving, tagging_decoding
from electra_tf.models.finetuning_model import FinetuningModel
from electra_tf.models.tagging_preprocessor import IGNORED, TaggingPreprocessor
from electra_tf.tasks import conll, tag_schemes

MODEL_FILE = "tagger.keras"
ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")
TEXT = "text"


@keras.saving.register_keras_serializable(package="electra_tf")
class ElectraTagger(FinetuningModel, keras.Model):
    """An encoder and a dense layer: a label for every word.

    Args:
        encoder: `ElectraEncoder`.
        labels: list of str. The labels, in id order: `O` and `B-`, `I-` (and for BIOES `E-`, `S-`) of each type.
        preprocessor: `TaggingPreprocessor` or None. Needed for raw words. Not serialized.
    """

    MODEL_FILE = MODEL_FILE
    PREPROCESSOR_CLASS = TaggingPreprocessor
    KIND = "tagger"

    def __init__(self, encoder, labels, preprocessor: Optional[TaggingPreprocessor] = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.labels = [str(label) for label in labels]
        self._tables = tagging_decoding.label_tables(self.labels)
        self._index = {label: i for i, label in enumerate(self.labels)}
        self.head = keras.layers.Dense(len(self.labels), kernel_initializer="glorot_uniform", name="tagging_head")
        self.preprocessor = preprocessor
        self._tag_function = self._span_function = None

    @property
    def outside(self) -> int:
        """The label id of `O`."""
        return self._index["O"]

    @property
    def label_tables(self) -> tuple:
        """`(prefix_codes, type_codes, types)` of the labels (`tagging_decoding.label_tables`)."""
        return self._tables

    @classmethod
    def from_pretrained(
        cls,
        directory: str,
        labels,
        sequence_length: int = 256,
        stride: Optional[int] = None,
        random_encoder: bool = False,
        **kwargs,
    ) -> "ElectraTagger":
        """A tagger on a saved encoder (`<model_dir>/discriminator` of `bin/pretrain`).

        Args:
            directory: str. A saved encoder folder.
            labels: list of str. See the constructor; `tag_schemes.labels_for(types)` makes GR's BIOES list.
            sequence_length, stride: the windows (`TaggingPreprocessor`); 256 is GR's for chunking.
            random_encoder: bool. Keep the architecture and vocabulary but re-initialize the weights: the control
                that shows what pre-training bought. Defaults to False.
            **kwargs: the constructor's arguments.
        """
        encoder, vocabulary, settings = saving.load_encoder(directory)
        if random_encoder:
            encoder = type(encoder).from_config(encoder.get_config())
        saving.check_sequence_length(encoder, sequence_length, directory)
        preprocessor = TaggingPreprocessor(
            vocabulary, sequence_length, stride, settings["lower_case"], settings["strip_accents"]
        )
        return cls(encoder, labels, preprocessor=preprocessor, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "labels": list(self.labels),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**dict(config, encoder=keras.saving.deserialize_keras_object(config["encoder"])))

    # The network.

    def call(self, inputs, training=False):
        """Window features in; logits `(N, L, len(labels))` out."""
        sequence = self.encoder({name: inputs[name] for name in ENCODER_INPUTS}, training=training)["sequence_output"]
        return self.head(sequence)

    def default_loss(self):
        return None  # `compute_loss`: GR's sum over the labelled positions.

    def default_metrics(self):
        return None  # Chunk F1 needs whole sentences: `tagging_metrics.evaluate` on `predict`'s tags.

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        del x, sample_weight, training
        labelled = tf.cast(y != IGNORED, y_pred.dtype)
        losses = keras.losses.sparse_categorical_crossentropy(tf.maximum(y, 0), y_pred, from_logits=True)
        return tf.reduce_sum(losses * labelled)

    # Data.

    def label_ids(self, tags) -> np.ndarray:
        """The label ids of one sentence's IOB1 or IOB2 tags, in this tagger's scheme."""
        scheme = "BIOES" if any(label[0] in "ES" for label in self.labels if label != "O") else "IOB2"
        converted = tag_schemes.convert(tags, scheme)
        unknown = sorted({tag[2:] for tag in converted if tag not in self._index})
        if unknown:
            raise ValueError(
                f"Chunk types {unknown} are not among this tagger's labels {self.labels}: build the tagger with labels "
                "for every type of the training data (tag_schemes.labels_for)."
            )
        return np.asarray([self._index[tag] for tag in converted], dtype=np.int32)

    def to_dataset(self, sentences, batch_size: int = 32, shuffle: bool = False, seed=None) -> tf.data.Dataset:
        """Training windows `(features, labels)`, batched, from a `conll.TaggedSet` (or `(words, tags)` lists).

        Windows are made once and cached, and counted so `fit` can size the recipe's schedule."""
        if self.preprocessor is None:
            raise ValueError("This model has no preprocessor, so it cannot take raw words.")
        if not isinstance(sentences, conll.TaggedSet):
            sentences = conll.sentences_from_words(*sentences)
        words = tf.ragged.constant([list(s.words) for s in sentences.sentences], dtype=tf.string)
        labels = tf.ragged.constant([self.label_ids(s.tags) for s in sentences.sentences], dtype=tf.int32)
        windows = (
            tf.data.Dataset.from_tensor_slices((words, labels))
            .map(lambda w, t: self.preprocessor.windows(w, t), num_parallel_calls=tf.data.AUTOTUNE)
            .cache()
        )
        count = int(
            windows.reduce(np.int64(0), lambda total, w: total + tf.cast(tf.shape(w["token_ids"])[0], tf.int64))
        )
        windows = windows.unbatch().apply(tf.data.experimental.assert_cardinality(count))
        if shuffle:
            windows = windows.shuffle(min(count, 65536), seed=seed, reshuffle_each_iteration=True)
        return (
            windows.batch(batch_size)
            .map(lambda w: ({k: w[k] for k in ENCODER_INPUTS}, w["labels"]))
            .prefetch(tf.data.AUTOTUNE)
        )

    def fit(self, x=None, y=None, batch_size=None, epochs=1, shuffle=True, seed=None, **kwargs):
        """`keras.Model.fit` on a `conll.TaggedSet`, `(words, tags)` lists, or a dataset from `to_dataset`."""
        if y is not None:
            x = (x, y)
        dataset = x if isinstance(x, tf.data.Dataset) else self.to_dataset(x, batch_size or 32, shuffle, seed)
        self.size_schedule(dataset, epochs, kwargs.get("steps_per_epoch"))
        return super().fit(dataset, epochs=epochs, shuffle=False, **kwargs)

    def predict(self, x, **kwargs) -> list:
        """IOB2 tags per word, one list per sentence.

        Args:
            x: a `conll.TaggedSet`, or lists of words.
        """
        del kwargs
        sentences = x.words if isinstance(x, conll.TaggedSet) else _sentences(x)
        tag = self.tag_function()
        results = []
        for words in sentences:
            labels = tag(tf.constant(list(words), tf.string)).numpy()
            found = tagging_decoding.chunk_spans(tf.constant(labels), *self._tables[:2])
            chunks = [(self._tables[2][k], s, e) for k, s, e in zip(*(t.numpy().tolist() for t in found))]
            results.append(tag_schemes.from_chunks(chunks, len(words)))
        return results

    def extract(self, texts) -> list:
        """Chunks of raw texts, split into words at whitespace: one list per text of dicts with `type`,
        `start_char`, `end_char` (character offsets, end exclusive) and `text`. What the serving export returns."""
        if isinstance(texts, (str, bytes)):
            raise ValueError('extract takes a sequence of texts, not one string: pass ["text"].')
        extract = self.span_function()
        results = []
        for text in texts:
            outputs = {k: v.numpy() for k, v in extract(tf.constant(text)).items()}
            results.append(
                [
                    {
                        "type": kind.decode("utf-8"),
                        "start_char": int(start),
                        "end_char": int(end),
                        "text": span.decode("utf-8", errors="replace"),
                    }
                    for kind, start, end, span in zip(
                        outputs["type"], outputs["start_char"], outputs["end_char"], outputs["text"]
                    )
                ]
            )
        return results

    def tag_function(self):
        """A `tf.function` from one sentence's words (string `(W,)`) to its label ids (int32 `(W,)`)."""
        if self._tag_function is None:
            if self.preprocessor is None:
                raise ValueError("This model has no preprocessor, so it cannot take raw words.")

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
            def tag(words):
                windows = self.preprocessor.windows(words)
                logits = self({k: windows[k] for k in ENCODER_INPUTS}, training=False)
                return tagging_decoding.word_labels(logits, windows["word_index"], tf.size(words), self.outside)

            self._tag_function = tag
        return self._tag_function

    def span_function(self):
        """A `tf.function` from one text (scalar string) to its chunks: `type`, `start_char`, `end_char`, `text`
        (each `(K,)`). Words are the text's whitespace-separated tokens. The serving export
        (`export/tagging_serving.py`) computes the same on its own forward pass, and is checked against this."""
        if self._span_function is None:
            tag = self.tag_function()
            prefix_codes, type_codes, types = self._tables

            @tf.function(input_signature=[tf.TensorSpec([], tf.string, name=TEXT)])
            def spans(text):
                words, begins, ends = tagging_decoding.split_words(text)
                kinds, first, last = tagging_decoding.chunk_spans(tag(words), prefix_codes, type_codes)
                return tagging_decoding.span_outputs(text, begins, ends, kinds, first, last, types)

            self._span_function = spans
        return self._span_function


def _sentences(x) -> list:
    if isinstance(x, (str, bytes)) or (len(x) and isinstance(x[0], (str, bytes))):
        raise ValueError(
            "predict takes sentences as lists of words, e.g. [['EU', 'rejects', 'German', 'call']]; for raw text "
            "use extract([text])."
        )
    return [[w.decode("utf-8") if isinstance(w, bytes) else str(w) for w in words] for words in x]
