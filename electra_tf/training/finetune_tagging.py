"""Tagging fine-tuning runs: fine-tune a pre-trained encoder N times (seeds) on CoNLL-2000 chunking or CoNLL-2003
NER, tag the evaluation sets, score them with conlleval's chunk F1, and report the median and spread.

    results = run_tagging_finetuning("conll2003", "../shared/data", "data/models/tiny/discriminator",
                                     "data/finetune/conll2003", TaggingConfig(), num_trials=3)

Training reads the task's `train` file. CoNLL-2000 is scored on its test file (google-research/electra's "dev" for
chunking is that file); CoNLL-2003 on `eng.testa` (dev) and `eng.testb` (test). The recipe is the GLUE one for the
encoder's size with 3 epochs, and GR's window of 256 word-pieces; labels are BIOES (GR's).

Outputs in `model_dir`: `results.json`, `tagging_config.json` (with the recipe filled in) and per trial `trial_<k>/`
with the model, TensorBoard logs, and `<split>_predictions.txt` per evaluation set: the file's words with the gold
and predicted IOB2 tags, one word per line, in the format conlleval reads.
"""

import dataclasses
import os
import time
from typing import Optional

import tensorflow as tf

from electra_tf import io_utils
from electra_tf.models import finetuning_recipe
from electra_tf.models.electra_tagger import ElectraTagger
from electra_tf.tasks import conll, tag_schemes, tagging_metrics
from electra_tf.training import finetune, trials

EVALUATION_SPLITS = {"conll2000": ("test",), "conll2003": ("dev", "test")}
METRICS = ("f1", "precision", "recall", "accuracy")


@dataclasses.dataclass(frozen=True)
class TaggingConfig:
    """Tagging fine-tuning settings. Recipe settings left None follow the encoder's size (`finetuning_recipe`).

    Args:
        learning_rate, layerwise_decay, layerwise_rule, weight_decay, warmup_fraction, batch_size, clip_norm,
            bias_correction, model_size: as in `finetune.FinetuningConfig`.
        epochs: int or None. Recipe: 3.
        sequence_length: int. Window length in word-pieces. Defaults to 256 (GR's for chunking).
        stride: int or None. Word-pieces between a long sentence's windows; None is half a window.
        scheme: str. The labels the tagger learns: "BIOES" (GR's, the default) or "IOB2".
        max_train_examples: int or None. Train on the first N sentences only. Defaults to None.
        seed: int. Seed of the first trial; trial k uses seed + k. Defaults to 0.
        random_encoder: bool. Re-initialize the encoder's weights: the control for what pre-training bought.
    """

    learning_rate: Optional[float] = None
    layerwise_decay: Optional[float] = None
    layerwise_rule: Optional[str] = None
    weight_decay: Optional[float] = None
    warmup_fraction: Optional[float] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    clip_norm: Optional[float] = None
    bias_correction: Optional[bool] = None
    model_size: Optional[str] = None
    sequence_length: int = 256
    stride: Optional[int] = None
    scheme: str = "BIOES"
    max_train_examples: Optional[int] = None
    seed: int = 0
    random_encoder: bool = False

    def __post_init__(self):
        for name in ("epochs", "batch_size", "max_train_examples", "stride"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, but received {name}={value}.")
        if self.scheme not in tag_schemes.SCHEMES:
            raise ValueError(f"scheme must be one of {tag_schemes.SCHEMES}, but received {self.scheme!r}.")

    def recipe_overrides(self) -> dict:
        return {name: getattr(self, name, None) for name in finetuning_recipe.FIELDS}


def run_tagging_finetuning(
    task: str,
    data_dir: str,
    pretrained: str,
    model_dir: str,
    config: TaggingConfig = TaggingConfig(),
    num_trials: int = 1,
    verbose: int = 1,
    force_unlock: bool = False,
) -> dict:
    """Fine-tunes `pretrained` on a tagging task `num_trials` times and returns (and writes) the results.

    Args:
        task: str. "conll2000" or "conll2003".
        data_dir: str. The data root holding `conll2000/` and `conll2003/`.
        pretrained: str. A saved encoder folder.
        model_dir: str. Where results, models, predictions and logs go.
        config: `TaggingConfig`.
        num_trials: int. Runs with seeds `config.seed + k`. Defaults to 1.
        verbose: int. Keras progress. Defaults to 1.
        force_unlock: bool. Take model_dir's lock even if a run on another host holds it. Defaults to False.
    """
    if task not in conll.FORMATS:
        raise ValueError(f"Unknown tagging task {task!r}; known: {sorted(conll.FORMATS)}.")
    trials.check_num_trials(num_trials)
    io_utils.check_output_dir(model_dir, "model_dir")
    train = conll.read_split(task, "train", data_dir)
    if config.max_train_examples is not None:
        train = dataclasses.replace(train, sentences=train.sentences[: config.max_train_examples])
    evaluation = {split: conll.read_split(task, split, data_dir) for split in EVALUATION_SPLITS[task]}
    labels = tag_schemes.labels_for(train.types(), config.scheme)

    def build():
        return ElectraTagger.from_pretrained(
            pretrained, labels, config.sequence_length, config.stride, random_encoder=config.random_encoder
        )

    header = {
        "task": task,
        "pretrained": pretrained,
        "data_dir": data_dir,
        "num_train_sentences": len(train),
        "num_evaluation_sentences": {split: len(tagged) for split, tagged in evaluation.items()},
        "labels": labels,
    }
    return trials.run_trials(
        model_dir,
        num_trials,
        config,
        trials.RecipeTask(task),
        build,
        lambda model, recipe, trial_dir, seed: _train_and_score(
            model, recipe, train, evaluation, trial_dir, seed, verbose
        ),
        header,
        "tagging_config.json",
        force_unlock,
    )


def _train_and_score(model, recipe, train, evaluation: dict, trial_dir: str, seed: int, verbose: int) -> dict:
    """Fits one trial, tags the evaluation sets, scores and writes them; returns its record."""
    dataset = model.to_dataset(train, recipe.batch_size, shuffle=True, seed=seed)
    train_seconds = trials.fit_timed(model, dataset, recipe, trial_dir, verbose)
    scores, per_type, predict_seconds = {}, {}, 0.0
    for split, tagged in evaluation.items():
        started = time.time()
        predicted = model.predict(tagged)
        predict_seconds += time.time() - started
        result = tagging_metrics.evaluate(tagged.tags, predicted)
        scores[split] = {name: result[name] for name in METRICS}
        per_type[split] = result["per_type"]
        write_predictions(tagged, predicted, os.path.join(trial_dir, f"{split}_predictions.txt"))
    finetune.write_scalars(os.path.join(trial_dir, "logs", "dev"), scores)
    model.save_finetuned(os.path.join(trial_dir, "model"))
    return {
        "seed": seed,
        "dev": scores,
        "per_type": per_type,
        "train_batches_per_epoch": int(dataset.cardinality()),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(train_seconds / recipe.epochs, 1),
        "predict_seconds": round(predict_seconds, 1),
    }


def write_predictions(tagged: conll.TaggedSet, predicted: list, path: str) -> None:
    """`word gold predicted` per line, a blank line after each sentence: conlleval's input."""
    tf.io.gfile.makedirs(os.path.dirname(path))
    lines = []
    for sentence, tags in zip(tagged.sentences, predicted, strict=True):
        lines.extend(f"{word} {gold} {tag}" for word, gold, tag in zip(sentence.words, sentence.tags, tags))
        lines.append("")
    io_utils.write_text_atomic(path, "\n".join(lines) + "\n")
