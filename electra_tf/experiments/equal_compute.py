"""Objectives compared at equal pre-training compute: the paper's central claim (ELECTRA beats MLM at equal FLOPs).

One command runs every stage, each skipped when its output exists, so an interrupted run resumes:

1. learn a vocabulary and build pre-training TFRecords from the corpus (once);
2. pre-train the same discriminator architecture with each objective and seed, for the same total training FLOPs
   from the analytical count, generator included: the reference objective gets `reference_steps` steps, every other
   objective `round(budget / its FLOPs per step)`. FLOPs are counted in `flops_convention`: ours by default
   (`models/flops.py`, the matmuls the step runs), or the paper's (google-research/electra's `flops_computation.py`,
   `models/flops_gr.py`); both are reported. Checkpoints land at each FLOPs fraction;
3. save the encoder of every checkpoint that is fine-tuned (all final ones; intermediate ones of `intermediate_seeds`);
4. fine-tune each of them on each task, `finetune_trials` seeds, with `bin/finetune`;
5. `report.py` turns the results into a table (Markdown and JSON) and a plot.

Pre-training and fine-tuning run as `bin/pretrain` and `bin/finetune` child processes: what is measured is exactly what
users run, and each run starts from a clean TensorFlow state.
"""

import dataclasses
import fractions
import json
import math
import os
import subprocess
import sys
import time
from typing import Optional

import numpy as np
from absl import logging

from electra_tf import config_io, errors, io_utils, settings
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.models.flops_gr import gr_pretraining_flops_per_step
from electra_tf.tokenization.vocabulary import VOCAB_FILE
from electra_tf.training.pretraining_config import PretrainingConfig

# The paper's GLUE dev metrics: Matthews correlation for CoLA, Spearman for STS-B, accuracy for the others.
GLUE_METRICS = {
    "cola": "mcc",
    "sts-b": "spearman",
    "sst-2": "accuracy",
    "mrpc": "accuracy",
    "rte": "accuracy",
    "qnli": "accuracy",
    "qqp": "accuracy",
    "mnli": "accuracy",
    "wnli": "accuracy",
}

# How FLOPs are counted: google-research/electra's convention (the paper's), or ours (what the step runs).
FLOPS_CONVENTIONS = {"gr": "google-research/electra's convention", "electra_tf": "electra_tf's count"}


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """What to compare, at what budget.

    Args:
        name: str. Names the output folders.
        description: str. What the experiment is for (JSON has no comments). Defaults to "".
        corpus: str. A file under `<ELECTRA_DATA_DIR>/corpus/`, or a path.
        vocab_size: int. Size of the WordPiece vocabulary learned from the corpus. Defaults to 30522.
        pretraining_config: str. The base `PretrainingConfig` file, relative to the repository root or absolute.
        pretraining_overrides: dict. Fields of the base config replaced for every objective, nested dicts merged
            (`{"optimizer": {"learning_rate": 0.002}}`), so a variant needs no copy of the base file.
        objectives: list of str. Objectives compared; the first is the reference unless `reference_objective` is set.
        reference_objective: str. Its `reference_steps` define the FLOPs budget.
        reference_steps: int. Steps of the reference objective at the final budget.
        flops_convention: str. How the budget is counted and matched: "electra_tf", our count of the matmuls the
            step runs (3x forward), which tracks the compute this machine spends; or "gr", the paper's convention
            (google-research/electra's `flops_computation.py`: 2x forward, element-wise work, embedding lookups as
            one-hot matmuls). At `tiny`'s size the one-hot lookups (2 x 64 x 30522 per token, in the generator too)
            outweigh the two narrow layers, so "gr" gives MLM about 1.6x ELECTRA's real compute. Both are reported
            either way. Defaults to "electra_tf".
        masking: dict. Per-objective `MaskingConfig` overrides. Empty: every objective masks as
            google-research/electra's `mask()` does for ELECTRA and its BERT baseline alike (85% `[MASK]`, 15% kept,
            no random token). BERT's own 80/10/10 is `{"mlm": {"mask_token_ratio": 0.8, "random_token_ratio": 0.1}}`.
        flops_fractions: list of float. Budget fractions with a checkpoint; must include 1.0. A fraction of 0 is the
            untrained initialization: fine-tuned too, it is the floor that pre-training has to lift.
        pretrain_seeds: list of int. Pre-training seeds of every objective.
        intermediate_seeds: list of int. Pre-training seeds whose checkpoints below 1.0 are fine-tuned too.
        warmup_fraction: float. Pre-training warmup, as a share of each run's own steps.
        tasks: list of str. GLUE tasks.
        headline_tasks: list of str. Tasks in the reported average; empty means all of `tasks`. Tasks that sit at
            their majority class at the experiment's scale only add noise to it.
        control_tasks: list of str. The positive control's transfer tasks (`positive_control.py`); empty computes no
            positive control. Needs an "mlm" objective and the untrained floor (a fraction of 0).
        control_margin_nats: float. How far MLM's held-out `[MASK]` loss must end below the unigram cross-entropy.
        finetune: dict. `FinetuningConfig` fields for every task.
        task_finetune: dict. Per-task `FinetuningConfig` overrides (e.g. an SST-2 subsample).
        finetune_trials: int. Fine-tuning seeds per task.
        task_trials: dict. Per-task fine-tuning seeds that replace `finetune_trials` (fewer for tasks reported
            but not in the headline, say).
    """

    name: str = "electra_vs_mlm"
    description: str = ""
    corpus: str = "gutenberg_100MB.txt"
    vocab_size: int = 30522
    pretraining_config: str = "configs/pretraining/tiny.json"
    pretraining_overrides: dict = dataclasses.field(default_factory=dict)
    objectives: tuple = ("electra", "mlm")
    reference_objective: str = "electra"
    reference_steps: int = 1000
    flops_convention: str = "electra_tf"
    masking: dict = dataclasses.field(default_factory=dict)
    flops_fractions: tuple = (0.25, 0.5, 1.0)
    pretrain_seeds: tuple = (0, 1)
    intermediate_seeds: tuple = (0,)
    warmup_fraction: float = 0.1
    tasks: tuple = ("cola", "sst-2", "mrpc", "sts-b", "rte")
    headline_tasks: tuple = ()
    control_tasks: tuple = ()
    control_margin_nats: float = 0.5
    finetune: dict = dataclasses.field(default_factory=dict)
    task_finetune: dict = dataclasses.field(default_factory=dict)
    finetune_trials: int = 3
    task_trials: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.reference_objective not in self.objectives:
            raise ValueError(
                f"reference_objective={self.reference_objective!r} is not among objectives={list(self.objectives)}."
            )
        if self.flops_convention not in FLOPS_CONVENTIONS:
            raise ValueError(
                f"flops_convention must be one of {sorted(FLOPS_CONVENTIONS)}, but received "
                f"flops_convention={self.flops_convention!r}."
            )
        if 1.0 not in self.flops_fractions or any(not 0 <= f <= 1 for f in self.flops_fractions):
            raise ValueError(
                f"flops_fractions must lie in [0, 1] and include 1.0, but received {list(self.flops_fractions)}."
            )
        if len(self.pretrain_seeds) < 1 or self.finetune_trials < 1 or self.reference_steps < 1:
            raise ValueError("pretrain_seeds, finetune_trials and reference_steps must be non-empty / positive.")
        unknown = sorted(set(self.tasks) - set(GLUE_METRICS))
        if unknown:
            raise ValueError(f"Unknown tasks {unknown}; choose from {sorted(GLUE_METRICS)}.")
        if sorted(set(self.task_trials) - set(self.tasks)) or any(
            not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in self.task_trials.values()
        ):
            raise ValueError(
                f"task_trials must map tasks among {list(self.tasks)} to positive integers, but received "
                f"{self.task_trials}."
            )
        for name in ("headline_tasks", "control_tasks"):
            outside = sorted(set(getattr(self, name)) - set(self.tasks))
            if outside:
                raise ValueError(f"{name} holds {outside}, which are not among tasks={list(self.tasks)}.")
        if self.control_tasks and (
            "mlm" not in self.objectives or 0.0 not in self.flops_fractions or not self.intermediate_seeds
        ):
            raise ValueError(
                "control_tasks needs the MLM baseline among objectives (its [MASK] loss is the context gate), 0 "
                "among flops_fractions and a seed in intermediate_seeds (the untrained floor is fine-tuned for those), "
                f"but received objectives={list(self.objectives)}, flops_fractions={list(self.flops_fractions)}, "
                f"intermediate_seeds={list(self.intermediate_seeds)}."
            )
        for seed in self.intermediate_seeds:
            if seed not in self.pretrain_seeds:
                raise ValueError(
                    f"intermediate_seeds holds {seed}, which is not among pretrain_seeds={list(self.pretrain_seeds)}."
                )


@dataclasses.dataclass(frozen=True)
class PretrainingRun:
    objective: str
    seed: int
    steps: int
    flops_per_step: int  # Our count: what bin/pretrain reports as flops_per_step.
    flops_per_step_gr: int  # google-research/electra's convention.
    checkpoint_steps: tuple  # One per FLOPs fraction, in the order of `flops_fractions`.

    @property
    def name(self) -> str:
        return f"{self.objective}-seed{self.seed}"

    def flops_per_step_in(self, convention: str) -> int:
        """FLOPs per step counted in `convention` ("gr" or "electra_tf")."""
        return self.flops_per_step_gr if convention == "gr" else self.flops_per_step


def _merged(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = (
            _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return merged


def base_config(experiment: ExperimentConfig) -> PretrainingConfig:
    """The base `PretrainingConfig` file with `pretraining_overrides` applied."""
    path = experiment.pretraining_config
    if not os.path.isabs(path):
        path = str(settings.repo_root() / path)
    raw = io_utils.read_json(path, "pre-training configuration file")
    source = f"{path} with pretraining_overrides" if experiment.pretraining_overrides else path
    return config_io.from_dict(PretrainingConfig, _merged(raw, experiment.pretraining_overrides), source=source)


def objective_config(experiment: ExperimentConfig, base: PretrainingConfig, objective: str) -> PretrainingConfig:
    masking = dataclasses.replace(base.masking, **experiment.masking.get(objective, {}))
    return dataclasses.replace(base, objective=objective, masking=masking)


def flops_per_step(config: PretrainingConfig) -> int:
    """Our analytical training FLOPs of one step of `config`: what `bin/pretrain` reports as `flops_per_step`."""
    return pretraining_flops_per_step(*config.step_shape())


def flops_per_step_gr(config: PretrainingConfig) -> int:
    """Training FLOPs of one step of `config` in google-research/electra's convention: `bin/pretrain`'s
    `flops_per_step_gr`."""
    return gr_pretraining_flops_per_step(*config.step_shape())


def plan(experiment: ExperimentConfig, vocab_size: Optional[int] = None) -> tuple[int, list[PretrainingRun]]:
    """Returns the FLOPs budget (in `experiment.flops_convention`) and the pre-training runs that match it.

    Every run's step count is a multiple of the fractions' common denominator, so each FLOPs fraction falls on a
    checkpoint; the rounding moves a run's total by less than one checkpoint interval, and the actual totals are
    reported beside the budget.
    """
    base = base_config(experiment)
    if vocab_size is not None:
        base = dataclasses.replace(base, encoder=dataclasses.replace(base.encoder, vocab_size=vocab_size))
    denominator = math.lcm(
        *(fractions.Fraction(f).limit_denominator(1000).denominator for f in experiment.flops_fractions)
    )
    per_objective = {}
    for objective in experiment.objectives:
        config = objective_config(experiment, base, objective)
        per_objective[objective] = (flops_per_step(config), flops_per_step_gr(config))
    matched = 1 if experiment.flops_convention == "gr" else 0
    budget = experiment.reference_steps * per_objective[experiment.reference_objective][matched]
    runs = []
    for objective, per_step in per_objective.items():
        steps = max(denominator, round(budget / per_step[matched] / denominator) * denominator)
        checkpoints = tuple(round(f * steps) for f in experiment.flops_fractions)
        runs += [PretrainingRun(objective, seed, steps, *per_step, checkpoints) for seed in experiment.pretrain_seeds]
    return budget, runs


class Experiment:
    """Runs (and resumes) the stages of an `ExperimentConfig` under `output_dir`.

    Args:
        config: `ExperimentConfig`.
        output_dir: str. Vocabulary, data, pre-training and fine-tuning runs; `summary.json` at the end.
        glue_dir: str. The GLUE root.
    """

    def __init__(self, config: ExperimentConfig, output_dir: str, glue_dir: str):
        self.config = config
        self.output_dir = output_dir
        self.glue_dir = glue_dir
        self.vocab_file = os.path.join(output_dir, VOCAB_FILE)
        self.data_dir = os.path.join(output_dir, "pretraining_data")
        self.stage_seconds = {}

    # ------------------------------------------------------------------ stages
    def run(self) -> dict:
        started = time.time()
        io_utils.check_output_dir(self.output_dir, "output_dir")
        self.check_same_experiment()
        os.makedirs(self.output_dir, exist_ok=True)
        config_io.save(self.config, os.path.join(self.output_dir, CONFIG_FILE))
        self._timed("data", self.build_data)
        self._timed("unigram", self.measure_unigram)
        budget, runs = plan(self.config, self._vocab_size())
        self.print_flops(budget, runs)
        for run in runs:
            self._timed(f"pretrain/{run.name}", lambda run=run: self.pretrain(run))
        for run in runs:
            self._timed(f"export/{run.name}", lambda run=run: self.export_checkpoints(run))
        for run in runs:
            for fraction, encoder_dir in self.encoders(run):
                for task in self.config.tasks:
                    self._timed(
                        f"finetune/{run.name}/{fraction}/{task}", lambda e=encoder_dir, t=task: self.finetune(e, t)
                    )
        summary = {
            "config": dataclasses.asdict(self.config),
            "unigram": self.unigram(),
            "flops_convention": self.config.flops_convention,
            "budget_flops": budget,
            "runs": [self.run_summary(run) for run in runs],
            "stage_seconds": _read_timings(self.output_dir),
            "wall_seconds_this_invocation": round(time.time() - started, 1),
        }
        io_utils.write_text_atomic(os.path.join(self.output_dir, "summary.json"), json.dumps(summary, indent=1) + "\n")
        return summary

    def check_same_experiment(self) -> None:
        """Refuses to resume an output_dir made with another config: its finished stages would be reused silently."""
        path = os.path.join(self.output_dir, CONFIG_FILE)
        if not os.path.exists(path):
            return
        raw = io_utils.read_json(path, "experiment config")
        if "flops_convention" not in raw:  # The field came with the fidelity changes (docs/fidelity.md).
            raise ValueError(
                f"{self.output_dir} holds an experiment made before electra_tf followed google-research/electra (tanh "
                "GELU, bias-corrected Adam, its old fine-tuning defaults): its finished stages would be mixed with "
                "runs made the new way. Pass a new --output_dir."
            )
        previous = config_io.from_dict(ExperimentConfig, raw, source=path)
        changed = [
            f.name
            for f in dataclasses.fields(ExperimentConfig)
            if f.name != "description" and getattr(previous, f.name) != getattr(self.config, f.name)
        ]
        if changed:
            raise ValueError(
                f"{self.output_dir} holds an experiment made with a different config ({', '.join(changed)} differ): "
                "its finished stages would be reused. Pass a new --output_dir, or the config that made it."
            )

    def _timed(self, name: str, stage) -> None:
        """Runs a stage; if it did work, records its wall time in `timings.json` (kept across resumed invocations)."""
        started = time.time()
        if stage():
            self.stage_seconds[name] = round(time.time() - started, 1)
            timings = _read_timings(self.output_dir)
            timings[name] = self.stage_seconds[name]
            io_utils.write_text_atomic(
                os.path.join(self.output_dir, TIMINGS_FILE), json.dumps(timings, indent=1) + "\n"
            )
            print(f"[{time.strftime('%H:%M:%S')}] {name}: {self.stage_seconds[name]:.0f} s", flush=True)

    def _vocab_size(self) -> int:
        with open(self.vocab_file, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())

    def build_data(self) -> bool:
        """Vocabulary and TFRecords from the corpus, once."""
        from electra_tf.data.packing import PackingConfig  # pylint: disable=import-outside-toplevel
        from electra_tf.data.pretraining_data_builder import (  # pylint: disable=import-outside-toplevel
            PretrainingDataConfig,
            build_pretraining_data,
        )
        from electra_tf.tokenization.vocab_learner import (
            learn_wordpiece_vocab,  # pylint: disable=import-outside-toplevel
        )

        corpus = (
            self.config.corpus if os.path.exists(self.config.corpus) else str(settings.corpus_file(self.config.corpus))
        )
        ran = False
        if not os.path.exists(self.vocab_file):
            learn_wordpiece_vocab([corpus], vocab_size=self.config.vocab_size).save(self.vocab_file)
            ran = True
        if not os.path.exists(os.path.join(self.data_dir, "metadata.json")):
            seq_len = base_config(self.config).max_seq_length
            data_config = PretrainingDataConfig(packing=PackingConfig(max_seq_length=seq_len))
            build_pretraining_data([corpus], self.vocab_file, self.data_dir, data_config, show_progress=False)
            ran = True
        return ran

    def measure_unigram(self) -> bool:
        """The unigram cross-entropy of the held-out shards that `bin/pretrain` evaluates on, once."""
        from electra_tf.data.metadata import PretrainingDataMetadata  # pylint: disable=import-outside-toplevel
        from electra_tf.data.pretraining_dataset import usable_holdout_shards  # pylint: disable=import-outside-toplevel
        from electra_tf.data.unigram import unigram_baseline  # pylint: disable=import-outside-toplevel

        path = os.path.join(self.output_dir, UNIGRAM_FILE)
        if os.path.exists(path):
            return False
        metadata = PretrainingDataMetadata.load(self.data_dir)
        holdout = usable_holdout_shards(metadata, base_config(self.config).eval_holdout_shards)
        if self.config.control_tasks and not holdout:
            raise ValueError(
                f"The positive control reads held-out figures, but {self.data_dir} has {len(metadata.shards)} shard(s) "
                f"and eval_holdout_shards={base_config(self.config).eval_holdout_shards} leaves none held out. Use a "
                "larger corpus or hold out a shard, or drop control_tasks."
            )
        figures = dataclasses.asdict(unigram_baseline(self.data_dir, holdout)) if holdout else {}
        figures["holdout_shards"] = holdout
        io_utils.write_text_atomic(path, json.dumps(figures, indent=1) + "\n")
        if holdout:
            print(
                f"Unigram cross-entropy of the held-out tokens: {figures['cross_entropy']:.4f} nats "
                f"({figures['heldout_tokens']:,} held-out tokens scored by {figures['train_tokens']:,} training "
                "tokens).",
                flush=True,
            )
        return True

    def unigram(self) -> dict:
        with open(os.path.join(self.output_dir, UNIGRAM_FILE), encoding="utf-8") as f:
            return json.load(f)

    def run_dir(self, run: PretrainingRun) -> str:
        return os.path.join(self.output_dir, "pretrain", run.name)

    def floor_run(self, run: PretrainingRun) -> PretrainingRun:
        """The run whose step-0 export is `run`'s untrained floor: the reference objective's, same seed. Every
        objective builds the shared embeddings and the discriminator first from the same seeded stream, so their
        initial discriminators are one network (checked in `export_checkpoints`), fine-tuned once."""
        return dataclasses.replace(run, objective=self.config.reference_objective)

    def pretrain(self, run: PretrainingRun) -> bool:
        model_dir = self.run_dir(run)
        if os.path.exists(os.path.join(model_dir, "results.json")):
            return False
        base = base_config(self.config)
        base = dataclasses.replace(base, encoder=dataclasses.replace(base.encoder, vocab_size=self._vocab_size()))
        config = objective_config(self.config, base, run.objective)
        config = dataclasses.replace(
            config,
            seed=run.seed,
            num_train_steps=run.steps,
            checkpoint_every=min(config.checkpoint_every, run.steps),
            # Each intermediate FLOPs fraction's checkpoint is kept outside the rolling window, for its export.
            keep_checkpoint_steps=tuple(sorted({step for step in run.checkpoint_steps if 0 < step < run.steps})),
            optimizer=dataclasses.replace(
                config.optimizer, warmup_steps=round(self.config.warmup_fraction * run.steps)
            ),
        )
        os.makedirs(model_dir, exist_ok=True)
        config_path = os.path.join(model_dir, "run_config.json")
        config_io.save(config, config_path)
        _child(
            [
                "electra_tf.cli.pretrain",
                f"--config={config_path}",
                f"--train_data={self.data_dir}",
                f"--model_dir={model_dir}",
            ],
            os.path.join(model_dir, "pretrain.log"),
        )
        return True

    def _tokens_per_step(self, run: PretrainingRun) -> int:
        config = config_io.load(PretrainingConfig, os.path.join(self.run_dir(run), "run_config.json"))
        return config.train_batch_size * config.max_seq_length * config.optimizer.gradient_accumulation_steps

    def encoders(self, run: PretrainingRun) -> list[tuple[float, str]]:
        """(FLOPs fraction, encoder folder) of every checkpoint of `run` that is fine-tuned."""
        chosen = []
        for fraction in self.config.flops_fractions:
            if fraction == 1.0:
                chosen.append((fraction, os.path.join(self.run_dir(run), "discriminator")))
            elif run.seed in self.config.intermediate_seeds and fraction == 0.0:
                chosen.append((fraction, os.path.join(self.run_dir(self.floor_run(run)), "discriminator_at_0")))
            elif run.seed in self.config.intermediate_seeds:
                chosen.append((fraction, os.path.join(self.run_dir(run), f"discriminator_at_{fraction:g}")))
        return chosen

    def export_checkpoints(self, run: PretrainingRun) -> bool:
        """Saves the discriminator of each intermediate checkpoint that is fine-tuned (at step 0: the run's seeded
        initialization)."""
        import keras  # pylint: disable=import-outside-toplevel
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        from electra_tf.models import saving  # pylint: disable=import-outside-toplevel
        from electra_tf.models.electra_pretrainer import ElectraPretrainer  # pylint: disable=import-outside-toplevel
        from electra_tf.tokenization.vocabulary import Vocabulary  # pylint: disable=import-outside-toplevel
        from electra_tf.training import callbacks  # pylint: disable=import-outside-toplevel

        def initialization(of_run):
            config = config_io.load(PretrainingConfig, os.path.join(self.run_dir(of_run), "run_config.json"))
            keras.utils.set_random_seed(config.seed)  # As bin/pretrain seeds it: step 0 is the run's own start.
            return ElectraPretrainer(**config.pretrainer_kwargs())

        ran = False
        for (fraction, encoder_dir), step in zip(self.encoders(run), self._steps_of(run)):
            if fraction == 0.0 and self.floor_run(run) != run:
                if not os.path.exists(os.path.join(self.run_dir(run), FLOOR_CHECKED_FILE)):
                    mine, floor = initialization(run).discriminator, initialization(self.floor_run(run)).discriminator
                    for a, b in zip(mine.weights, floor.weights, strict=True):
                        if a.path != b.path or not np.array_equal(a.numpy(), b.numpy()):
                            raise errors.RunFailedError(
                                f"The initial discriminators of {run.name} and {self.floor_run(run).name} differ at "
                                f"{a.path}: the untrained floor cannot be shared between objectives."
                            )
                    io_utils.write_text_atomic(os.path.join(self.run_dir(run), FLOOR_CHECKED_FILE), "identical\n")
                    ran = True
                continue
            if fraction == 1.0 or os.path.exists(os.path.join(encoder_dir, saving.CONFIG_FILE)):
                continue
            model = initialization(run)
            if step:
                checkpoints = os.path.join(self.run_dir(run), "checkpoints")
                path = (
                    callbacks.kept_checkpoint_prefix(checkpoints, step)
                    if callbacks.has_kept_checkpoint(checkpoints, step)
                    else os.path.join(checkpoints, f"ckpt-{step}")
                )
                tf.train.Checkpoint(model=model).restore(path).expect_partial()
            _, _, tokenizer = saving.load_encoder(os.path.join(self.run_dir(run), "discriminator"))
            saving.save(
                saving.SavedEncoder(model.discriminator, Vocabulary.load(self.vocab_file), tokenizer), encoder_dir
            )
            ran = True
        return ran

    def _steps_of(self, run: PretrainingRun) -> list[int]:
        """The step of each fine-tuned checkpoint, in the order of `encoders`."""
        return [
            step
            for fraction, step in zip(self.config.flops_fractions, run.checkpoint_steps)
            if fraction == 1.0 or run.seed in self.config.intermediate_seeds
        ]

    def finetune_dir(self, encoder_dir: str, task: str) -> str:
        relative = os.path.relpath(encoder_dir, os.path.join(self.output_dir, "pretrain"))
        return os.path.join(self.output_dir, "finetune", relative, task)

    def finetune(self, encoder_dir: str, task: str) -> bool:
        model_dir = self.finetune_dir(encoder_dir, task)
        if os.path.exists(os.path.join(model_dir, "results.json")):
            return False
        settings_ = dict(self.config.finetune, **self.config.task_finetune.get(task, {}))
        os.makedirs(os.path.dirname(model_dir), exist_ok=True)
        config_path = model_dir + ".finetuning_config.json"
        io_utils.write_text_atomic(config_path, json.dumps(settings_, indent=1) + "\n")
        _child(
            [
                "electra_tf.cli.finetune",
                f"--task={task}",
                f"--data_dir={self.glue_dir}",
                f"--pretrained={encoder_dir}",
                f"--model_dir={model_dir}",
                f"--config={config_path}",
                f"--num_trials={self.config.task_trials.get(task, self.config.finetune_trials)}",
                "--keras_verbose=0",
            ],
            model_dir + ".log",
        )
        return True

    # ------------------------------------------------------------------ results
    def run_summary(self, run: PretrainingRun) -> dict:
        results = json.load(open(os.path.join(self.run_dir(run), "results.json"), encoding="utf-8"))
        scores = {}
        for (fraction, encoder_dir), step in zip(self.encoders(run), self._steps_of(run)):
            per_task = {}
            for task in self.config.tasks:
                with open(os.path.join(self.finetune_dir(encoder_dir, task), "results.json"), encoding="utf-8") as f:
                    finetuned = json.load(f)
                per_task[task] = [trial["dev"]["dev"][GLUE_METRICS[task]] for trial in finetuned["trials"]]
            scores[f"{fraction:g}"] = {
                "step": step,
                "flops": step * run.flops_per_step_in(self.config.flops_convention),  # The convention matched by.
                "flops_electra_tf": step * run.flops_per_step,
                "flops_gr": step * run.flops_per_step_gr,
                "tasks": per_task,
            }
        return {
            "objective": run.objective,
            "seed": run.seed,
            "steps": run.steps,
            "flops_per_step": run.flops_per_step,
            "flops_per_step_gr": run.flops_per_step_gr,
            "flops_per_step_reported_by_pretrain": results["flops_per_step"],
            "flops_per_step_gr_reported_by_pretrain": results.get("flops_per_step_gr"),
            "total_flops": run.steps * run.flops_per_step,
            "total_flops_gr": run.steps * run.flops_per_step_gr,
            "pretrain_wall_seconds": results["wall_seconds"],
            "final_train": {k: v for k, v in results["train"].items() if k != "step"},
            "final_eval": results["eval"],
            "eval_history": results.get("eval_history", []),
            "tokens_per_step": self._tokens_per_step(run),
            "checkpoints": scores,
        }

    def print_flops(self, budget: int, runs: list[PretrainingRun]) -> None:
        print(flops_plan_text(self.config, budget, runs), flush=True)


def flops_plan_text(config: ExperimentConfig, budget: int, runs: list[PretrainingRun]) -> str:
    """The budget and each objective's steps, with FLOPs in both conventions (the matched one first)."""
    matched = config.flops_convention
    other = next(c for c in FLOPS_CONVENTIONS if c != matched)
    lines = [
        f"FLOPs budget: {budget:.4e} in {FLOPS_CONVENTIONS[matched]} ({config.reference_steps} steps of "
        f"{config.reference_objective}); {FLOPS_CONVENTIONS[other]} in brackets"
    ]
    seen = set()
    for run in runs:
        if run.objective in seen:
            continue
        seen.add(run.objective)
        per_step, per_step_other = run.flops_per_step_in(matched), run.flops_per_step_in(other)
        lines.append(
            f"  {run.objective:>16}: {per_step:.4e} [{per_step_other:.4e}] FLOPs/step x {run.steps} steps = "
            f"{per_step * run.steps:.4e} [{per_step_other * run.steps:.4e}] "
            f"({per_step * run.steps / budget:.3f} of the "
            f"budget); checkpoints at steps {list(run.checkpoint_steps)}"
        )
    return "\n".join(lines)


TIMINGS_FILE = "timings.json"
UNIGRAM_FILE = "unigram.json"
FLOOR_CHECKED_FILE = "floor_is_shared.txt"  # Written once the initial discriminator was found equal to the floor's.
CONFIG_FILE = "experiment_config.json"


def _read_timings(output_dir: str) -> dict:
    path = os.path.join(output_dir, TIMINGS_FILE)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def total_wall_seconds(output_dir: str) -> float:
    """The summed wall time of every stage, over all the invocations that did work."""
    return sum(_read_timings(output_dir).values())


def _child(module_and_flags: list[str], log_path: str) -> None:
    """Runs `python -m <module> <flags>`, appending its output to `log_path`; raises with the log's tail on failure."""
    with open(log_path, "a", encoding="utf-8") as log:
        code = subprocess.run(
            [sys.executable, "-m", *module_and_flags], stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode
    if code:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-3000:]
        raise errors.RunFailedError(
            f"{module_and_flags[0]} failed with exit status {code}; its log is {log_path}:\n{tail}"
        )
    logging.info("%s finished (%s).", module_and_flags[0], log_path)
