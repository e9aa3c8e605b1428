"""Objectives compared at equal pre-training compute: the paper's central claim (ELECTRA beats MLM at equal FLOPs).

One command runs every stage, each skipped when its output exists, so an interrupted run resumes:

1. learn a vocabulary and build pre-training TFRecords from the corpus (once);
2. with a wall-clock matching, time each objective's training step in alternation (once; keep the machine idle);
3. pre-train the same discriminator architecture with each objective and seed for equal compute, generator included
   (`experiment_plan.py`: FLOPs in our count or the paper's, and optionally wall-clock). Checkpoints land at each
   FLOPs fraction and at each matching's step;
4. save the encoder of every checkpoint that is fine-tuned (the full budget and every matching's step for all seeds;
   intermediate fractions for `intermediate_seeds`);
5. fine-tune each of them on each task with `bin/finetune`: `finetune_trials` seeds (`task_trials` per task); the
   curve's inner points on `intermediate_tasks` with `intermediate_trials` seeds, if set;
6. `report.py` turns the results into tables (Markdown and JSON) and plots.

Pre-training and fine-tuning run as `bin/pretrain` and `bin/finetune` child processes: what is measured is exactly what
users run, and each run starts from a clean TensorFlow state.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Optional

import numpy as np
from absl import logging

from electra_tf import config_io, errors, io_utils, settings
from electra_tf.experiments.experiment_plan import (  # noqa: F401 (re-exported: the API callers use)
    FLOPS_CONVENTIONS,
    GLUE_METRICS,
    MATCHINGS,
    ExperimentConfig,
    PretrainingRun,
    base_config,
    flops_per_step,
    flops_per_step_gr,
    flops_plan_text,
    learning_rate_fraction,
    objective_config,
    plan,
    primary_steps,
)
from electra_tf.tokenization.vocabulary import VOCAB_FILE
from electra_tf.training.pretraining_config import PretrainingConfig


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A checkpoint of a run that is fine-tuned: a FLOPs fraction of the primary matching, a matching's step, or
    both (one step, fine-tuned once)."""

    key: str  # The fraction (f"{fraction:g}") or, for a step only a matching uses, the matching.
    step: int
    encoder_dir: str
    fraction: Optional[float]
    matchings: tuple  # The matchings whose step this is.


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
        if "wall_clock" in self.config.extra_matchings:
            self._timed("step_seconds", self.measure_step_seconds)
        budget, runs = plan(self.config, self._vocab_size(), self.step_seconds())
        self.print_flops(budget, runs)
        for run in runs:
            self._timed(f"pretrain/{run.name}", lambda run=run: self.pretrain(run))
        for run in runs:
            self._timed(f"export/{run.name}", lambda run=run: self.export_checkpoints(run))
        for run in runs:
            for checkpoint in self.checkpoints(run):
                for task in self.tasks(checkpoint):
                    self._timed(
                        f"finetune/{run.name}/{checkpoint.key}/{task}",
                        lambda c=checkpoint, t=task: self.finetune(c, t),
                    )
        summary = {
            "config": dataclasses.asdict(self.config),
            "unigram": self.unigram(),
            "flops_convention": self.config.flops_convention,
            "extra_matchings": list(self.config.extra_matchings),
            "step_seconds": self.step_seconds_figures(),
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

    def measure_step_seconds(self) -> bool:
        """Times each objective's training step in alternating windows, once: the wall-clock matching's rates."""
        from electra_tf.benchmarks.pretraining_benchmarks import (  # pylint: disable=import-outside-toplevel
            step_seconds,
        )

        path = os.path.join(self.output_dir, STEP_SECONDS_FILE)
        if os.path.exists(path):
            return False
        configs = {objective: self.objective_run_config(objective) for objective in self.config.objectives}
        print(
            f"Timing the training steps of {', '.join(configs)} in alternation for the wall-clock matching; keep the "
            "machine otherwise idle.",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        figures = step_seconds(configs, self.data_dir, self.config.reference_objective)
        figures = {
            "objectives": figures,
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        }
        io_utils.write_text_atomic(path, json.dumps(figures, indent=1) + "\n")
        print(
            "Seconds per step: "
            + ", ".join(f"{o} {f['seconds_per_step']:.4f}" for o, f in figures["objectives"].items()),
            flush=True,
        )
        return True

    def step_seconds_figures(self) -> Optional[dict]:
        path = os.path.join(self.output_dir, STEP_SECONDS_FILE)
        return io_utils.read_json(path, "step-time file") if os.path.exists(path) else None

    def step_seconds(self) -> Optional[dict]:
        """{objective: measured seconds per step}, or None without a wall-clock matching."""
        figures = self.step_seconds_figures()
        if not figures:
            return None
        # The reference's median, times each objective's median ratio to it over paired windows (load-robust).
        reference = figures["objectives"][self.config.reference_objective]["seconds_per_step"]
        return {o: reference * f["over_reference"] for o, f in figures["objectives"].items()}

    def objective_run_config(self, objective: str) -> PretrainingConfig:
        """The base config with the learned vocabulary's size and `objective`'s masking."""
        base = base_config(self.config)
        base = dataclasses.replace(base, encoder=dataclasses.replace(base.encoder, vocab_size=self._vocab_size()))
        return objective_config(self.config, base, objective)

    def run_dir(self, run: PretrainingRun) -> str:
        return os.path.join(self.output_dir, "pretrain", run.name)

    def floor_run(self, run: PretrainingRun) -> PretrainingRun:
        """The run whose step-0 export is `run`'s untrained floor: the reference objective's, same seed. Every
        objective builds the shared embeddings and the discriminator first from the same seeded stream, so their
        initial discriminators are one network (checked in `export_checkpoints`), fine-tuned once."""
        return dataclasses.replace(run, objective=self.config.reference_objective)

    def pretrain(self, run: PretrainingRun) -> bool:
        model_dir = self.run_dir(run)
        config = self.run_config(run)
        config_path = os.path.join(model_dir, "run_config.json")
        if os.path.exists(config_path):
            # The experiment config can be the same while its base pre-training file changed: compare what runs.
            previous = config_io.load(PretrainingConfig, config_path)
            changed = [
                f.name
                for f in dataclasses.fields(PretrainingConfig)
                if f.name != "description" and getattr(previous, f.name) != getattr(config, f.name)
            ]
            if changed:
                raise ValueError(
                    f"{model_dir} was started with another pre-training config ({', '.join(changed)} differ from "
                    f"what {self.config.pretraining_config}, the experiment config and {STEP_SECONDS_FILE} give now): "
                    "resuming would mix the two. Pass a new --output_dir, or restore the files that made it."
                )
        if os.path.exists(os.path.join(model_dir, "results.json")):
            return False
        os.makedirs(model_dir, exist_ok=True)
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

    def run_config(self, run: PretrainingRun) -> PretrainingConfig:
        """What `bin/pretrain` runs for `run`: the objective's config, its seed and steps, warmup as a share of the
        steps, and a kept checkpoint at each fraction's and matching's step."""
        config = self.objective_run_config(run.objective)
        kept = {step for step in run.checkpoint_steps} | {step for _, step in run.matched_steps}
        config = dataclasses.replace(
            config,
            seed=run.seed,
            num_train_steps=run.steps,
            checkpoint_every=min(config.checkpoint_every, run.steps),
            # Each intermediate fraction's and matching's checkpoint is kept outside the rolling window, for export.
            keep_checkpoint_steps=tuple(sorted(step for step in kept if 0 < step < run.steps)),
            optimizer=dataclasses.replace(
                config.optimizer, warmup_steps=round(self.config.warmup_fraction * run.steps)
            ),
        )
        return config

    def _tokens_per_step(self, run: PretrainingRun) -> int:
        config = config_io.load(PretrainingConfig, os.path.join(self.run_dir(run), "run_config.json"))
        return config.train_batch_size * config.max_seq_length * config.optimizer.gradient_accumulation_steps

    def checkpoints(self, run: PretrainingRun) -> list[Checkpoint]:
        """Every checkpoint of `run` that is fine-tuned, each step once: the full budget and each matching's step
        (every seed), and the intermediate fractions (`intermediate_seeds`; fraction 0 is the shared floor)."""
        chosen = {}  # step -> Checkpoint
        for fraction, step in zip(self.config.flops_fractions, run.checkpoint_steps):
            if fraction == 1.0 or run.seed in self.config.intermediate_seeds:
                if fraction == 0.0:
                    encoder_dir = os.path.join(self.run_dir(self.floor_run(run)), "discriminator_at_0")
                else:
                    encoder_dir = self._encoder_dir(run, step, f"discriminator_at_{fraction:g}")
                chosen[step] = Checkpoint(f"{fraction:g}", step, encoder_dir, fraction, ())
        for matching, step in run.matched_steps or ((self.config.flops_convention, run.steps),):
            if step in chosen:
                chosen[step] = dataclasses.replace(chosen[step], matchings=chosen[step].matchings + (matching,))
            else:
                encoder_dir = self._encoder_dir(run, step, f"discriminator_at_step{step}")
                chosen[step] = Checkpoint(matching, step, encoder_dir, None, (matching,))
        return sorted(chosen.values(), key=lambda c: c.step)

    def _encoder_dir(self, run: PretrainingRun, step: int, name: str) -> str:
        """The run's final export (`discriminator`, written by bin/pretrain) at its last step, else `name`."""
        return os.path.join(self.run_dir(run), "discriminator" if step == run.steps else name)

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
        for checkpoint in self.checkpoints(run):
            step, encoder_dir = checkpoint.step, checkpoint.encoder_dir
            if step == 0 and self.floor_run(run) != run:
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
            if step == run.steps or os.path.exists(os.path.join(encoder_dir, saving.CONFIG_FILE)):
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

    def finetune_dir(self, encoder_dir: str, task: str) -> str:
        relative = os.path.relpath(encoder_dir, os.path.join(self.output_dir, "pretrain"))
        return os.path.join(self.output_dir, "finetune", relative, task)

    @staticmethod
    def is_inner(checkpoint: Checkpoint) -> bool:
        """A point of the curve below the full budget that no matching uses."""
        return checkpoint.fraction not in (None, 0.0, 1.0) and not checkpoint.matchings

    def tasks(self, checkpoint: Checkpoint) -> list[str]:
        """The tasks fine-tuned on `checkpoint`: `intermediate_tasks` on the curve's inner points, else all."""
        if self.is_inner(checkpoint) and self.config.intermediate_tasks:
            return [t for t in self.config.tasks if t in self.config.intermediate_tasks]
        return list(self.config.tasks)

    def trials(self, checkpoint: Checkpoint, task: str) -> int:
        """Fine-tuning seeds of `task` on `checkpoint`: fewer on the curve's inner points if the config says so."""
        if self.is_inner(checkpoint) and self.config.intermediate_trials is not None:
            return self.config.intermediate_trials
        return self.config.task_trials.get(task, self.config.finetune_trials)

    def finetune(self, checkpoint: Checkpoint, task: str) -> bool:
        encoder_dir = checkpoint.encoder_dir
        model_dir = self.finetune_dir(encoder_dir, task)
        if os.path.exists(os.path.join(model_dir, "results.json")):
            return False
        settings_ = self.config.finetune_settings(task)
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
                f"--num_trials={self.trials(checkpoint, task)}",
                "--keras_verbose=0",
            ],
            model_dir + ".log",
        )
        return True

    # ------------------------------------------------------------------ results
    def run_summary(self, run: PretrainingRun) -> dict:
        results = json.load(open(os.path.join(self.run_dir(run), "results.json"), encoding="utf-8"))
        run_config = config_io.load(PretrainingConfig, os.path.join(self.run_dir(run), "run_config.json"))
        scores = {}
        for checkpoint in self.checkpoints(run):
            step, per_task = checkpoint.step, {}
            for task in self.tasks(checkpoint):
                path = os.path.join(self.finetune_dir(checkpoint.encoder_dir, task), "results.json")
                with open(path, encoding="utf-8") as f:
                    finetuned = json.load(f)
                per_task[task] = [trial["dev"]["dev"][GLUE_METRICS[task]] for trial in finetuned["trials"]]
            scores[checkpoint.key] = {
                "step": step,
                "fraction": checkpoint.fraction,
                "matchings": list(checkpoint.matchings),
                "flops": step * run.flops_per_step_in(self.config.flops_convention),  # The primary matching's.
                "flops_electra_tf": step * run.flops_per_step,
                "flops_gr": step * run.flops_per_step_gr,
                "step_seconds": None if run.seconds_per_step is None else step * run.seconds_per_step,
                # Above 0 where the run went on past this step: its rate had not decayed to 0 here. None: untrained.
                "learning_rate_fraction": learning_rate_fraction(run_config, step) if step else None,
                "tasks": per_task,
            }
        return {
            "objective": run.objective,
            "seed": run.seed,
            "steps": run.steps,
            "primary_steps": primary_steps(run),
            "matched_steps": dict(run.matched_steps),
            "seconds_per_step": run.seconds_per_step,
            "flops_per_step": run.flops_per_step,
            "flops_per_step_gr": run.flops_per_step_gr,
            "flops_per_step_reported_by_pretrain": results["flops_per_step"],
            "flops_per_step_gr_reported_by_pretrain": results.get("flops_per_step_gr"),
            "total_flops": primary_steps(run) * run.flops_per_step,  # At the primary matching's step.
            "total_flops_gr": primary_steps(run) * run.flops_per_step_gr,
            "pretrain_wall_seconds": results["wall_seconds"],
            "final_train": {k: v for k, v in results["train"].items() if k != "step"},
            "final_eval": results["eval"],
            "eval_history": results.get("eval_history", []),
            "tokens_per_step": self._tokens_per_step(run),
            "checkpoints": scores,
        }

    def print_flops(self, budget: int, runs: list[PretrainingRun]) -> None:
        print(flops_plan_text(self.config, budget, runs), flush=True)


TIMINGS_FILE = "timings.json"
UNIGRAM_FILE = "unigram.json"
STEP_SECONDS_FILE = "step_seconds.json"
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
