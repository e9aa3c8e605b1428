"""SQuAD fine-tuning runs: fine-tune a pre-trained encoder N times (seeds) on a SQuAD file's training articles,
answer the held-out articles, score them with SQuAD's EM and F1, and report the median and spread.

    results = run_squad_finetuning("../shared/data/squad/dev-v1.1.json", "data/models/tiny/discriminator",
                                   "data/finetune/squad_v1.1", SquadConfig(), num_trials=3)

Only dev files are available offline, so a file is split by article (`squad.split_by_article`: the last 10 articles
of v1.1, the last 4 of the 2.0 half, unless `held_out_articles` says otherwise); with a separate training file
(`train_file`), all of the evaluation file is scored. With internet, `source="tfds"` trains on TFDS's SQuAD train split
and scores its validation split. The recipe is the GLUE one for the encoder's size with SQuAD's
2 epochs; windows are google-research/electra's (512 tokens, stride 128, questions cut to 64), which a CPU run will
want to shorten.

Outputs in `model_dir`: `results.json`, `squad_config.json` (with the recipe filled in) and per trial `trial_<k>/`
with the model, TensorBoard logs, `predictions.json` in the official format ({id: answer}, "" for no answer) and,
for SQuAD 2.0, `spans.json` (the best span of every question) and `null_odds.json` ({id: no-answer logit}), which
the official script reads with `--na-prob-file` to reproduce every figure.
"""

import dataclasses
import json
import os
import time
from typing import Optional

import tensorflow as tf
from absl import logging

from electra_tf import io_utils
from electra_tf.models import finetuning_recipe, qa_decoding
from electra_tf.models.electra_question_answerer import ElectraQuestionAnswerer
from electra_tf.tasks import squad, squad_metrics, tfds_squad
from electra_tf.training import finetune, trials


@dataclasses.dataclass(frozen=True)
class SquadConfig:
    """SQuAD fine-tuning settings. Recipe settings left None follow the encoder's size (`finetuning_recipe`).

    Args:
        learning_rate, layerwise_decay, layerwise_rule, weight_decay, warmup_fraction, batch_size, clip_norm,
            bias_correction, model_size: as in `finetune.FinetuningConfig`.
        epochs: int or None. Recipe: 2 (google-research/electra's for SQuAD).
        sequence_length: int. Window length. Defaults to 512 (GR's).
        doc_stride: int. Defaults to 128.
        max_query_length: int. Defaults to 64.
        max_answer_length: int. Defaults to 30.
        joint: bool. GR's joint start-end head. Defaults to True.
        no_answer_threshold: float. SQuAD 2.0: no answer where the no-answer logit is above it. Defaults to -2.75
            (GR's `qa_na_threshold`).
        held_out_articles: int or None. Articles of the file held out for scoring; None: 10 for 1.1, 4 for 2.0.
        max_train_examples: int or None. Train on the first N training questions only. Defaults to None.
        on_bad_example: str. "error" or "skip" bad questions of the files. Defaults to "error".
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
    sequence_length: int = 512
    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    joint: bool = True
    no_answer_threshold: float = qa_decoding.NO_ANSWER_THRESHOLD
    held_out_articles: Optional[int] = None
    max_train_examples: Optional[int] = None
    on_bad_example: str = "error"
    seed: int = 0
    random_encoder: bool = False

    def __post_init__(self):
        for name in ("epochs", "batch_size", "max_train_examples", "max_answer_length", "held_out_articles"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be positive, but received {name}={value}.")
        if self.on_bad_example not in squad.ON_BAD_EXAMPLE:
            raise ValueError(
                f"on_bad_example must be one of {squad.ON_BAD_EXAMPLE}, but received {self.on_bad_example!r}."
            )

    def recipe_overrides(self) -> dict:
        return {name: getattr(self, name, None) for name in finetuning_recipe.FIELDS}


def run_squad_finetuning(
    squad_file: Optional[str],
    pretrained: str,
    model_dir: str,
    config: SquadConfig = SquadConfig(),
    num_trials: int = 1,
    train_file: Optional[str] = None,
    verbose: int = 1,
    force_unlock: bool = False,
    expected_version: Optional[str] = None,
    source: str = "file",
    tfds_data_dir: Optional[str] = None,
    tfds_download: bool = False,
) -> dict:
    """Fine-tunes `pretrained` on SQuAD `num_trials` times and returns (and writes) the results.

    Args:
        squad_file: str or None. A SQuAD file in the official format: split by article, or scored whole with
            `train_file`. Unused with `source="tfds"`.
        pretrained: str. A saved encoder folder.
        model_dir: str. Where results, models, predictions and logs go.
        config: `SquadConfig`.
        num_trials: int. Runs with seeds `config.seed + k`. Defaults to 1.
        train_file: str or None. A separate training file (`train-v1.1.json`). Defaults to None.
        verbose: int. Keras progress. Defaults to 1.
        force_unlock: bool. Take model_dir's lock even if a run on another host holds it. Defaults to False.
        expected_version: str or None. "1.1" or "2.0": refuse a file of the other version. Defaults to None.
        source: str. "file" (the default), or "tfds": train on TFDS's `squad/v<expected_version>` train split and
            score its validation split (`tasks/tfds_squad.py`).
        tfds_data_dir: str or None. With "tfds": TFDS's data_dir (its default when None).
        tfds_download: bool. With "tfds": download and prepare a missing dataset (needs internet).
    """
    trials.check_num_trials(num_trials)
    io_utils.check_output_dir(model_dir, "model_dir")
    if source == "tfds":
        unused = [name for name, value in (("squad_file", squad_file), ("train_file", train_file)) if value]
        unused += ["held_out_articles"] * (config.held_out_articles is not None)
        if unused:
            raise ValueError(f"{', '.join(unused)} do not apply with source='tfds' (TFDS's train and validation).")
        train, held_out = _read_tfds(expected_version, config, tfds_data_dir, tfds_download)
    elif source == "file":
        train, held_out = _read(squad_file, train_file, config, expected_version)
    else:
        raise ValueError(f"source must be 'file' or 'tfds', but received {source!r}.")
    task = trials.RecipeTask(f"squad_v{held_out.version}")

    def build():
        return ElectraQuestionAnswerer.from_pretrained(
            pretrained,
            sequence_length=config.sequence_length,
            doc_stride=config.doc_stride,
            max_query_length=config.max_query_length,
            random_encoder=config.random_encoder,
            joint=config.joint,
            max_answer_length=config.max_answer_length,
            no_answer_threshold=config.no_answer_threshold if held_out.has_unanswerable else None,
        )

    header = {
        "task": task.name,
        "pretrained": pretrained,
        "squad_file": held_out.source,
        "train_file": train_file,
        "num_train_questions": len(train),
        "num_held_out_questions": len(held_out),
        "held_out_titles": sorted({example.title for example in held_out.examples}),
    }
    return trials.run_trials(
        model_dir,
        num_trials,
        config,
        task,
        build,
        lambda model, recipe, trial_dir, seed: _train_and_score(
            model, recipe, train, held_out, trial_dir, seed, verbose
        ),
        header,
        "squad_config.json",
        force_unlock,
    )


def _read(squad_file: str, train_file: Optional[str], config: SquadConfig, expected_version: Optional[str]) -> tuple:
    evaluation = squad.read_squad(squad_file, config.on_bad_example)
    if expected_version is not None and evaluation.version != expected_version:
        raise ValueError(
            f"{squad_file} is SQuAD {evaluation.version} ("
            f"{'some' if evaluation.has_unanswerable else 'no'} unanswerable questions), not {expected_version}: "
            f"pass --task=squad_v{evaluation.version}, or a {expected_version} file."
        )
    if train_file:
        train, held_out = squad.read_squad(train_file, config.on_bad_example), evaluation
    else:
        train, held_out = squad.split_by_article(evaluation, config.held_out_articles)
    train = _cut(train, config)
    logging.info("SQuAD %s: %d training questions, %d held out", held_out.version, len(train), len(held_out))
    return train, held_out


def _read_tfds(version: Optional[str], config: SquadConfig, data_dir: Optional[str], download: bool) -> tuple:
    if version not in tfds_squad.BUILDERS:
        raise ValueError(f"SQuAD from TFDS needs expected_version '1.1' or '2.0', but received {version!r}.")
    splits = [
        tfds_squad.read_split(version, split, data_dir, download, config.on_bad_example) for split in ("train", "dev")
    ]
    return _cut(splits[0], config), splits[1]


def _cut(train, config: SquadConfig):
    if config.max_train_examples is None:
        return train
    return dataclasses.replace(train, examples=train.examples[: config.max_train_examples])


def _train_and_score(model, recipe, train, held_out, trial_dir: str, seed: int, verbose: int) -> dict:
    """Fits one trial, answers the held-out questions, scores and writes them; returns its record."""
    dataset = model.to_dataset(train.examples, recipe.batch_size, shuffle=True, seed=seed)
    train_seconds = trials.fit_timed(model, dataset, recipe, trial_dir, verbose)
    started = time.time()
    answers = model.predict(held_out.examples)
    predict_seconds = time.time() - started
    scores = score(held_out, answers, model.no_answer_threshold)
    write_predictions(held_out, answers, trial_dir)
    finetune.write_scalars(os.path.join(trial_dir, "logs", "dev"), {"held_out": scores})
    model.save_finetuned(os.path.join(trial_dir, "model"))
    return {
        "seed": seed,
        "dev": {"held_out": scores},
        "train_batches_per_epoch": int(dataset.cardinality()),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(train_seconds / recipe.epochs, 1),
        "predict_seconds": round(predict_seconds, 1),
    }


def score(held_out: squad.SquadSet, answers: list, no_answer_threshold: Optional[float]) -> dict:
    """SQuAD's figures for `predict`'s answers: 1.1's, or 2.0's from the spans and no-answer logits, with the
    threshold applied as the official script applies `--na-prob-thresh` (and its best thresholds)."""
    if not held_out.has_unanswerable:
        return squad_metrics.evaluate_v1(held_out.examples, _by_id(held_out, answers, "answer"))
    spans = _by_id(held_out, answers, "span")
    null_odds = _by_id(held_out, answers, "no_answer_logit")
    threshold = qa_decoding.NO_ANSWER_THRESHOLD if no_answer_threshold is None else no_answer_threshold
    return squad_metrics.evaluate_v2(held_out.examples, spans, null_odds, na_prob_thresh=threshold)


def write_predictions(held_out: squad.SquadSet, answers: list, directory: str) -> None:
    """`predictions.json` ({id: answer}, "" for no answer: the submission format). For SQuAD 2.0 also
    `spans.json` ({id: best span}, what google-research/electra writes) and `null_odds.json` ({id: no-answer
    logit}): `evaluate-v2.0.py spans.json --na-prob-file null_odds.json --na-prob-thresh <threshold>` reproduces
    every figure of `score`, the best thresholds included."""
    tf.io.gfile.makedirs(directory)
    predictions = _by_id(held_out, answers, "answer")
    io_utils.write_text_atomic(os.path.join(directory, "predictions.json"), json.dumps(predictions) + "\n")
    if held_out.has_unanswerable:
        for name, key in (("spans.json", "span"), ("null_odds.json", "no_answer_logit")):
            io_utils.write_text_atomic(os.path.join(directory, name), json.dumps(_by_id(held_out, answers, key)) + "\n")


def _by_id(held_out: squad.SquadSet, answers: list, key: str) -> dict:
    return {example.qid: answer[key] for example, answer in zip(held_out.examples, answers, strict=True)}
