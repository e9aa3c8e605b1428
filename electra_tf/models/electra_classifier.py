"""`ElectraClassifier`: a pre-trained ELECTRA encoder with a classification or regression head, Keras-style.

    classifier = ElectraClassifier.from_pretrained("data/models/tiny/discriminator", num_outputs=2, pair=True)
    classifier.compile()                       # The fine-tuning recipe for the encoder's size (finetuning_recipe)
    classifier.fit({"text_a": a, "text_b": b}, labels, epochs=3, batch_size=32)
    classifier.predict({"text_a": a, "text_b": b})   # logits

`fit`, `evaluate` and `predict` take raw strings: the `ClassifierPreprocessor` tokenizes them in `tf.data`, as
keras-hub's Task/Preprocessor pair does, so the compiled model (XLA included) sees only int tensors.
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from electra_tf.models import saving
from electra_tf.models.classifier_preprocessor import ClassifierPreprocessor
from electra_tf.models.finetuning_model import FinetuningModel

CLASSIFIER_FILE = "classifier.keras"
ENCODER_INPUTS = ("token_ids", "segment_ids", "padding_mask")


@keras.saving.register_keras_serializable(package="electra_tf")
class ElectraClassifier(FinetuningModel, keras.Model):
    """The encoder's `[CLS]` vector, dropout, then a dense layer (Glorot-uniform kernel, zero bias): logits per label,
    or one score for regression.

    Args:
        encoder: `ElectraEncoder`.
        num_outputs: int. Number of labels; 1 for regression.
        regression: bool. Whether the head predicts a score (output `(batch,)`) rather than logits
            (`(batch, num_outputs)`). Defaults to False.
        labels: sequence of str. Label names in id order, kept for predictions and serving. Defaults to ids.
        dropout: float. Dropout on the `[CLS]` vector. Defaults to 0.1.
        target_scale: float. Regression only: the dense layer learns `score / target_scale` and the model outputs
            its value times `target_scale`, so scores are on the data's scale. google-research/electra trains STS-B
            on scores / 5 (`Task.target_scale`). Defaults to 1.0.
        preprocessor: `ClassifierPreprocessor` or None. Needed for raw-string inputs. Not serialized by
            `get_config`; `save_finetuned` writes it beside the model.
    """

    MODEL_FILE = CLASSIFIER_FILE
    PREPROCESSOR_CLASS = ClassifierPreprocessor
    KIND = "classifier"

    def __init__(
        self,
        encoder,
        num_outputs: int,
        regression: bool = False,
        labels=None,
        dropout: float = 0.1,
        target_scale: float = 1.0,
        preprocessor: Optional[ClassifierPreprocessor] = None,
        **kwargs,
    ):
        if regression and num_outputs != 1:
            raise ValueError(f"A regression head has 1 output, but num_outputs={num_outputs}.")
        if not regression and num_outputs < 2:
            raise ValueError(f"A classifier needs at least 2 labels, but num_outputs={num_outputs}.")
        labels = (
            [str(label) for label in labels] if labels else ([] if regression else [str(i) for i in range(num_outputs)])
        )
        if not regression and len(labels) != num_outputs:
            raise ValueError(f"{len(labels)} label names for {num_outputs} outputs.")
        if not target_scale > 0 or (target_scale != 1.0 and not regression):
            raise ValueError(
                f"target_scale must be positive, and 1 for a classifier, but received target_scale={target_scale}."
            )
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in ENCODER_INPUTS}
        sequence = encoder(inputs)["sequence_output"]
        first_token = sequence[:, 0, :]
        features = keras.layers.Dropout(dropout, name="head_dropout")(first_token)
        # google-research/electra's head is `tf.layers.dense` with its default (Glorot uniform) initializer, not
        # the encoder's truncated normal.
        outputs = keras.layers.Dense(num_outputs, kernel_initializer="glorot_uniform", dtype="float32", name="head")(
            features
        )
        if regression:
            outputs = outputs[:, 0] * float(target_scale) if target_scale != 1.0 else outputs[:, 0]
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.num_outputs = num_outputs
        self.regression = bool(regression)
        self.labels = labels
        self.dropout = dropout
        self.target_scale = float(target_scale)
        self.preprocessor = preprocessor

    # Construction and saving.

    @classmethod
    def from_pretrained(
        cls,
        directory: str,
        num_outputs: int = 2,
        regression: bool = False,
        labels=None,
        pair: bool = False,
        sequence_length: int = 128,
        dropout: float = 0.1,
        target_scale: float = 1.0,
        encoder_dropout: Optional[float] = None,
        random_encoder: bool = False,
        freeze_encoder: bool = False,
    ) -> "ElectraClassifier":
        """Builds a classifier on a saved encoder (`<model_dir>/discriminator` of `bin/pretrain`).

        The encoder's weights, vocabulary and tokenizer settings are loaded and checked against each other.

        Args:
            directory: str. A saved encoder folder.
            num_outputs, regression, labels, dropout, target_scale: as in the constructor.
            pair: bool. Whether inputs are text pairs. Defaults to False.
            sequence_length: int. Packed length, special tokens included. Defaults to 128.
            encoder_dropout: float or None. Overrides the encoder's dropout; None keeps it. Defaults to None.
            random_encoder: bool. Keep the architecture, vocabulary and tokenizer but re-initialise the weights: the
                control that shows what pre-training bought. Defaults to False.
            freeze_encoder: bool. Train only the head (a linear probe). Defaults to False.
        """
        encoder, vocabulary, settings = saving.load_encoder(directory)
        changed = encoder_dropout is not None and encoder_dropout != encoder.encoder_config.dropout
        if changed or random_encoder:
            rebuilt = type(encoder).from_config(
                dict(encoder.get_config(), dropout=encoder_dropout if changed else encoder.encoder_config.dropout)
            )
            if not random_encoder:
                rebuilt.set_weights(encoder.get_weights())
            encoder = rebuilt
        encoder.trainable = not freeze_encoder
        saving.check_sequence_length(encoder, sequence_length, directory)
        preprocessor = ClassifierPreprocessor(
            vocabulary, sequence_length, settings["lower_case"], settings["strip_accents"], pair=pair
        )
        return cls(
            encoder,
            num_outputs,
            regression=regression,
            labels=labels,
            dropout=dropout,
            target_scale=target_scale,
            preprocessor=preprocessor,
        )

    @classmethod
    def from_task(cls, task, directory: str, sequence_length: int = 128, **kwargs) -> "ElectraClassifier":
        """`from_pretrained` with the head, labels and pairing of a `Task`."""
        kwargs.setdefault("target_scale", task.target_scale)
        return cls.from_pretrained(
            directory,
            num_outputs=task.num_outputs,
            regression=task.is_regression,
            labels=task.labels or None,
            pair=task.is_pair,
            sequence_length=sequence_length,
            **kwargs,
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_outputs": self.num_outputs,
            "regression": self.regression,
            "labels": list(self.labels),
            "dropout": self.dropout,
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)

    # Training.

    def default_loss(self):
        """Cross-entropy on logits, or the squared error on targets divided by `target_scale` for regression, each
        summed over the batch as google-research/electra's `FinetuningModel` does."""
        if self.regression:
            return ScaledSquaredError(self.target_scale, reduction="sum")
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")

    def default_metrics(self) -> list:
        """Accuracy, or mean squared error for regression. GLUE's correlations are computed on whole evaluation sets
        by `electra_tf.tasks.metrics`, not averaged over batches."""
        if self.regression:
            return [keras.metrics.MeanSquaredError(name="mse")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        validation_data=None,
        shuffle=True,
        seed=None,
        group_by_length=False,
        **kwargs,
    ):
        """`keras.Model.fit` that also takes raw strings: a dict of string arrays, or a batched `tf.data.Dataset`
        of `(features, labels)` whose features are such dicts. `validation_data` likewise.

        `group_by_length=True` (raw strings only) batches examples of similar token length together, as HF's
        `group_by_length` does: each batch is cut to its longest example, so short-sentence tasks spend little
        compute on padding. Each epoch is still a fresh shuffle, and every example is seen once per epoch.
        """
        dataset = self.to_dataset(x, y, batch_size, shuffle=shuffle, seed=seed, group_by_length=group_by_length)
        if validation_data is not None:
            validation_data = self.to_dataset(*_split_xy(validation_data), batch_size=batch_size)
        self.size_schedule(dataset, epochs, kwargs.get("steps_per_epoch"))
        return super().fit(dataset, epochs=epochs, validation_data=validation_data, shuffle=False, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        return super().evaluate(self.to_dataset(x, y, batch_size), **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        return super().predict(self.to_dataset(x, None, batch_size), **kwargs)

    def predict_labels(self, x, batch_size=None, **kwargs) -> np.ndarray:
        """Label ids (classification) or scores (regression) for `x`."""
        outputs = self.predict(x, batch_size=batch_size, **kwargs)
        return outputs if self.regression else np.argmax(outputs, axis=-1)

    def to_dataset(
        self, x, y=None, batch_size=None, shuffle=False, seed=None, group_by_length=False
    ) -> tf.data.Dataset:
        """Batches `x` (and `y`) and preprocesses raw strings; int feature dicts and datasets pass as they are.

        Raw-string batches are cut to their longest example (rounded up to a multiple of 8 tokens): padding beyond
        it is masked out, so the outputs are those of the full length, for less compute. `group_by_length` also
        groups examples of similar length into batches (see `fit`).
        """
        if isinstance(x, tf.data.Dataset):
            if y is not None:
                raise ValueError("Pass labels inside the dataset, not as y, when x is a tf.data.Dataset.")
            if group_by_length:
                raise ValueError("group_by_length needs raw strings in a dict, not a tf.data.Dataset.")
            dataset = x
        else:
            if not isinstance(x, dict):
                raise ValueError(f"x must be a dict of features or a tf.data.Dataset, but received {type(x).__name__}.")
            x = {key: np.asarray(value, dtype=object if _is_text(value) else None) for key, value in x.items()}
            if group_by_length:
                dataset = self._length_grouped(x, y, batch_size or 32, shuffle, seed)
            else:
                dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, np.asarray(y)))
                if shuffle:
                    dataset = dataset.shuffle(len(next(iter(x.values()))), seed=seed, reshuffle_each_iteration=True)
                dataset = dataset.batch(batch_size or 32)
        spec = dataset.element_spec
        features_spec = spec[0] if isinstance(spec, tuple) else spec
        if isinstance(features_spec, dict) and any(s.dtype == tf.string for s in features_spec.values()):
            if self.preprocessor is None:
                raise ValueError("This classifier has no preprocessor, so it cannot take raw strings; pass token ids.")
            packer = self.preprocessor

            def preprocess(features):
                return _cut_padding(packer(features))

            if isinstance(spec, tuple):
                dataset = dataset.map(
                    lambda features, *rest: (preprocess(features), *rest), num_parallel_calls=tf.data.AUTOTUNE
                )
            else:
                dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _length_grouped(self, x: dict, y, batch_size: int, shuffle: bool, seed) -> tf.data.Dataset:
        """Batches of examples whose packed lengths fall in the same 8-token band, with a known number of batches."""
        if self.preprocessor is None or not all(_is_text(x[key]) for key in self.preprocessor.text_keys if key in x):
            raise ValueError("group_by_length needs raw strings and a classifier with a preprocessor.")
        lengths = self.packed_lengths(x)
        width = 8
        boundaries = list(range(width + 1, self.preprocessor.sequence_length + 1, width))
        bands = np.searchsorted(boundaries, lengths, side="right")
        num_batches = int(sum(-(-count // batch_size) for count in np.bincount(bands) if count))
        features = dict(x, _packed_length=lengths)
        dataset = tf.data.Dataset.from_tensor_slices(features if y is None else (features, np.asarray(y)))
        if shuffle:
            dataset = dataset.shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.bucket_by_sequence_length(
            lambda features, *rest: features["_packed_length"],
            boundaries,
            [batch_size] * (len(boundaries) + 1),
        )
        dataset = dataset.map(
            lambda features, *rest: ({k: v for k, v in features.items() if k != "_packed_length"}, *rest)
        )
        return dataset.apply(tf.data.experimental.assert_cardinality(num_batches))

    def packed_lengths(self, x: dict, chunk: int = 4096) -> np.ndarray:
        """Token count of each example once packed (special tokens included, at most `sequence_length`)."""
        keys = self.preprocessor.text_keys
        total = len(x[keys[0]])
        lengths = []
        for start in range(0, total, chunk):
            texts = {
                key: tf.constant(np.asarray(x[key][start : start + chunk], dtype=object).astype(str)) for key in keys
            }
            lengths.append(tf.reduce_sum(self.preprocessor(texts)["padding_mask"], axis=1).numpy())
        return np.concatenate(lengths).astype(np.int32) if lengths else np.zeros([0], np.int32)


def _cut_padding(features: dict, multiple: int = 8) -> dict:
    """Cuts a packed batch to its longest example, rounded up to `multiple` tokens (few distinct shapes, for XLA)."""
    longest = tf.reduce_max(tf.reduce_sum(features["padding_mask"], axis=1))
    length = tf.minimum((longest + multiple - 1) // multiple * multiple, tf.shape(features["token_ids"])[1])
    return {key: value[:, :length] for key, value in features.items()}


def _is_text(values) -> bool:
    array = np.asarray(values)
    return array.dtype.kind in ("U", "S", "O")


def _split_xy(data):
    if isinstance(data, tf.data.Dataset):
        return data, None
    if isinstance(data, tuple) and len(data) == 2:
        return data
    raise ValueError("validation_data must be a (features, labels) tuple or a tf.data.Dataset.")


@keras.saving.register_keras_serializable(package="electra_tf")
class ScaledSquaredError(keras.losses.Loss):
    """Squared error per example on targets divided by `scale`: `((prediction - target) / scale) ** 2`.

    With a model whose output is `scale` times its dense layer's, this is google-research/electra's regression loss
    on scaled targets (`(dense - target / scale) ** 2`), gradients included.

    Args:
        scale: float. Defaults to 1.0.
        reduction: str. Keras's reduction over the batch. Defaults to "sum", google-research/electra's.
    """

    def __init__(self, scale: float = 1.0, reduction: str = "sum", name: str = "scaled_squared_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.scale = float(scale)

    def call(self, y_true, y_pred):
        y_pred = keras.ops.convert_to_tensor(y_pred)
        return keras.ops.square((y_pred - keras.ops.cast(y_true, y_pred.dtype)) / self.scale)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
