"""What an equal-compute experiment runs: its config, and the pre-training runs that match compute between objectives.

The reference objective runs `reference_steps` steps; every other objective gets the steps that spend the same
compute, matched in `flops_convention` (the primary matching, which the FLOPs fractions and plots use) and in each of
`extra_matchings`:

- "electra_tf": our analytical count of the matmuls the step runs (`models/flops.py`);
- "gr": google-research/electra's `flops_computation.py`, the paper's convention (`models/flops_gr.py`);
- "wall_clock": seconds of training steps on this machine, from step times measured in alternation before any run
  (`benchmarks.pretraining_benchmarks.step_seconds`).

One run per objective and seed serves every matching: it runs to the most steps any matching gives it, and keeps a
checkpoint at each matching's step. Its learning rate decays to 0 at its own last step, so a checkpoint before it was
taken at a rate not yet decayed; the summary records that rate.
"""

import dataclasses
import fractions
import math
import os
from typing import Optional

from electra_tf import config_io, io_utils, settings
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.models.flops_gr import gr_pretraining_flops_per_step
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
# How compute is matched between objectives: either FLOPs count, or seconds of training steps on this machine.
MATCHINGS = {**FLOPS_CONVENTIONS, "wall_clock": "equal wall-clock on this machine"}


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
        extra_matchings: list of str. Further ways to match compute, each reported with its own comparison: the
            other FLOPs convention, and "wall_clock" (equal seconds of training steps, from step times measured in
            alternation before pre-training; keep the machine otherwise idle then). Each non-reference objective runs
            to the most steps any matching gives it, with a checkpoint kept and fine-tuned at each matching's step.
            Defaults to none.
        control_tasks: list of str. The positive control's transfer tasks (`positive_control.py`); empty computes no
            positive control. Needs an "mlm" objective and the untrained floor (a fraction of 0).
        control_margin_nats: float. How far MLM's held-out `[MASK]` loss must end below the unigram cross-entropy.
        finetune: dict. `FinetuningConfig` fields for every task.
        task_finetune: dict. Per-task `FinetuningConfig` overrides (e.g. an SST-2 subsample).
        finetune_trials: int. Fine-tuning seeds per task.
        task_trials: dict. Per-task fine-tuning seeds that replace `finetune_trials` (fewer for tasks reported
            but not in the headline, say).
        intermediate_trials: int or None. Fine-tuning seeds per task for the checkpoints below the full budget
            that no matching uses (the curve's inner points); None uses the final checkpoints' counts.
        intermediate_tasks: list of str. The tasks fine-tuned on the curve's inner points; empty means all of
            `tasks`. Must include the headline tasks, which the curve plots.
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
    extra_matchings: tuple = ()
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
    intermediate_trials: Optional[int] = None
    intermediate_tasks: tuple = ()

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
        self._check_matchings_and_inner_points()
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
        for name in ("headline_tasks", "control_tasks", "intermediate_tasks"):
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

    def _check_matchings_and_inner_points(self) -> None:
        extra = list(self.extra_matchings)
        if any(m not in MATCHINGS for m in extra) or self.flops_convention in extra or len(set(extra)) < len(extra):
            raise ValueError(
                f"extra_matchings must hold distinct matchings among {sorted(MATCHINGS)} other than "
                f"flops_convention={self.flops_convention!r}, but received {extra}."
            )
        trials = self.intermediate_trials
        if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
            raise ValueError(f"intermediate_trials must be a positive integer, but received {trials}.")
        lacking = sorted(set(self.headline_tasks or self.tasks) - set(self.intermediate_tasks or self.tasks))
        if self.intermediate_tasks and lacking:
            raise ValueError(
                f"intermediate_tasks must include the headline tasks, which the curve plots, but lacks {lacking}."
            )

    def finetune_settings(self, task: str) -> dict:
        """The `FinetuningConfig` settings `task` is fine-tuned with: `finetune`, then `task_finetune[task]` on top."""
        return dict(self.finetune, **self.task_finetune.get(task, {}))


@dataclasses.dataclass(frozen=True)
class PretrainingRun:
    objective: str
    seed: int
    steps: int  # The run's length: the most steps any matching gives this objective.
    flops_per_step: int  # Our count: what bin/pretrain reports as flops_per_step.
    flops_per_step_gr: int  # google-research/electra's convention.
    checkpoint_steps: tuple  # One per FLOPs fraction of the primary matching, in the order of `flops_fractions`.
    matched_steps: tuple = ()  # (matching, step) pairs, the primary matching first; () means ((primary, steps),).
    seconds_per_step: Optional[float] = None  # Measured for the wall-clock matching.

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


def plan(
    experiment: ExperimentConfig, vocab_size: Optional[int] = None, step_seconds: Optional[dict] = None
) -> tuple[int, list[PretrainingRun]]:
    """Returns the budget (in the primary matching, `experiment.flops_convention`) and the pre-training runs.

    Each objective's steps in the primary matching are a multiple of the fractions' common denominator, so each
    fraction falls on a checkpoint; the rounding moves a run's total by less than one checkpoint interval, and the
    actual totals are reported beside the budget. In each extra matching an objective gets
    `round(reference steps x reference cost / its cost)` steps, the cost being FLOPs per step in that convention or
    `step_seconds[objective]` (needed for "wall_clock").
    """
    base = base_config(experiment)
    if vocab_size is not None:
        base = dataclasses.replace(base, encoder=dataclasses.replace(base.encoder, vocab_size=vocab_size))
    if "wall_clock" in experiment.extra_matchings and not all(o in (step_seconds or {}) for o in experiment.objectives):
        raise ValueError(
            f"The wall-clock matching needs the measured seconds per step of {list(experiment.objectives)}, but "
            f"received {step_seconds}."
        )
    denominator = math.lcm(
        *(fractions.Fraction(f).limit_denominator(1000).denominator for f in experiment.flops_fractions)
    )
    costs = {}
    for objective in experiment.objectives:
        config = objective_config(experiment, base, objective)
        costs[objective] = {"electra_tf": flops_per_step(config), "gr": flops_per_step_gr(config)}
        if step_seconds and objective in step_seconds:
            costs[objective]["wall_clock"] = step_seconds[objective]
    primary, reference = experiment.flops_convention, costs[experiment.reference_objective]
    # The reference's own run, rounded like every other: every matching's budget is what it spends.
    reference_steps = max(denominator, round(experiment.reference_steps / denominator) * denominator)
    budget = reference_steps * reference[primary]
    runs = []
    for objective, cost in costs.items():
        steps = max(denominator, round(budget / cost[primary] / denominator) * denominator)
        checkpoints = tuple(round(f * steps) for f in experiment.flops_fractions)
        matched = ((primary, steps),)
        for m in experiment.extra_matchings:
            step = (
                steps
                if objective == experiment.reference_objective
                else round(reference_steps * reference[m] / cost[m])
            )
            # Within one checkpoint interval of a fraction's step: that checkpoint (one export, one fine-tuning).
            near = [c for c in checkpoints if 0 < c and abs(c - step) <= denominator]
            matched += ((m, near[0] if near else max(1, step)),)
        runs += [
            PretrainingRun(
                objective,
                seed,
                max(s for _, s in matched),
                cost["electra_tf"],
                cost["gr"],
                checkpoints,
                matched,
                cost.get("wall_clock"),
            )
            for seed in experiment.pretrain_seeds
        ]
    return budget, runs


def learning_rate_fraction(config: PretrainingConfig, step: int) -> float:
    """The learning rate at `step` of a run of `config`, as a fraction of its peak."""
    from electra_tf.optimizers.schedules import WarmupLinearDecay  # pylint: disable=import-outside-toplevel

    return float(WarmupLinearDecay(1.0, config.optimizer.warmup_steps, config.num_train_steps)(step))


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
        steps = primary_steps(run)
        lines.append(
            f"  {run.objective:>16}: {per_step:.4e} [{per_step_other:.4e}] FLOPs/step x {steps} steps = "
            f"{per_step * steps:.4e} [{per_step_other * steps:.4e}] "
            f"({per_step * steps / budget:.3f} of the "
            f"budget); checkpoints at steps {list(run.checkpoint_steps)}"
        )
        for matching, step in run.matched_steps[1:]:
            lines.append(
                f"  {'':>16}  matched by {MATCHINGS[matching]}: {step} steps"
                + (f" ({run.seconds_per_step:.4f} s/step measured)" if matching == "wall_clock" else "")
            )
        if run.steps != steps:
            lines.append(f"  {'':>16}  one run of {run.steps} steps serves every matching")
    return "\n".join(lines)


def primary_steps(run: PretrainingRun) -> int:
    """The run's steps in the primary matching (its full FLOPs budget)."""
    return run.matched_steps[0][1] if run.matched_steps else run.steps
