"""The trial loop of the SQuAD and tagging fine-tuning drivers: N seeded runs, one recipe, one `results.json`.

Each trial seeds Keras with `config.seed + k`, builds a fresh model, compiles it with the recipe for the encoder's
size (resolved on the first trial and printed), and hands it to the driver's `train_and_score`. The first trial
takes `model_dir`'s lock (`run_lock`) and writes the config with the recipe filled in; `results.json` holds the
driver's header, the recipe, each score's median and spread, and the trials. A trial finished by an interrupted run
with the same header and config is not run again (`trial_records`).
"""

import contextlib
import dataclasses
import json
import os
import time
from typing import Callable

import keras
import tensorflow as tf
from absl import logging

from electra_tf import config_io, io_utils, run_lock
from electra_tf.models import finetuning_recipe
from electra_tf.training import finetune, trial_records


@dataclasses.dataclass(frozen=True)
class RecipeTask:
    """What the fine-tuning recipe reads of a SQuAD or tagging task: its name (for the epochs) and no pair doubling."""

    name: str
    unordered: bool = False


def check_num_trials(num_trials: int) -> None:
    """Refuses fewer than one trial; drivers call it before reading any data."""
    if num_trials < 1:
        raise ValueError(f"num_trials must be at least 1, but received {num_trials}.")


def fit_timed(model, dataset, recipe, trial_dir: str, verbose: int) -> float:
    """Fits one trial for the recipe's epochs, with TensorBoard under `<trial_dir>/logs`; returns the seconds taken."""
    started = time.time()
    model.fit(
        dataset,
        epochs=recipe.epochs,
        verbose=verbose,
        callbacks=[keras.callbacks.TensorBoard(os.path.join(trial_dir, "logs"), update_freq=50)],
    )
    return time.time() - started


def run_trials(
    model_dir: str,
    num_trials: int,
    config,
    task,
    build: Callable,
    train_and_score: Callable,
    header: dict,
    config_file: str,
    force_unlock: bool = False,
) -> dict:
    """Runs the trials and returns (and writes) the results.

    Args:
        model_dir: str. Where the config, trials and `results.json` go.
        num_trials: int. At least 1.
        config: a frozen dataclass with `seed` and `recipe_overrides()` (`SquadConfig`, `TaggingConfig`).
        task: what the recipe reads of the task: an object with `name` and `unordered`.
        build: () -> model. A fresh `FinetuningModel`, called after seeding.
        train_and_score: (model, recipe, trial_dir, seed) -> dict. The trial's record, with its scores as `dev`.
        header: dict. The first entries of `results.json`.
        config_file: str. The config's file name in `model_dir`.
        force_unlock: bool. Take model_dir's lock even if a run on another host holds it.
    """
    check_num_trials(num_trials)
    with contextlib.ExitStack() as lock:
        trials, recipe, sources, resolved_config = [], None, None, None

        def identity(trial: int) -> dict:
            """What a finished trial's record must have been made with to be reused (`trial_records`)."""
            return {
                **{
                    k: trial_records.normal_path(v) if k in ("pretrained", "data_dir") else v for k, v in header.items()
                },
                "encoder": trial_records.encoder_fingerprint(header["pretrained"]),
                "config": dataclasses.asdict(resolved_config),
                "seed": config.seed + trial,
            }

        for trial in range(num_trials):
            seed = config.seed + trial
            trial_dir = os.path.join(model_dir, f"trial_{trial}")
            if trial > 0 and (record := trial_records.finished(trial_dir, identity(trial))) is not None:
                trials.append(record)
                continue
            keras.utils.set_random_seed(seed)
            model = build()
            if trial == 0:
                recipe, sources = finetuning_recipe.resolve(
                    config.recipe_overrides(), model.encoder.encoder_config, task
                )
                print(f"Fine-tuning recipe for {task.name}: {finetuning_recipe.describe(recipe, sources)}", flush=True)
            model.compile(**finetune.recipe_compile_arguments(recipe))
            if trial == 0:
                tf.io.gfile.makedirs(model_dir)
                lock.enter_context(run_lock.hold(model_dir, force_unlock))  # One writer per model_dir (run_lock.py).
                resolved = {name: getattr(recipe, name) for name in finetuning_recipe.FIELDS if hasattr(config, name)}
                resolved_config = dataclasses.replace(config, **resolved)
                config_io.save(resolved_config, os.path.join(model_dir, config_file))
            record = trial_records.reuse_or_run(
                trial_dir,
                identity(trial),
                lambda m=model, r=recipe, d=trial_dir, s=seed, t=trial: {"trial": t, **train_and_score(m, r, d, s)},
            )
            logging.info("%s trial %d (seed %d): %s", task.name, trial, seed, json.dumps(record["dev"]))
            trials.append(record)
            keras.backend.clear_session()
        results = {
            **header,
            "recipe": dict(dataclasses.asdict(recipe), source=sources),
            "dev": finetune.summarize(trials),
            "trials": trials,
        }
        io_utils.write_text_atomic(os.path.join(model_dir, "results.json"), json.dumps(results, indent=2) + "\n")
    return results
