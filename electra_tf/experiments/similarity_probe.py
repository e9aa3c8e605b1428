"""A training-free diagnostic: how much sentence similarity an encoder's frozen features carry.

Fine-tuning STS-B feeds a pair as one sequence (`[CLS] a [SEP] b [SEP]`) and regresses the score from `[CLS]`, so the
encoder has to compare the two sentences itself. When a fine-tuned encoder scores low, this tells the two failures
apart: the information is missing from the features, or it is there and the cross-encoder does not reach it.

Each sentence is encoded alone (`[CLS] a [SEP]`), and the score of a pair is the cosine of the two sentences' features:
the mean over the sequence's tokens (`[CLS]` and `[SEP]` included, padding not) of the embedding layer's output (word,
position and segment embeddings after their layer norm, before any projection to the hidden size), the same mean of
the last layer, and the last layer at `[CLS]`. The figure is the Spearman correlation (x100) of those cosines with the
gold scores, beside the Jaccard overlap of the lower-cased word sets, which needs no model.

    python -m electra_tf.experiments.similarity_probe --glue_dir=GLUE \\
        floor=RUN/discriminator_at_0 mlm=RUN/discriminator --output=probe.json
"""

import argparse
import json

import numpy as np
import tensorflow as tf

from electra_tf import io_utils
from electra_tf.models import saving
from electra_tf.models.classifier_preprocessor import ClassifierPreprocessor
from electra_tf.tasks import metrics, reader, registry
from electra_tf.tasks.task import REGRESSION

FEATURES = ("embeddings_mean", "last_mean", "last_cls")


def word_overlap(text_a, text_b) -> np.ndarray:
    """Jaccard overlap of the lower-cased, whitespace-split word sets of each pair."""
    scores = []
    for a, b in zip(text_a, text_b):
        words_a, words_b = set(a.lower().split()), set(b.lower().split())
        union = words_a | words_b
        scores.append(len(words_a & words_b) / len(union) if union else 0.0)
    return np.asarray(scores)


def sentence_features(encoder, preprocessor: ClassifierPreprocessor, texts, batch_size: int = 256) -> dict:
    """Each of `FEATURES` for every text.

    Args:
        encoder: `ElectraEncoder`.
        preprocessor: `ClassifierPreprocessor` for single texts.
        texts: list of str.
        batch_size: int. Texts encoded at once. Defaults to 256.

    Returns:
        dict {feature name: float64 array `(len(texts), width)`}, pooled in float32 whatever the encoder's policy.
    """
    parts = {name: [] for name in FEATURES}
    for start in range(0, len(texts), batch_size):
        inputs = preprocessor({"text_a": tf.constant(texts[start : start + batch_size])})
        embedded = tf.cast(encoder.embeddings(inputs["token_ids"], inputs["segment_ids"], training=False), tf.float32)
        last = tf.cast(encoder(inputs, training=False)["sequence_output"], tf.float32)
        mask = tf.cast(inputs["padding_mask"], tf.float32)[..., None]
        count = tf.reduce_sum(mask, axis=1)
        parts["embeddings_mean"].append(tf.reduce_sum(embedded * mask, axis=1) / count)
        parts["last_mean"].append(tf.reduce_sum(last * mask, axis=1) / count)
        parts["last_cls"].append(last[:, 0])
    return {name: np.concatenate([np.asarray(x, np.float64) for x in arrays]) for name, arrays in parts.items()}


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two `(n, width)` arrays (0 for a zero row)."""
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)


def probe_encoder(directory: str, examples: reader.Examples, sequence_length: int = 128) -> dict:
    """Spearman x100 of each feature's cosine against the gold scores, for the saved encoder in `directory`."""
    encoder, vocabulary, settings = saving.load_encoder(directory)
    saving.check_sequence_length(encoder, sequence_length, directory)
    preprocessor = ClassifierPreprocessor(
        vocabulary, sequence_length, settings["lower_case"], settings["strip_accents"]
    )
    features_a = sentence_features(encoder, preprocessor, examples.text_a)
    features_b = sentence_features(encoder, preprocessor, examples.text_b)
    return {
        name: 100 * metrics.spearman(examples.labels, cosine(features_a[name], features_b[name])) for name in FEATURES
    }


def run(
    encoders: dict, glue_dir: str, task_name: str = "sts-b", split: str = "dev", sequence_length: int = 128
) -> dict:
    """The probe for each `name -> encoder folder`, with the word-overlap baseline, on a pair-regression task."""
    task = registry.get(task_name)
    if task.kind != REGRESSION or task.labelled.text_b is None:
        raise ValueError(
            f"{task_name} is not a pair-regression task, and the probe needs scored sentence pairs: pass --task=sts-b "
            "or a task file of kind regression with a text_b column."
        )
    examples = reader.read_split(task, glue_dir, split)
    if examples.labels is None:
        raise ValueError(f"{examples.source} has no scores (split {split!r}): pass a labelled split such as dev.")
    result = {
        "task": task.name,
        "split": split,
        "pairs": len(examples.text_a),
        "word_overlap_jaccard": 100 * metrics.spearman(examples.labels, word_overlap(examples.text_a, examples.text_b)),
        "encoders": {},
    }
    for name, directory in encoders.items():
        result["encoders"][name] = {"directory": directory, **probe_encoder(directory, examples, sequence_length)}
    return result


def _named_folder(value: str) -> tuple:
    name, sep, directory = value.partition("=")
    if not sep or not name or not directory:
        raise argparse.ArgumentTypeError(f"Expected NAME=ENCODER_FOLDER, but received {value!r}.")
    return name, directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("encoders", nargs="+", type=_named_folder, help="NAME=saved encoder folder, one or more.")
    parser.add_argument("--glue_dir", required=True, help="The GLUE root (one folder per task).")
    parser.add_argument("--task", default="sts-b")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--sequence_length", type=int, default=128, help="Tokens per encoded sentence.")
    parser.add_argument("--output", help="Also write the result to this JSON file.")
    args = parser.parse_args()
    names = [name for name, _ in args.encoders]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        parser.error(f"Each encoder needs its own NAME, but {repeated} is given more than once.")
    result = run(dict(args.encoders), args.glue_dir, args.task, args.split, args.sequence_length)
    print(json.dumps(result, indent=1))
    if args.output:
        io_utils.write_text_atomic(args.output, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
