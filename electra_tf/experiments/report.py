"""Turns an equal-compute experiment's `summary.json` into a results table (Markdown and JSON) and a plot (PNG).

Scores are ×100 (GLUE convention). For each run (objective, pre-training seed) and checkpoint, the GLUE average of
fine-tuning trial k is the mean over tasks of trial k's dev score; a point's spread covers every (pre-training seed,
fine-tuning trial) pair at that budget, so both sources of variance are in it.

FLOPs are in the convention the experiment matched by (`summary["flops_convention"]`: google-research/electra's, or
ours); the runs table gives both. A summary from before the field existed was matched by ours.
"""

import json
import os
import statistics
from collections import defaultdict

from electra_tf import io_utils
from electra_tf.experiments import positive_control
from electra_tf.experiments.experiment_plan import FLOPS_CONVENTIONS, MATCHINGS


def flops_convention(summary: dict) -> str:
    """The convention `summary` matched FLOPs by; summaries written before it was recorded used ours."""
    return summary.get("flops_convention", "electra_tf")


def _flops(value) -> str:
    return "n/a" if value is None else f"{value:.4e}"


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def aggregate(summary: dict) -> dict:
    """{"points": [...], "tasks": [...], "verdict": {...}, "positive_control": ...} from `summary.json`.

    The GLUE average is over `headline_tasks` when the config names them, else over every task.
    """
    tasks = list(summary["config"]["tasks"])
    headline = list(summary["config"].get("headline_tasks") or tasks)
    budget = summary["budget_flops"]
    by_point = defaultdict(list)  # (objective, fraction) -> GLUE averages of every (seed, trial)
    task_scores = defaultdict(lambda: defaultdict(list))  # (objective, fraction) -> task -> scores
    per_seed = defaultdict(dict)  # (objective, fraction) -> seed -> median over trials
    flops = {}
    for run in summary["runs"]:
        for name, checkpoint in run["checkpoints"].items():
            key = (run["objective"], checkpoint_fraction(run, name, checkpoint))
            flops.setdefault(key, []).append(checkpoint["flops"])
            trials = min(len(checkpoint["tasks"][t]) for t in headline)  # Tasks outside the headline may have fewer.
            averages = [100 * statistics.fmean(checkpoint["tasks"][t][k] for t in headline) for k in range(trials)]
            by_point[key] += averages
            per_seed[key][run["seed"]] = statistics.median(averages)
            for task in tasks:
                if task in checkpoint["tasks"]:  # The curve's inner points may be fine-tuned on fewer tasks.
                    task_scores[key][task] += [100 * v for v in checkpoint["tasks"][task]]
    points = []
    for (objective, fraction), values in sorted(by_point.items()):
        points.append(
            {
                "objective": objective,
                "fraction": fraction,
                "flops": statistics.fmean(flops[(objective, fraction)]),
                "glue_average": _spread(values),
                "per_pretraining_seed": per_seed[(objective, fraction)],
                "tasks": {task: _spread(scores) for task, scores in task_scores[(objective, fraction)].items()},
            }
        )
    finals = {p["objective"]: p for p in points if p["fraction"] == 1.0}
    verdict = {}
    if {"electra", "mlm"} <= set(finals):
        verdict = _verdict(finals["electra"]["glue_average"], finals["mlm"]["glue_average"])
    control = control_figures(summary, task_scores)
    return {
        "budget_flops": budget,
        "flops_convention": flops_convention(summary),
        "tasks": tasks,
        "headline_tasks": headline,
        "points": points,
        "verdict": verdict,
        "matchings": matched_comparisons(summary, headline),
        "positive_control": control["passed"] if control else None,
        "positive_control_figures": control,
    }


def checkpoint_fraction(run: dict, name: str, checkpoint: dict) -> float:
    """A checkpoint's share of the primary matching's budget: its fraction, or for a step only another matching
    uses, step / the primary steps (above 1 where that matching gives the objective more steps)."""
    if checkpoint.get("fraction") is not None:
        return float(checkpoint["fraction"])
    if "fraction" not in checkpoint:  # A summary from before matchings: keyed by fraction.
        return float(name)
    return checkpoint["step"] / run["primary_steps"]


def _verdict(electra: dict, mlm: dict) -> dict:
    """ELECTRA against MLM on two spreads of the headline average: the gap of medians against the larger
    half-range."""
    gap = electra["median"] - mlm["median"]
    half_range = max((electra["max"] - electra["min"]) / 2, (mlm["max"] - mlm["min"]) / 2)
    return {
        "electra_median": electra["median"],
        "mlm_median": mlm["median"],
        "gap": gap,
        "larger_half_range": half_range,
        "electra_wins_beyond_spread": gap > half_range,
    }


def matched_comparisons(summary: dict, headline: list) -> dict:
    """{matching: {"objectives": {objective: figures}, "verdict": ...}} for the primary matching and each extra one:
    every objective's checkpoint at that matching's step, pooled over (pre-training seed, fine-tuning trial)."""
    primary = flops_convention(summary)
    comparisons = {}
    for matching in [primary, *summary.get("extra_matchings", [])]:
        objectives = {}
        for run in summary["runs"]:
            for name, checkpoint in run["checkpoints"].items():
                at = checkpoint.get("matchings", [primary] if checkpoint_fraction(run, name, checkpoint) == 1.0 else [])
                if matching not in at:
                    continue
                entry = objectives.setdefault(
                    run["objective"],
                    {
                        "steps": [],
                        "learning_rate_fraction": [],
                        "flops": [],
                        "averages": [],
                        "scores": defaultdict(list),
                    },
                )
                entry["steps"].append(checkpoint["step"])
                entry["learning_rate_fraction"].append(checkpoint.get("learning_rate_fraction"))
                entry["flops"].append(checkpoint["flops"])
                trials = min(len(checkpoint["tasks"][t]) for t in headline)  # Other tasks may have fewer trials.
                entry["averages"] += [
                    100 * statistics.fmean(checkpoint["tasks"][t][k] for t in headline) for k in range(trials)
                ]
                for task, values in checkpoint["tasks"].items():
                    entry["scores"][task] += [100 * v for v in values]
        for entry in objectives.values():
            entry["glue_average"] = _spread(entry.pop("averages"))
            entry["tasks"] = {t: _spread(values) for t, values in entry.pop("scores").items()}
        verdict = (
            _verdict(objectives["electra"]["glue_average"], objectives["mlm"]["glue_average"])
            if {"electra", "mlm"} <= set(objectives)
            else {}
        )
        comparisons[matching] = {"objectives": objectives, "verdict": verdict}
    return comparisons


def budget_eval(run: dict) -> dict:
    """The run's held-out evaluation at its full budget: the final one, or, where the run went on past its primary
    step (one run serving several matchings), the last one at or before that step."""
    primary = run.get("primary_steps", run["steps"])
    if primary >= run["steps"]:
        return run["final_eval"]
    before = [e for e in run.get("eval_history", []) if e.get("step", 0) <= primary]
    # Without periodic evaluation (eval_every 0), only the final one exists: past the budget, and said so by its step.
    return max(before, key=lambda e: e["step"]) if before else dict(run["final_eval"], step=run["steps"])


def control_figures(summary: dict, task_scores: dict) -> dict:
    """The positive control (`positive_control.py`) from the summary; {} if the experiment defines none.

    The context gate must hold for every MLM run; transfer pools every (pre-training seed, fine-tuning seed) pair of
    each objective's final checkpoint against the floor's trials.
    """
    config = summary["config"]
    tasks = list(config.get("control_tasks") or [])
    if not tasks:
        return {}
    unigram = summary.get("unigram", {}).get("cross_entropy")
    margin = config["control_margin_nats"]
    mlm_runs = [run for run in summary["runs"] if run["objective"] == "mlm"]
    missing = [run["seed"] for run in mlm_runs if budget_eval(run).get("mlm_loss_at_mask") is None]
    if unigram is None or missing:
        lacking = "the unigram figure" if unigram is None else f"the loss of mlm seeds {missing}"
        raise ValueError(
            "The positive control needs the held-out unigram cross-entropy and each MLM run's held-out loss at the "
            f"[MASK] slots, but the summary lacks {lacking} (a run from before electra_tf logged it, or one without "
            "held-out data)."
        )
    gates = [
        dict(
            positive_control.context_gate(unigram, budget_eval(run)["mlm_loss_at_mask"], margin),
            seed=run["seed"],
            step=budget_eval(run).get("step", run["steps"]),
        )
        for run in mlm_runs
    ]
    floor = {task: task_scores[(config["reference_objective"], 0.0)][task] for task in tasks}
    pretrained = {
        objective: {task: task_scores[(objective, 1.0)][task] for task in tasks} for objective in config["objectives"]
    }
    moved = positive_control.transfer(floor, pretrained, tasks)
    context_passed = bool(gates) and all(g["passed"] for g in gates)
    return {
        "passed": context_passed and moved["passed"],
        "context": gates,
        "context_passed": context_passed,
        "transfer": moved,
        "control_tasks": tasks,
    }


def _range(spread: dict) -> str:
    return f"{spread['median']:.1f} [{spread['min']:.1f}, {spread['max']:.1f}] ({spread['n']})"


def control_markdown(control: dict, summary: dict) -> list[str]:
    """The positive control's section: the verdict, the context gate's figures, and the transfer table."""
    if not control:
        return []
    lines = [f"## Positive control: {'PASSED' if control['passed'] else 'NOT PASSED'}", ""]
    for gate in control["context"]:
        lines.append(
            f"- Context (mlm seed {gate['seed']}, step {gate.get('step', 'final')}): held-out loss at the [MASK] "
            f"slots {gate['mlm_loss_at_mask']:.3f} "
            f"nats against a unigram cross-entropy of {gate['unigram_cross_entropy']:.3f}: "
            f"{gate['nats_below_unigram']:.3f} nats below, {gate['required_nats_below_unigram']} required: "
            + ("passed." if gate["passed"] else "NOT passed.")
        )
    for run in summary["runs"]:
        at_mask = run["final_eval"].get("generator_loss_at_mask")
        if at_mask is not None:
            lines.append(
                f"- {run['objective']} seed {run['seed']}: its generator's held-out loss at the [MASK] slots "
                f"is {at_mask:.3f} nats."
            )
    objectives = [o for o in control["transfer"] if o != "passed"]
    lines += [
        "",
        "Transfer: fine-tuned dev scores ×100, median [min, max] (n trials). An objective beats the untrained floor "
        "when its worst trial is above the floor's best.",
        "",
        "| task | untrained floor | " + " | ".join(f"{o} | margin of medians | beats floor" for o in objectives) + " |",
        "|---|---|" + "---|---|---|" * len(objectives),
    ]
    for task in control["control_tasks"]:
        cells = [task, _range(control["transfer"][objectives[0]][task]["floor"])]
        for objective in objectives:
            figures = control["transfer"][objective][task]
            cells += [
                _range(figures["pretrained"]),
                f"{figures['median_margin']:+.1f}",
                "yes" if figures["beats_floor"] else "NO",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def matchings_markdown(results: dict) -> list[str]:
    """One table per way of matching compute: each objective at its matched step, and the verdict there."""
    comparisons = results.get("matchings") or {}
    if len(comparisons) < 2:
        return []  # Only the primary matching: the main table and verdict say it all.
    tasks, headline = results["tasks"], results.get("headline_tasks", results["tasks"])
    lines = [
        "## ELECTRA against MLM, compute matched three ways" if len(comparisons) == 3 else "## Matched comparisons",
        "",
        "Each objective's checkpoint at the step that matches the reference's compute in that way; spread over every "
        "(pre-training seed, fine-tuning seed) pair. A run that went on past its matched step (one run serves every "
        "matching) was at a learning rate not yet decayed to 0 there: the `lr left` column gives it as a share of "
        "the peak.",
        "",
    ]
    for matching, comparison in comparisons.items():
        lines += [
            f"**{MATCHINGS[matching]}**" + (" (primary)" if matching == results["flops_convention"] else ""),
            "",
            "| objective | steps | lr left | headline avg median [min, max] (n) | "
            + " | ".join(f"{t} median [min, max]" for t in tasks)
            + " |",
            "|---|---|---|---|" + "---|" * len(tasks),
        ]
        for objective, f in comparison["objectives"].items():
            lines.append(
                f"| {objective} | {', '.join(str(x) for x in sorted(set(f['steps'])))} | "
                f"{_rate_left(f['learning_rate_fraction'])} | {_range(f['glue_average'])} | "
                + " | ".join(
                    f"{f['tasks'][t]['median']:.1f} [{f['tasks'][t]['min']:.1f}, {f['tasks'][t]['max']:.1f}]"
                    if t in f["tasks"]
                    else "–"
                    for t in tasks
                )
                + " |"
            )
        lines += ["", _verdict_sentence(comparison["verdict"], ", ".join(headline)), ""]
    return lines


def _rate_left(fractions: list) -> str:
    known = [f for f in fractions if f is not None]
    return f"{max(known):.2f}" if known else "n/a"


def _verdict_sentence(v: dict, average_of: str) -> str:
    if not v:
        return "No electra/mlm pair to compare."
    return (
        f"Headline average ({average_of}): ELECTRA {v['electra_median']:.1f}, MLM {v['mlm_median']:.1f}, a gap of "
        f"{v['gap']:+.1f} against a larger half-range of {v['larger_half_range']:.1f}: "
        + ("ELECTRA wins beyond the seed spread." if v["electra_wins_beyond_spread"] else "NOT beyond the seed spread.")
    )


def verdict_text(results: dict) -> str:
    """The ELECTRA-against-MLM sentence at the final budget."""
    v = results["verdict"]
    if not v:
        return "No electra/mlm pair to compare."
    primary = (results.get("matchings") or {}).get(results["flops_convention"], {}).get("objectives", {})
    left = [
        f"{objective}'s checkpoint there still had {_rate_left(f['learning_rate_fraction'])} of its peak learning "
        "rate (its run went on to serve another matching). "
        for objective, f in primary.items()
        if any(r for r in f["learning_rate_fraction"] if r)
    ]
    return "".join(left) + (
        f"At the final budget ELECTRA's median GLUE dev average is {v['electra_median']:.1f} and MLM's "
        f"{v['mlm_median']:.1f}: "
        f"a gap of {v['gap']:+.1f} points against a larger half-range of {v['larger_half_range']:.1f}. "
        + (
            "ELECTRA wins beyond the seed spread."
            if v["electra_wins_beyond_spread"]
            else "The gap is NOT wider than the seed spread."
        )
    )


def markdown(results: dict, summary: dict, command: str) -> str:
    tasks = results["tasks"]
    lines = [
        "| objective | FLOPs fraction | FLOPs | GLUE avg median [min, max] (n) | "
        + " | ".join(f"{t} median" for t in tasks)
        + " |",
        "|---|---|---|---|" + "---|" * len(tasks),
    ]
    for p in results["points"]:
        g = p["glue_average"]
        lines.append(
            f"| {p['objective']} | {p['fraction']:g} | {p['flops']:.3e} | "
            f"{g['median']:.1f} [{g['min']:.1f}, {g['max']:.1f}] ({g['n']}) | "
            + " | ".join(f"{p['tasks'][t]['median']:.1f}" if t in p["tasks"] else "–" for t in tasks)
            + " |"
        )
    runs = [
        "| run | steps | FLOPs/step (ours) | total FLOPs (ours) | FLOPs/step (GR) | total FLOPs (GR) | "
        "FLOPs/step from bin/pretrain (ours; GR) | pre-training wall s | final train loss |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["runs"]:
        runs.append(
            f"| {r['objective']} seed {r['seed']} | {r['steps']} | {r['flops_per_step']:.4e} | "
            f"{r['total_flops']:.4e} | {_flops(r.get('flops_per_step_gr'))} | {_flops(r.get('total_flops_gr'))} | "
            f"{r['flops_per_step_reported_by_pretrain']:.4e}; "
            f"{_flops(r.get('flops_per_step_gr_reported_by_pretrain'))} | "
            f"{r['pretrain_wall_seconds']:.0f} | {r['final_train'].get('loss', float('nan')):.4g} |"
        )
    verdict = verdict_text(results)
    headline = results.get("headline_tasks", tasks)
    average_of = "all tasks" if headline == tasks else ", ".join(headline)
    return "\n".join(
        [
            f"Command: `{command}`",
            "",
            *control_markdown(results.get("positive_control_figures"), summary),
            f"FLOPs budget: {results['budget_flops']:.4e} training FLOPs per run, in "
            f"{FLOPS_CONVENTIONS[results['flops_convention']]} "
            "(analytical, generator included); the FLOPs column below uses it. GR: google-research/electra's "
            "flops_computation.py, the paper's; ours: the matmuls the step runs.",
            "",
            verdict,
            "",
            "GLUE dev scores ×100 (CoLA: MCC, STS-B: Spearman, others: accuracy). Spread: every (pre-training seed, "
            f"fine-tuning seed) pair. The GLUE average is over {average_of}, for the trials every one of them has.",
            "",
            *lines,
            "",
            *matchings_markdown(results),
            "Pre-training runs:",
            "",
            *runs,
            "",
        ]
    )


def _save_figure(figure, path: str) -> None:
    """Writes `figure` to `path` through a temporary file (never half a PNG), and frees it."""
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    figure.tight_layout()
    tmp = io_utils.temporary_path(path) + ".png"
    figure.savefig(tmp)
    plt.close(figure)
    os.replace(tmp, path)


def plot(results: dict, path: str) -> None:
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    by_objective = defaultdict(list)
    for p in results["points"]:
        by_objective[p["objective"]].append(p)
    for objective, points in sorted(by_objective.items()):
        points.sort(key=lambda p: p["flops"])
        x = [p["flops"] for p in points]
        median = [p["glue_average"]["median"] for p in points]
        low = [p["glue_average"]["median"] - p["glue_average"]["min"] for p in points]
        high = [p["glue_average"]["max"] - p["glue_average"]["median"] for p in points]
        axis.errorbar(x, median, yerr=[low, high], marker="o", capsize=4, label=objective)
    # Linear, with a margin: a fraction of 0 (the untrained floor) sits at the origin, fully visible.
    axis.set_xlim(left=-0.04 * max(p["flops"] for p in results["points"]))
    axis.set_xlabel(f"pre-training FLOPs ({FLOPS_CONVENTIONS[results['flops_convention']]}, generator included)")
    axis.set_ylabel("GLUE dev average (median, min–max)")
    axis.set_title("Objectives at equal pre-training compute")
    axis.grid(alpha=0.3)
    axis.legend()
    _save_figure(figure, path)


def plot_tasks(results: dict, path: str) -> None:
    """The paper's Figure 4 for each headline task: the dev score against pre-training FLOPs for every objective
    (median, min–max over pre-training and fine-tuning seeds), with the untrained floor as a line."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    tasks = results.get("headline_tasks") or results["tasks"]
    figure, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), dpi=120, squeeze=False)
    by_objective = defaultdict(list)
    for p in results["points"]:
        by_objective[p["objective"]].append(p)
    floor = [p for p in results["points"] if p["fraction"] == 0.0]
    for axis, task in zip(axes[0], tasks):
        for objective, points in sorted(by_objective.items()):
            # The curve is one run's checkpoints up to the budget; a checkpoint past it (another matching's step,
            # its rate decayed to 0 there, where the curve's last point was not) is drawn apart.
            for beyond in (False, True):
                chosen = sorted(
                    (p for p in points if (p["fraction"] > 1) == beyond and p["fraction"] > 0), key=lambda p: p["flops"]
                )
                if not chosen:
                    continue
                spreads = [p["tasks"][task] for p in chosen]
                axis.errorbar(
                    [p["flops"] for p in chosen],
                    [s["median"] for s in spreads],
                    yerr=[[s["median"] - s["min"] for s in spreads], [s["max"] - s["median"] for s in spreads]],
                    marker="s" if beyond else "o",
                    linestyle="none" if beyond else "-",
                    capsize=4,
                    label=f"{objective} at other matchings" if beyond else objective,
                )
        if floor:
            low = floor[0]["tasks"][task]
            axis.axhline(low["median"], color="gray", linestyle="--", label="untrained floor (median)")
            axis.axhspan(low["min"], low["max"], color="gray", alpha=0.15)
        axis.set_xlabel(f"pre-training FLOPs ({FLOPS_CONVENTIONS[results['flops_convention']]})")
        axis.set_ylabel(f"{task} dev ×100 (median, min–max)")
        axis.set_title(task)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    _save_figure(figure, path)


def plot_mask_loss(summary: dict, path: str) -> bool:
    """Held-out loss at the [MASK] slots against pre-training tokens, for every run's MLM network (MLM, or the
    generator), with the unigram cross-entropy and the control's bar. Returns False (and writes nothing) when no run
    logged a periodic evaluation."""
    curves = []
    for run in summary["runs"]:
        tokens_per_step = run.get("tokens_per_step")
        points = [
            (r["step"], r.get("mlm_loss_at_mask", r.get("generator_loss_at_mask"))) for r in run.get("eval_history", [])
        ]
        points = [(step, value) for step, value in points if value is not None]
        if points and tokens_per_step:
            curves.append(
                (
                    f"{run['objective']} seed {run['seed']}",
                    [s * tokens_per_step for s, _ in points],
                    [v for _, v in points],
                )
            )
    if not curves:
        return False
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for label, x, y in curves:
        axis.plot(x, y, marker=".", label=label + (" (generator)" if not label.startswith("mlm") else ""))
    unigram = summary.get("unigram", {}).get("cross_entropy")
    if unigram is not None:
        axis.axhline(unigram, color="gray", linestyle="--", label=f"unigram cross-entropy {unigram:.2f}")
        margin = summary["config"].get("control_margin_nats")
        if summary["config"].get("control_tasks") and margin is not None:
            axis.axhline(unigram - margin, color="red", linestyle=":", label=f"control bar {unigram - margin:.2f}")
    axis.set_xlabel("pre-training tokens")
    axis.set_ylabel("held-out loss at [MASK] slots (nats)")
    axis.set_title("Leaving the unigram plateau")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    _save_figure(figure, path)
    return True


def write_report(summary_path: str, docs_dir: str, command: str, wall_seconds: float) -> dict:
    """Writes `results.md`, `results.json`, `glue_vs_flops.png`, `tasks_vs_flops.png` (and `mask_loss.png` where
    runs logged held-out evaluations) into `docs_dir`; returns the results."""
    with open(summary_path, encoding="utf-8") as f:
        summary = json.load(f)
    results = aggregate(summary)
    results["command"] = command
    results["wall_seconds"] = wall_seconds
    results["runs"] = summary["runs"]
    os.makedirs(docs_dir, exist_ok=True)
    io_utils.write_text_atomic(os.path.join(docs_dir, "results.json"), json.dumps(results, indent=1) + "\n")
    text = markdown(results, summary, command) + f"\nWall time: {wall_seconds / 60:.1f} min.\n"
    io_utils.write_text_atomic(os.path.join(docs_dir, "results.md"), text)
    plot(results, os.path.join(docs_dir, "glue_vs_flops.png"))
    plot_tasks(results, os.path.join(docs_dir, "tasks_vs_flops.png"))
    curve = os.path.join(docs_dir, "mask_loss.png")
    if not plot_mask_loss(summary, curve) and os.path.exists(curve):
        os.remove(curve)  # A stale curve from an earlier run of this experiment.
    return results
