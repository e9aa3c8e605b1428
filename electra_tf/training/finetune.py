"""Fine-tuning runs: read a task, fine-tune a pre-trained encoder N times (seeds), score every dev split with
GLUE's metrics, report the median and spread, and optionally write test predictions and a serving export.

    results = run_finetuning("rte", glue_dir, "data/models/tiny/discriminator", "data/finetune/rte",
                             FinetuningConfig(), num_trials=3)

The settings left unset in `FinetuningConfig` come from the recipe for the encoder's size and the task
(`finetuning_recipe`); the run prints the resolved recipe, with where each value came from, and records it.

Outputs in `model_dir`: `results.json` (per trial and aggregated, the resolved `recipe`, and `num_train_examples`,
which counts both orders of each pair when `double_unordered` applies), `finetuning_config.json` (the config with
the recipe filled in), and per trial `trial_<k>/` with the fine-tuned model, TensorBoard logs, `record.json` and,
with `do_predict`, GLUE submission files. Run again after an interruption, the same command reuses every trial
with a `record.json` made by the same task, data, encoder and config, and trains the others (`trial_records`).
"""

import contextlib
import dataclasses
import functools
import json
import os
import time
from typing import Optional

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from electra_tf import config_io, io_utils, run_lock
from electra_tf.models import finetuning_recipe
from electra_tf.models.electra_classifier import ElectraClassifier
from electra_tf.optimizers import layerwise_decay
from electra_tf.tasks import metrics as metrics_lib
from electra_tf.tasks import reader, registry
from electra_tf.tasks.task import Task
from electra_tf.training import trial_records

SOURCES = ("tsv", "tfds")


@dataclasses.dataclass(frozen=True)
class FinetuningConfig:
    """Fine-tuning settings. Those that default to None come from the recipe for the encoder's size and the task
    (`finetuning_recipe`: google-research/electra's settings, with the paper's learning rates); a value set here
    overrides the recipe.

    Args:
        learning_rate: float or None. Peak rate of the task head. Recipe: 3e-4 small, 1e-4 base, 5e-5 large.
        layerwise_decay: float or None. Layer-wise learning-rate decay. Recipe: 0.8 small and base, 0.9 large.
        layerwise_rule: str or None. "released" or "corrected" (see `layerwise_decay`). Recipe: "released".
        weight_decay: float or None. Decoupled weight decay. Recipe: 0.01.
        warmup_fraction: float or None. Share of the steps whose rate is scaled by a linear warmup, within a linear
            decay to 0. Recipe: 0.1.
        epochs: int or None. Recipe: 10 for RTE and STS-B, 3 otherwise.
        batch_size: int or None. Recipe: 32.
        clip_norm: float or None. Global-norm gradient clipping; 0 disables it. Recipe: 1.0.
        bias_correction: bool or None. Whether Adam's moments are bias-corrected. Recipe: False.
        double_unordered: bool or None. Train on both orders of each training pair, for tasks whose pair order
            carries no meaning (`Task.unordered`). Recipe: True for such tasks (MRPC, STS-B), else False.
        model_size: str or None. "small", "base" or "large": the size whose recipe applies. Recipe: inferred from
            the encoder's hidden_size (< 512 small, < 1024 base, else large).
        eval_batch_size: int. Defaults to 128.
        sequence_length: int. Defaults to 128.
        dropout: float. On the [CLS] vector. Defaults to 0.1.
        seed: int. Seed of the first trial; trial k uses seed + k. Defaults to 0.
        max_train_examples: int or None. Use only the first N training examples (a documented subsample), counted
            before `double_unordered` doubles them. Defaults to None.
        on_bad_row: str. "raise" or "skip" malformed rows. Defaults to "raise".
        jit_compile: bool. Compile train and predict steps with XLA. Defaults to False.
        validate_every_epoch: bool. Report dev loss and accuracy after every epoch. Defaults to True.
        group_by_length: bool. Batch training examples of similar token length together (`ElectraClassifier.fit`):
            much less padding on short-sentence tasks, for a batch order that is no longer uniformly random.
            Defaults to False.
        freeze_encoder: bool. Train only the head: a linear probe. Defaults to False.
        random_encoder: bool. Re-initialise the encoder's weights (same architecture and vocabulary), the
            control for what pre-training bought. Defaults to False.
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
    double_unordered: Optional[bool] = None
    model_size: Optional[str] = None
    eval_batch_size: int = 128
    sequence_length: int = 128
    dropout: float = 0.1
    seed: int = 0
    max_train_examples: Optional[int] = None
    on_bad_row: str = "raise"
    jit_compile: bool = False
    validate_every_epoch: bool = True
    group_by_length: bool = False
    freeze_encoder: bool = False
    random_encoder: bool = False

    def __post_init__(self):
        for name in ("epochs", "batch_size", "eval_batch_size", "sequence_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, but received {name}={value}.")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, but received learning_rate={self.learning_rate}.")
        for name in ("weight_decay", "clip_norm"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be non-negative, but received {name}={value}.")
        for name in ("warmup_fraction", "dropout"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), but received {name}={value}.")
        if self.layerwise_decay is not None and not 0 < self.layerwise_decay <= 1:
            raise ValueError(f"layerwise_decay must be in (0, 1], but received layerwise_decay={self.layerwise_decay}.")
        if self.layerwise_rule is not None and self.layerwise_rule not in layerwise_decay.LAYERWISE_RULES:
            raise ValueError(
                f"layerwise_rule must be one of {layerwise_decay.LAYERWISE_RULES}, but received "
                f"{self.layerwise_rule!r}."
            )
        if self.model_size is not None and self.model_size not in finetuning_recipe.MODEL_SIZES:
            raise ValueError(
                f"model_size must be one of {finetuning_recipe.MODEL_SIZES}, but received {self.model_size!r}."
            )
        if self.on_bad_row not in reader.ON_ERROR:
            raise ValueError(f"on_bad_row must be one of {reader.ON_ERROR}, but received {self.on_bad_row!r}.")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ValueError(f"max_train_examples must be positive, but received {self.max_train_examples}.")

    def recipe_overrides(self) -> dict:
        """{recipe setting: value or None}: the settings this config takes from the recipe when None."""
        return {name: getattr(self, name) for name in finetuning_recipe.FIELDS}


def read_examples(
    task: Task, data_dir: str, split: str, config: FinetuningConfig, source: str = "tsv", tfds_download: bool = False
):
    """Reads one split from GLUE TSV files under `data_dir`, or from TFDS (`data_dir` is then TFDS's; None for
    its default)."""
    if source == "tfds":
        from electra_tf.tasks import tfds_glue

        return tfds_glue.read_split(task, split, data_dir=data_dir, download=tfds_download)
    if source != "tsv":
        raise ValueError(f"source must be one of {SOURCES}, but received {source!r}.")
    return reader.read_split(task, data_dir, split, on_error=config.on_bad_row)


def double_unordered(examples):
    """Appends each pair with its sentences swapped: google-research/electra's `double_unordered`.

    Args:
        examples: `reader.Examples` of a pair task.

    Returns:
        `reader.Examples` of twice the length: the examples as they were, then the same examples in the same order
        with `text_a` and `text_b` exchanged (same labels and ids).
    """
    if examples.text_b is None:
        raise ValueError(f"Cannot swap the sentences of single-sentence examples ({examples.source}).")
    return reader.Examples(
        text_a=list(examples.text_a) + list(examples.text_b),
        text_b=list(examples.text_b) + list(examples.text_a),
        labels=None if examples.labels is None else np.concatenate([examples.labels, examples.labels]),
        ids=list(examples.ids) * 2,
        skipped=examples.skipped,
        source=examples.source,
    )


def evaluation_splits(task: Task) -> list:
    """The labelled evaluation splits: "dev" and its siblings (MNLI's "dev_mismatched")."""
    return [split for split in task.files if split.startswith("dev")]


def score(classifier: ElectraClassifier, task: Task, examples, batch_size: int) -> dict:
    predictions = classifier.predict_labels(examples.features(), batch_size=batch_size, verbose=0)
    return metrics_lib.compute(task.metrics, examples.labels, predictions)


def write_predictions(
    classifier: ElectraClassifier, task: Task, examples, split: str, directory: str, batch_size: int
) -> str:
    """Writes a GLUE submission file `<directory>/<submission name>.tsv`: `index<TAB>prediction` per example."""
    predictions = classifier.predict_labels(examples.features(), batch_size=batch_size, verbose=0)
    if task.is_regression:
        values = [
            f"{float(np.clip(p, 0.0, 5.0)):.3f}" if task.name == "sts-b" else f"{float(p):.6g}" for p in predictions
        ]
    else:
        values = [task.labels[int(p)] for p in predictions]
    lines = ["index\tprediction"] + [f"{i}\t{v}" for i, v in zip(examples.ids, values)]
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, task.submission_name(split) + ".tsv")
    io_utils.write_text_atomic(path, "\n".join(lines) + "\n")
    return path


def summarize(trials: list) -> dict:
    """{split: {metric: {median, min, max}}} over trials' dev scores."""
    summary = {}
    for split in trials[0]["dev"]:
        summary[split] = {}
        for metric in trials[0]["dev"][split]:
            values = [trial["dev"][split][metric] for trial in trials]
            summary[split][metric] = {
                "median": float(np.median(values)),
                "min": float(min(values)),
                "max": float(max(values)),
            }
    return summary


def run_finetuning(
    task_name: str,
    data_dir: str,
    pretrained: str,
    model_dir: str,
    config: FinetuningConfig = FinetuningConfig(),
    num_trials: int = 1,
    do_predict: bool = False,
    export_dir: Optional[str] = None,
    source: str = "tsv",
    tfds_download: bool = False,
    verbose: int = 1,
    force_unlock: bool = False,
) -> dict:
    """Fine-tunes `pretrained` on a task `num_trials` times and returns (and writes) the results.

    Args:
        task_name: str. A registered task name, or the path of a task JSON file.
        data_dir: str or None. The GLUE root; with source="tfds", TFDS's data_dir (None for its default).
        pretrained: str. A saved encoder folder (`<pretrain model_dir>/discriminator`).
        model_dir: str. Where results, models and logs go.
        config: `FinetuningConfig`. Its unset settings come from the recipe for the encoder's size and the task.
        num_trials: int. Fine-tuning runs with seeds `config.seed + k`. Defaults to 1.
        do_predict: bool. Write GLUE submission files for the test splits. Defaults to False.
        export_dir: str or None. Export the first trial's model for TF Serving there. Defaults to None.
        source: str. "tsv" files or "tfds". Defaults to "tsv".
        tfds_download: bool. With source="tfds", download and prepare missing datasets. Defaults to False.
        verbose: int. Keras progress: 0 silent, 1 progress bar, 2 a line per epoch. Defaults to 1.
        force_unlock: bool. Take model_dir's lock even if a run on another host holds it. Defaults to False.
    """
    if num_trials < 1:
        raise ValueError(f"num_trials must be at least 1, but received {num_trials}.")
    io_utils.check_output_dir(model_dir, "model_dir")
    task = registry.get(task_name)
    read = lambda split: read_examples(task, data_dir, split, config, source, tfds_download)  # noqa: E731
    train, dev = _train_and_dev(task, data_dir, config, source, read)
    with contextlib.ExitStack() as lock:
        trials, recipe, sources, resolved_config = [], None, None, None
        for trial in range(num_trials):
            seed = config.seed + trial
            trial_dir = os.path.join(model_dir, f"trial_{trial}")
            where = (task, data_dir, source, pretrained)
            if trial > 0:  # Trial 0 is built in any case: it resolves the recipe.
                identity = _trial_identity(*where, resolved_config, len(train), trial, do_predict, export_dir)
                if (record := trial_records.finished(trial_dir, identity)) is not None:
                    trials.append(record)
                    continue
            keras.utils.set_random_seed(seed)
            classifier = ElectraClassifier.from_task(
                task,
                pretrained,
                sequence_length=config.sequence_length,
                dropout=config.dropout,
                random_encoder=config.random_encoder,
                freeze_encoder=config.freeze_encoder,
            )
            if trial == 0:
                recipe, sources, train = _resolve_recipe(task, config, classifier, train)
            _compile(classifier, recipe, config)
            if trial == 0:
                # Only now: a bad encoder or setting, found while building the first model, leaves no model_dir behind.
                tf.io.gfile.makedirs(model_dir)
                lock.enter_context(run_lock.hold(model_dir, force_unlock))  # One writer per model_dir (run_lock.py).
                resolved_config = _save_resolved_config(config, recipe, model_dir)
            identity = _trial_identity(*where, resolved_config, len(train), trial, do_predict, export_dir)
            outputs = functools.partial(_outputs, data_dir, source, read, do_predict, export_dir)
            run = functools.partial(_run_trial, classifier, task, recipe, config, train, dev, trial, verbose, outputs)
            trials.append(trial_records.reuse_or_run(trial_dir, identity, functools.partial(run, trial_dir, seed)))
            logging.info("%s trial %d (seed %d): %s", task.name, trial, seed, json.dumps(trials[-1]["dev"]))
            keras.backend.clear_session()
        results = _results(task, pretrained, train, dev, recipe, sources, trials)
        io_utils.write_text_atomic(os.path.join(model_dir, "results.json"), json.dumps(results, indent=2) + "\n")
    return results


def _trial_identity(task, data_dir, source, pretrained, resolved_config, num_train, trial, do_predict, export_dir):
    """What a finished trial's record must have been made with to be reused (`trial_records`)."""
    return {
        "task": task.name,
        "data_dir": trial_records.normal_path(data_dir),
        "source": source,
        "encoder": trial_records.encoder_fingerprint(pretrained),
        "config": dataclasses.asdict(resolved_config),
        "num_train_examples": num_train,
        "seed": resolved_config.seed + trial,
        "do_predict": do_predict,
        "export_dir": trial_records.normal_path(export_dir) if trial == 0 else None,
    }


def _save_resolved_config(config: FinetuningConfig, recipe, model_dir: str) -> FinetuningConfig:
    """Writes `finetuning_config.json`: the config with the recipe filled in; returns it."""
    resolved = dataclasses.replace(config, **{name: getattr(recipe, name) for name in finetuning_recipe.FIELDS})
    config_io.save(resolved, os.path.join(model_dir, "finetuning_config.json"))
    return resolved


def _run_trial(classifier, task, recipe, config, train, dev, trial, verbose, outputs, trial_dir, seed) -> dict:
    """Trains and scores one trial, then writes its optional outputs; returns its record."""
    record = {
        "trial": trial,
        **_train_and_score(classifier, task, recipe, config, train, dev, trial_dir, seed, verbose),
    }
    return {**record, **outputs(classifier, task, config, trial_dir)}


def _outputs(data_dir, source, read, do_predict, export_dir, classifier, task, config, trial_dir) -> dict:
    """The trial's optional outputs: GLUE test predictions, and the first trial's serving export."""
    record = {}
    if do_predict:
        test_splits = [s for s in task.files if s.startswith("test") and _available(task, data_dir, s, source)]
        predictions_dir = os.path.join(trial_dir, "predictions")
        record["predictions"] = [
            write_predictions(classifier, task, read(split), split, predictions_dir, config.eval_batch_size)
            for split in test_splits
        ]
    if export_dir and trial_dir.endswith("trial_0"):
        from electra_tf.export import serving

        record["export"] = serving.export_classifier(classifier, export_dir, model_name=task.name)
    return record


def _results(task: Task, pretrained: str, train, dev: dict, recipe, sources: dict, trials: list) -> dict:
    return {
        "task": task.name,
        "main_metric": task.main_metric,
        "pretrained": pretrained,
        "num_train_examples": len(train),
        "num_dev_examples": {split: len(examples) for split, examples in dev.items()},
        "recipe": dict(dataclasses.asdict(recipe), source=sources),
        "dev": summarize(trials),
        "trials": trials,
    }


def _train_and_dev(task: Task, data_dir: str, config: FinetuningConfig, source: str, read) -> tuple:
    """The training examples (a seeded subset if `max_train_examples` says so) and the labelled dev splits."""
    train = read("train")
    if config.max_train_examples is not None and config.max_train_examples < len(train):
        order = np.random.default_rng(config.seed).permutation(len(train))[: config.max_train_examples]
        train = _subset(train, np.sort(order))
    dev = {split: read(split) for split in evaluation_splits(task) if _available(task, data_dir, split, source)}
    if "dev" not in dev:
        raise FileNotFoundError(f"Task {task.name!r} has no dev file under {data_dir}; fine-tuning needs one to score.")
    logging.info("%s: %d train examples; dev splits %s", task.name, len(train), {s: len(e) for s, e in dev.items()})
    return train, dev


def _resolve_recipe(task: Task, config: FinetuningConfig, classifier: ElectraClassifier, train) -> tuple:
    """The recipe for the encoder's size and the task (printed), where each value came from, and the training
    examples (both orders of each pair if the recipe says so)."""
    recipe, sources = finetuning_recipe.resolve(config.recipe_overrides(), classifier.encoder.encoder_config, task)
    print(f"Fine-tuning recipe for {task.name}: {finetuning_recipe.describe(recipe, sources)}", flush=True)
    if recipe.double_unordered:
        train = double_unordered(train)
        logging.info("%s: %d train examples with both orders of each pair", task.name, len(train))
    return recipe, sources, train


def recipe_compile_arguments(recipe) -> dict:
    """`FinetuningModel.compile`'s arguments for a resolved `FinetuningRecipe`."""
    return dict(
        learning_rate=recipe.learning_rate,
        layerwise_decay_rate=recipe.layerwise_decay,
        layerwise_rule=recipe.layerwise_rule,
        weight_decay=recipe.weight_decay,
        warmup_fraction=recipe.warmup_fraction,
        clip_norm=recipe.clip_norm,
        bias_correction=recipe.bias_correction,
        model_size=recipe.model_size,
    )


def _compile(classifier: ElectraClassifier, recipe, config: FinetuningConfig) -> None:
    classifier.compile(**recipe_compile_arguments(recipe), jit_compile=config.jit_compile)


def _train_and_score(
    classifier: ElectraClassifier,
    task: Task,
    recipe,
    config: FinetuningConfig,
    train,
    dev: dict,
    trial_dir: str,
    seed: int,
    verbose: int,
) -> dict:
    """Fits one trial, scores it on the dev splits, and saves its model; returns its record."""
    validation = (dev["dev"].features(), dev["dev"].labels) if config.validate_every_epoch else None
    started = time.time()
    classifier.fit(
        train.features(),
        train.labels,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        seed=seed,
        validation_data=validation,
        verbose=verbose,
        group_by_length=config.group_by_length,
        callbacks=[keras.callbacks.TensorBoard(os.path.join(trial_dir, "logs"), update_freq=50)],
    )
    train_seconds = time.time() - started
    scores = {split: score(classifier, task, examples, config.eval_batch_size) for split, examples in dev.items()}
    write_scalars(os.path.join(trial_dir, "logs", "dev"), scores)
    classifier.save_finetuned(os.path.join(trial_dir, "model"))
    return {
        "seed": seed,
        "dev": scores,
        "train_seconds": round(train_seconds, 1),
        "train_examples_per_second": round(len(train) * recipe.epochs / train_seconds, 1),
    }


def _available(task: Task, data_dir: str, split: str, source: str) -> bool:
    return source == "tfds" or tf.io.gfile.exists(reader.task_file(task, data_dir, split))


def _subset(examples, index):
    return reader.Examples(
        text_a=[examples.text_a[i] for i in index],
        text_b=None if examples.text_b is None else [examples.text_b[i] for i in index],
        labels=examples.labels[index],
        ids=[examples.ids[i] for i in index],
        skipped=examples.skipped,
        source=examples.source,
    )


def write_scalars(logdir: str, scores: dict) -> None:
    """Writes {split: {metric: value}} as TensorBoard scalars at step 0."""
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for split, values in scores.items():
            for metric, value in values.items():
                tf.summary.scalar(f"{split}/{metric}", value, step=0)
    writer.close()
