"""The equal-compute experiment: FLOPs matching, resumable stages, and the report, at micro scale on real data."""

import dataclasses
import json
import subprocess
import sys

import pytest

from electra_tf import config_io
from electra_tf.experiments import equal_compute, report
from electra_tf.models.flops import pretraining_flops_per_step
from electra_tf.models.flops_gr import gr_pretraining_flops_per_step
from tests.conftest import repo_root, subprocess_env

SHIPPED = repo_root() / "configs" / "experiments" / "electra_vs_mlm.json"
SHIPPED_3X = repo_root() / "configs" / "experiments" / "electra_vs_mlm_3x.json"


def test_shipped_plan_matches_the_budget_and_the_benchmark_count():
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    budget, runs = equal_compute.plan(config)
    by_objective = {run.objective: run for run in runs}
    assert set(by_objective) == set(config.objectives)
    assert {run.seed for run in runs} == set(config.pretrain_seeds)
    for run in by_objective.values():
        base = equal_compute.objective_config(config, equal_compute.base_config(config), run.objective)
        shape = (
            base.encoder,
            base.generator_fraction,
            run.objective,
            base.train_batch_size,
            base.max_seq_length,
            base.masking.num_predictions(base.max_seq_length),
        )
        # The counts bin/benchmark and bin/pretrain report, generator included: ours and the paper's convention.
        assert run.flops_per_step == pretraining_flops_per_step(*shape)
        assert run.flops_per_step_gr == gr_pretraining_flops_per_step(*shape)
        per_step = run.flops_per_step_in(config.flops_convention)
        interval = run.steps // 4
        assert abs(run.steps * per_step - budget) <= interval * per_step, run.objective
        assert run.checkpoint_steps[-1] == run.steps
    # MLM has no generator, so it gets more steps for the same FLOPs (as BERT-Small did in the paper).
    assert by_objective["mlm"].steps > by_objective["electra"].steps
    assert by_objective["mlm"].flops_per_step < by_objective["electra"].flops_per_step
    assert by_objective["mlm"].flops_per_step_gr < by_objective["electra"].flops_per_step_gr


def test_budgets_are_matched_by_our_count_unless_told_the_papers():
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    assert config.flops_convention == "electra_tf" and equal_compute.ExperimentConfig().flops_convention == "electra_tf"
    base = equal_compute.base_config(config)
    per_step = {}
    for objective in ("electra", "mlm"):
        run = equal_compute.objective_config(config, base, objective)
        per_step[objective] = {
            "gr": gr_pretraining_flops_per_step(run.encoder, 0.25, objective, 32, 128, 19),
            "electra_tf": pretraining_flops_per_step(run.encoder, 0.25, objective, 32, 128, 19),
        }
    # `tiny` in GR's convention: its one-hot embedding matmuls (2 x 64 x 30522 per token, in the generator too) weigh
    # far more than its two narrow layers, so MLM's step costs 0.58 of ELECTRA's; by our count 0.93.
    for convention, mlm_steps in (("gr", 1042), ("electra_tf", 646)):
        budget, runs = equal_compute.plan(dataclasses.replace(config, flops_convention=convention))
        steps = {run.objective: run.steps for run in runs}
        assert budget == 600 * per_step["electra"][convention] and steps["electra"] == 600
        # Steps are a multiple of 2 (fractions 0.5 and 1): 2 x round(budget / MLM's FLOPs per step / 2).
        assert steps["mlm"] == 2 * round(budget / per_step["mlm"][convention] / 2) == mlm_steps, convention
    with pytest.raises(ValueError, match="flops_convention='paper'"):
        dataclasses.replace(config, flops_convention="paper")


def test_the_plan_prints_both_conventions():
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    budget, runs = equal_compute.plan(config)
    mlm = next(run for run in runs if run.objective == "mlm")
    text = equal_compute.flops_plan_text(config, budget, runs)
    assert text.startswith(f"FLOPs budget: {budget:.4e} in electra_tf's count")
    assert f"{mlm.flops_per_step:.4e} [{mlm.flops_per_step_gr:.4e}] FLOPs/step x 646 steps" in text
    budget, runs = equal_compute.plan(dataclasses.replace(config, flops_convention="gr"))
    text = equal_compute.flops_plan_text(dataclasses.replace(config, flops_convention="gr"), budget, runs)
    mlm = next(run for run in runs if run.objective == "mlm")
    assert text.startswith(f"FLOPs budget: {budget:.4e} in google-research/electra's convention")
    assert f"{mlm.flops_per_step_gr:.4e} [{mlm.flops_per_step:.4e}] FLOPs/step x 1042 steps" in text


@pytest.mark.parametrize("path", [SHIPPED, SHIPPED_3X])
def test_shipped_mlm_baseline_masks_as_google_research_electra(path):
    config = config_io.load(equal_compute.ExperimentConfig, str(path))
    mlm = equal_compute.objective_config(config, equal_compute.base_config(config), "mlm")
    # GR's mask(): 85% [MASK], the rest keep the original, no random token, for ELECTRA and BERT alike.
    assert (mlm.masking.mask_token_ratio, mlm.masking.random_token_ratio) == (0.85, 0.0)
    # BERT's 80/10/10 stays available as an explicit override, for the MLM baseline only.
    bert = dataclasses.replace(config, masking={"mlm": {"mask_token_ratio": 0.8, "random_token_ratio": 0.1}})
    base = equal_compute.base_config(bert)
    mlm = equal_compute.objective_config(bert, base, "mlm")
    electra = equal_compute.objective_config(bert, base, "electra")
    assert (mlm.masking.mask_token_ratio, mlm.masking.random_token_ratio) == (0.8, 0.1)
    assert (electra.masking.mask_token_ratio, electra.masking.random_token_ratio) == (0.85, 0.0)


@pytest.mark.large
def test_micro_experiment_runs_resumes_and_reports(corpus_slice, micro_config, glue_dir, tmp_path):
    micro = dataclasses.replace(
        config_io.load(equal_compute.ExperimentConfig, str(SHIPPED)),
        corpus=corpus_slice,
        pretraining_config=micro_config,
        reference_steps=8,
        flops_fractions=(0.0, 0.5, 1.0),
        tasks=("rte",),
        finetune={"epochs": 1, "sequence_length": 32, "max_train_examples": 64, "validate_every_epoch": False},
        task_finetune={},
        finetune_trials=2,
        vocab_size=4000,
        control_tasks=("rte",),
        headline_tasks=("rte",),
        extra_matchings=("gr", "wall_clock"),
        intermediate_trials=1,
    )
    config_path = tmp_path / "micro_experiment.json"
    config_io.save(micro, str(config_path))
    command = [
        sys.executable,
        str(repo_root() / "bin" / "experiment"),
        f"--config={config_path}",
        f"--output_dir={tmp_path / 'out'}",
        f"--docs_dir={tmp_path / 'docs'}",
        f"--glue_dir={glue_dir}",
    ]
    first = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=1200)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert "FLOPs budget" in first.stdout and "mlm:" in first.stdout.replace("  ", "")
    results = json.loads((tmp_path / "docs" / "results.json").read_text())
    points = {(p["objective"], p["fraction"]) for p in results["points"] if p["fraction"] <= 1.0}
    assert points == {(objective, fraction) for objective in ("electra", "mlm") for fraction in (0.0, 0.5, 1.0)}
    # Compute matched three ways: the step times were measured once, and MLM's longer run kept each matched step.
    step_seconds = json.loads((tmp_path / "out" / equal_compute.STEP_SECONDS_FILE).read_text())["objectives"]
    assert set(step_seconds) == {"electra", "mlm"} and step_seconds["electra"]["over_reference"] == 1.0
    assert set(results["matchings"]) == {"electra_tf", "gr", "wall_clock"}
    mlm_run = next(r for r in results["runs"] if r["objective"] == "mlm" and r["seed"] == 0)
    assert mlm_run["steps"] == max(mlm_run["matched_steps"].values()) and mlm_run["seconds_per_step"] > 0
    for matching, step in mlm_run["matched_steps"].items():
        assert results["matchings"][matching]["objectives"]["mlm"]["steps"] == [step, step]  # Both seeds.
        kept = tmp_path / "out" / "pretrain" / "mlm-seed0" / "checkpoints" / "kept" / f"ckpt-{step}" / "COMPLETE"
        assert step == mlm_run["steps"] or kept.exists()
    half_trials = next(p for p in results["points"] if p["objective"] == "mlm" and p["fraction"] == 0.5)
    assert half_trials["glue_average"]["n"] == 1, "intermediate_trials"
    assert "## ELECTRA against MLM, compute matched three ways" in (tmp_path / "docs" / "results.md").read_text()
    assert (tmp_path / "docs" / "tasks_vs_flops.png").stat().st_size > 1000
    untrained = next(p for p in results["points"] if p["objective"] == "mlm" and p["fraction"] == 0.0)
    assert untrained["flops"] == 0 and untrained["glue_average"]["n"] == 2, "the seed-0 initialization, 2 trials"
    # One untrained floor, fine-tuned once: the objectives' initial discriminators were checked to be one network.
    electra_floor = next(p for p in results["points"] if p["objective"] == "electra" and p["fraction"] == 0.0)
    assert electra_floor["tasks"] == untrained["tasks"]
    assert (tmp_path / "out" / "pretrain" / "mlm-seed0" / equal_compute.FLOOR_CHECKED_FILE).exists()
    # The half-budget checkpoint was kept outside the rolling window, and its export read it.
    half = next(r for r in results["runs"] if r["objective"] == "electra" and r["seed"] == 0)["checkpoints"]["0.5"][
        "step"
    ]
    assert (
        tmp_path / "out" / "pretrain" / "electra-seed0" / "checkpoints" / "kept" / f"ckpt-{half}" / "COMPLETE"
    ).exists()
    assert not (tmp_path / "out" / "finetune" / "mlm-seed0" / "discriminator_at_0").exists()
    # The positive control is computed from the figures beside it; at micro scale it cannot pass.
    assert results["positive_control"] is False
    unigram = json.loads((tmp_path / "out" / equal_compute.UNIGRAM_FILE).read_text())
    assert results["positive_control_figures"]["context"][0]["unigram_cross_entropy"] == unigram["cross_entropy"]
    assert 4000 - 5 <= sum(1 for _ in open(tmp_path / "out" / "vocab.txt", encoding="utf-8")) <= 4000
    assert "## Positive control: NOT PASSED" in (tmp_path / "docs" / "results.md").read_text()
    assert (tmp_path / "docs" / "mask_loss.png").exists()
    final = next(p for p in results["points"] if p["objective"] == "electra" and p["fraction"] == 1.0)
    assert final["glue_average"]["n"] == 4, "2 pre-training seeds x 2 fine-tuning trials"
    assert (tmp_path / "docs" / "glue_vs_flops.png").stat().st_size > 1000
    assert "| electra | 1 |" in (tmp_path / "docs" / "results.md").read_text()
    for run in results["runs"]:
        assert run["flops_per_step"] == run["flops_per_step_reported_by_pretrain"]
        assert run["flops_per_step_gr"] == run["flops_per_step_gr_reported_by_pretrain"]
    # Resuming: every stage is skipped.
    second = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "pretrain/" not in second.stdout and "finetune/" not in second.stdout


def test_pretraining_overrides_merge_into_the_base_config():
    config = dataclasses.replace(
        config_io.load(equal_compute.ExperimentConfig, str(SHIPPED)),
        pretraining_overrides={"optimizer": {"learning_rate": 0.002}, "generator_fraction": 0.5},
    )
    base = equal_compute.base_config(config)
    shipped = equal_compute.base_config(dataclasses.replace(config, pretraining_overrides={}))
    assert base.optimizer.learning_rate == 0.002 and base.generator_fraction == 0.5
    # Nested dicts are merged, not replaced: the other optimizer fields keep the base file's values.
    assert dataclasses.replace(base.optimizer, learning_rate=shipped.optimizer.learning_rate) == shipped.optimizer
    # The generator's width is in the FLOPs count, so the plan changes with it.
    assert equal_compute.plan(config)[0] > equal_compute.plan(dataclasses.replace(config, pretraining_overrides={}))[0]
    bad = dataclasses.replace(config, pretraining_overrides={"optimizer": {"learning_rat": 0.002}})
    with pytest.raises(ValueError, match=r"with pretraining_overrides:optimizer: unknown key\(s\) \['learning_rat'\]"):
        equal_compute.base_config(bad)


def test_fractions_must_lie_in_the_unit_interval_and_include_the_final_budget():
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    for fractions in ((0.5,), (0.5, 1.5), (-0.1, 1.0)):
        with pytest.raises(ValueError, match="flops_fractions must lie in"):
            dataclasses.replace(config, flops_fractions=fractions)
    _, runs = equal_compute.plan(dataclasses.replace(config, flops_fractions=(0.0, 0.5, 1.0)))
    assert all(run.checkpoint_steps == (0, run.steps // 2, run.steps) for run in runs)


def test_report_aggregates_seeds_and_trials(tmp_path):
    def run(objective, seed, scores):
        return {
            "objective": objective,
            "seed": seed,
            "steps": 10,
            "flops_per_step": 5,
            "total_flops": 50,
            "flops_per_step_gr": 7,
            "total_flops_gr": 70,
            "flops_per_step_reported_by_pretrain": 5,
            "flops_per_step_gr_reported_by_pretrain": 7,
            "pretrain_wall_seconds": 1.0,
            "final_train": {"loss": 1.0},
            "checkpoints": {"1": {"step": 10, "flops": 70, "tasks": {"rte": scores, "cola": [0.1, 0.1]}}},
        }

    summary = {
        "config": {"tasks": ["rte", "cola"]},
        "flops_convention": "gr",
        "budget_flops": 70,
        "runs": [
            run("electra", 0, [0.6, 0.7]),
            run("electra", 1, [0.62, 0.64]),
            run("mlm", 0, [0.5, 0.52]),
            run("mlm", 1, [0.54, 0.5]),
        ],
    }
    results = report.aggregate(summary)
    electra = next(p for p in results["points"] if p["objective"] == "electra")
    # Trial k's GLUE average is the mean of its task scores: (60 + 10) / 2 = 35, (70 + 10) / 2 = 40, ...
    assert sorted(round(v, 6) for v in [electra["glue_average"]["min"], electra["glue_average"]["max"]]) == [35.0, 40.0]
    assert electra["glue_average"]["n"] == 4
    verdict = results["verdict"]
    # Medians 36.5 (35, 40, 36, 37) and 30.5 (30, 31, 32, 30); half-ranges 2.5 and 1.0.
    assert verdict["gap"] == pytest.approx(6.0) and verdict["larger_half_range"] == pytest.approx(2.5)
    assert verdict["electra_wins_beyond_spread"]
    assert results["flops_convention"] == "gr" and electra["flops"] == 70
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    report.write_report(str(tmp_path / "summary.json"), str(tmp_path / "docs"), "electra-experiment", 60.0)
    assert (tmp_path / "docs" / "glue_vs_flops.png").exists()
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "Wall time: 1.0 min." in text
    assert "FLOPs budget: 7.0000e+01 training FLOPs per run, in google-research/electra's convention" in text
    # Both counts per run: ours, then GR's, and both as bin/pretrain reported them.
    assert (
        "| electra seed 0 | 10 | 5.0000e+00 | 5.0000e+01 | 7.0000e+00 | 7.0000e+01 | 5.0000e+00; 7.0000e+00 |" in text
    )


def test_report_reads_a_summary_from_before_the_gr_convention():
    summary = {
        "config": {"tasks": ["rte"]},
        "budget_flops": 50,
        "runs": [
            {
                "objective": "electra",
                "seed": 0,
                "steps": 10,
                "flops_per_step": 5,
                "total_flops": 50,
                "flops_per_step_reported_by_pretrain": 5,
                "pretrain_wall_seconds": 1.0,
                "final_train": {"loss": 1.0},
                "checkpoints": {"1": {"step": 10, "flops": 50, "tasks": {"rte": [0.5]}}},
            }
        ],
    }
    results = report.aggregate(summary)
    assert results["flops_convention"] == "electra_tf", "it was matched by our count"
    text = report.markdown(results, summary, "electra-experiment")
    assert "in electra_tf's count" in text and "| 5.0000e+00 | 5.0000e+01 | n/a | n/a | 5.0000e+00; n/a |" in text


def test_resuming_with_another_config_is_refused(tmp_path):
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    experiment = equal_compute.Experiment(config, str(tmp_path), "glue")
    config_io.save(config, str(tmp_path / equal_compute.CONFIG_FILE))
    experiment.check_same_experiment()  # The same config resumes.
    changed = equal_compute.Experiment(dataclasses.replace(config, reference_steps=900), str(tmp_path), "glue")
    with pytest.raises(ValueError, match="reference_steps differ"):
        changed.check_same_experiment()


def test_an_output_dir_of_the_old_shipped_config_is_not_resumed(tmp_path):
    # What the shipped config was before it masked as GR: BERT's 80/10/10 for MLM, and no flops_convention field.
    old = json.loads(SHIPPED.read_text())
    del old["flops_convention"]
    old["masking"] = {"mlm": {"mask_token_ratio": 0.8, "random_token_ratio": 0.1}}
    (tmp_path / equal_compute.CONFIG_FILE).write_text(json.dumps(old))
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    # Its finished runs used the tanh GELU, bias-corrected Adam and the old fine-tuning defaults: even its own
    # config, made explicit, must not resume it and mix old runs with new ones.
    same = dataclasses.replace(config, flops_convention="electra_tf", masking=old["masking"])
    for attempt in (config, same):
        with pytest.raises(ValueError, match="made before electra_tf followed google-research/electra"):
            equal_compute.Experiment(attempt, str(tmp_path), "glue").check_same_experiment()


def test_task_trials_must_name_tasks_and_count_positively():
    config = config_io.load(
        equal_compute.ExperimentConfig, str(repo_root() / "configs" / "experiments" / "positive_control.json")
    )
    assert config.task_trials == {"cola": 3, "mrpc": 3, "rte": 3} and config.finetune_trials == 5
    for bad in ({"qqp": 3}, {"rte": 0}):
        with pytest.raises(ValueError, match="task_trials must map tasks"):
            dataclasses.replace(config, task_trials=bad)
    with pytest.raises(ValueError, match="control_tasks needs the MLM baseline"):
        dataclasses.replace(config, objectives=("electra", "electra_15"), reference_objective="electra")
    with pytest.raises(ValueError, match=r"intermediate_seeds=\[\]"):
        dataclasses.replace(config, intermediate_seeds=())
    with pytest.raises(ValueError, match=r"headline_tasks holds \['qnli'\]"):
        dataclasses.replace(config, headline_tasks=("qnli",))


def test_the_positive_control_config_pretrains_its_documented_shape():
    config = config_io.load(
        equal_compute.ExperimentConfig, str(repo_root() / "configs" / "experiments" / "positive_control.json")
    )
    base = equal_compute.base_config(config)
    assert (base.max_seq_length, base.train_batch_size, base.encoder.vocab_size) == (64, 64, 8192)
    assert (base.encoder.num_layers, base.encoder.hidden_size, base.encoder.embedding_size) == (4, 128, 128)
    assert base.generator_fraction == 0.5 and base.description
    assert config.control_tasks == ("sst-2", "sts-b") and 0.0 in config.flops_fractions
    budget, runs = equal_compute.plan(config, config.vocab_size)
    steps = {run.objective: run.steps for run in runs}
    assert steps["electra"] == 6000 and 1.2 < steps["mlm"] / steps["electra"] < 1.3


def _control():
    return config_io.load(
        equal_compute.ExperimentConfig, str(repo_root() / "configs" / "experiments" / "positive_control.json")
    )


def test_extra_matchings_give_mlm_one_longer_run_with_a_checkpoint_at_each_matched_step():
    config = dataclasses.replace(
        _control(), flops_fractions=(0.0, 0.25, 0.5, 0.75, 1.0), extra_matchings=("gr", "wall_clock")
    )
    with pytest.raises(ValueError, match="wall-clock matching needs the measured seconds"):
        equal_compute.plan(config, 8192)
    budget, runs = equal_compute.plan(config, 8192, {"electra": 0.30, "mlm": 0.20})
    electra, mlm = (next(r for r in runs if r.objective == o) for o in ("electra", "mlm"))
    # ELECTRA is the reference: every matching gives it its own steps.
    assert electra.steps == 6000 and dict(electra.matched_steps) == {"electra_tf": 6000, "gr": 6000, "wall_clock": 6000}
    matched = dict(mlm.matched_steps)
    assert matched["electra_tf"] == 7516 and equal_compute.primary_steps(mlm) == 7516  # A multiple of 4.
    assert matched["gr"] == round(6000 * electra.flops_per_step_gr / mlm.flops_per_step_gr)
    assert matched["wall_clock"] == 9000  # 6000 x 0.30 s / 0.20 s.
    assert mlm.steps == max(matched.values()) == 9801 and mlm.seconds_per_step == 0.20
    # The fractions are of the primary matching's budget, not of the longer run.
    assert mlm.checkpoint_steps == (0, 1879, 3758, 5637, 7516) and budget == 6000 * electra.flops_per_step
    text = equal_compute.flops_plan_text(config, budget, runs)
    assert "matched by google-research/electra's convention: 9801 steps" in text
    assert "matched by equal wall-clock on this machine: 9000 steps (0.2000 s/step measured)" in text
    assert "one run of 9801 steps serves every matching" in text


def test_extra_matchings_are_checked():
    for bad in (("electra_tf",), ("gr", "gr"), ("flops",)):
        with pytest.raises(ValueError, match="extra_matchings must hold distinct matchings"):
            dataclasses.replace(_control(), extra_matchings=bad)
    with pytest.raises(ValueError, match="intermediate_trials must be a positive integer"):
        dataclasses.replace(_control(), intermediate_trials=0)


def test_each_fine_tuned_checkpoint_is_one_step_with_its_fractions_and_matchings(tmp_path):
    config = dataclasses.replace(
        _control(), flops_fractions=(0.0, 0.5, 1.0), extra_matchings=("gr",), intermediate_trials=2
    )
    experiment = equal_compute.Experiment(config, str(tmp_path), "glue")
    _, runs = equal_compute.plan(config, 8192)
    electra, mlm = (next(r for r in runs if r.objective == o) for o in ("electra", "mlm"))
    mlm_checkpoints = experiment.checkpoints(mlm)
    assert [(c.key, c.fraction, c.matchings) for c in mlm_checkpoints] == [
        ("0", 0.0, ()),
        ("0.5", 0.5, ()),
        ("1", 1.0, ("electra_tf",)),
        ("gr", None, ("gr",)),
    ]
    out = tmp_path / "pretrain"
    # The floor is the reference's initialization; the primary budget is a kept checkpoint of the longer run, whose
    # own end is bin/pretrain's export.
    assert [c.encoder_dir for c in mlm_checkpoints] == [
        str(out / "electra-seed0" / "discriminator_at_0"),
        str(out / "mlm-seed0" / "discriminator_at_0.5"),
        str(out / "mlm-seed0" / "discriminator_at_1"),
        str(out / "mlm-seed0" / "discriminator"),
    ]
    electra_checkpoints = experiment.checkpoints(electra)
    assert [(c.key, c.matchings) for c in electra_checkpoints][-1] == ("1", ("electra_tf", "gr"))
    assert electra_checkpoints[-1].encoder_dir == str(out / "electra-seed0" / "discriminator")
    # Fewer fine-tuning seeds on the curve's inner points only.
    assert [experiment.trials(c, "sst-2") for c in mlm_checkpoints] == [5, 2, 5, 5]
    assert [experiment.trials(c, "rte") for c in mlm_checkpoints] == [3, 2, 3, 3]
    # And fewer tasks there, if the config says so.
    assert [len(experiment.tasks(c)) for c in mlm_checkpoints] == [5, 5, 5, 5]
    fewer = equal_compute.Experiment(
        dataclasses.replace(config, intermediate_tasks=("sst-2", "sts-b")), str(tmp_path), "glue"
    )
    assert [fewer.tasks(c) for c in mlm_checkpoints][1] == ["sst-2", "sts-b"]
    assert [len(fewer.tasks(c)) for c in mlm_checkpoints] == [5, 2, 5, 5]
    with pytest.raises(ValueError, match="intermediate_tasks must include the headline tasks"):
        dataclasses.replace(config, intermediate_tasks=("sst-2",))


def test_report_compares_objectives_at_each_matching(tmp_path):
    def checkpoint(step, fraction, matchings, lr_left, scores):
        return {
            "step": step,
            "fraction": fraction,
            "matchings": matchings,
            "flops": step * 5,
            "learning_rate_fraction": lr_left,
            "tasks": {"sst-2": scores, "sts-b": scores},
        }

    def run(objective, seed, checkpoints, steps):
        return {
            "objective": objective,
            "seed": seed,
            "steps": steps,
            "primary_steps": 10,
            "flops_per_step": 5,
            "total_flops": 50,
            "flops_per_step_reported_by_pretrain": 5,
            "pretrain_wall_seconds": 1.0,
            "final_train": {"loss": 1.0},
            "checkpoints": checkpoints,
        }

    floor = checkpoint(0, 0.0, [], 0.0, [0.5, 0.5])
    floor["tasks"]["rte"] = [0.5, 0.5]
    summary = {
        "config": {"tasks": ["sst-2", "sts-b", "rte"], "headline_tasks": ["sst-2", "sts-b"]},
        "flops_convention": "electra_tf",
        "extra_matchings": ["gr"],
        "budget_flops": 50,
        "runs": [
            run("electra", 0, {"0": floor, "1": checkpoint(10, 1.0, ["electra_tf", "gr"], 0.0, [0.8, 0.82])}, 10),
            run(
                "mlm",
                0,
                {
                    "0": floor,
                    "1": checkpoint(10, 1.0, ["electra_tf"], 0.25, [0.7, 0.72]),
                    "gr": checkpoint(13, None, ["gr"], 0.0, [0.9, 0.9]),
                },
                13,
            ),
        ],
    }
    results = report.aggregate(summary)
    # The matched-only checkpoint is a point beyond the primary budget: 13 of its 10 primary steps.
    assert {(p["objective"], p["fraction"]) for p in results["points"]} == {
        ("electra", 0.0),
        ("electra", 1.0),
        ("mlm", 0.0),
        ("mlm", 1.0),
        ("mlm", 1.3),
    }
    primary, gr = results["matchings"]["electra_tf"], results["matchings"]["gr"]
    assert primary["objectives"]["mlm"]["steps"] == [10] and primary["objectives"]["mlm"]["learning_rate_fraction"] == [
        0.25
    ]
    assert primary["verdict"]["electra_wins_beyond_spread"] and primary["verdict"]["gap"] == pytest.approx(10.0)
    assert gr["objectives"]["mlm"]["steps"] == [13] and gr["verdict"]["gap"] == pytest.approx(-9.0)
    assert not gr["verdict"]["electra_wins_beyond_spread"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    report.write_report(str(tmp_path / "summary.json"), str(tmp_path / "docs"), "electra-experiment", 60.0)
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "**google-research/electra's convention**" in text and "| mlm | 13 | 0.00 |" in text
    assert "| mlm | 10 | 0.25 |" in text and "NOT beyond the seed spread" in text
    assert "| electra | 0 | 0.000e+00 | 50.0 [50.0, 50.0] (2) | 50.0 | 50.0 | 50.0 |" in text  # The floor had rte.
    assert "| electra | 1 | 5.000e+01 | 81.0 [80.0, 82.0] (2) | 81.0 | 81.0 | – |" in text
    assert (tmp_path / "docs" / "tasks_vs_flops.png").stat().st_size > 1000


def test_a_run_started_with_another_pretraining_file_is_not_resumed(tmp_path):
    """The experiment config can stay the same while the base pre-training file it names changes."""
    config = _control()
    experiment = equal_compute.Experiment(config, str(tmp_path), "glue")
    (tmp_path / "vocab.txt").write_text("\n".join(f"t{i}" for i in range(8192)) + "\n")
    _, runs = equal_compute.plan(config, 8192)
    run = runs[0]
    started = experiment.run_config(run)
    (tmp_path / "pretrain" / run.name).mkdir(parents=True)
    (tmp_path / "pretrain" / run.name / "results.json").write_text("{}")
    config_io.save(
        dataclasses.replace(started, description="edited"), str(tmp_path / "pretrain" / run.name / "run_config.json")
    )
    assert experiment.pretrain(run) is False  # The same run (its description aside): finished, skipped.
    config_io.save(
        dataclasses.replace(started, generator_fraction=1.0), str(tmp_path / "pretrain" / run.name / "run_config.json")
    )
    with pytest.raises(ValueError, match="started with another pre-training config \\(generator_fraction differ"):
        experiment.pretrain(run)


def test_a_matched_step_near_a_fraction_step_is_that_checkpoint():
    """Within one checkpoint interval (the fractions' common denominator, 2 here) of a fraction's step, a matched
    step is that checkpoint: one export and one fine-tuning, not two for a difference of a step."""
    config = dataclasses.replace(_control(), flops_fractions=(0.0, 0.5, 1.0), extra_matchings=("wall_clock",))
    _, runs = equal_compute.plan(config, 8192, {"electra": 0.30, "mlm": 0.30})
    primary = equal_compute.primary_steps(next(r for r in runs if r.objective == "mlm"))
    near = {"electra": 0.30, "mlm": 0.30 * 6000 / (primary - 1)}
    _, runs = equal_compute.plan(config, 8192, near)
    assert dict(next(r for r in runs if r.objective == "mlm").matched_steps)["wall_clock"] == primary
    far = {"electra": 0.30, "mlm": 0.30 * 6000 / (primary - 40)}
    _, runs = equal_compute.plan(config, 8192, far)
    assert dict(next(r for r in runs if r.objective == "mlm").matched_steps)["wall_clock"] == primary - 40
    with pytest.raises(ValueError, match="intermediate_trials must be a positive integer"):
        dataclasses.replace(_control(), intermediate_trials=True)


def test_report_pools_tasks_with_fewer_trials_than_the_headline():
    """Tasks outside the headline may have fewer trials (task_trials): the average takes the headline's, each task's
    spread all of its own."""
    checkpoint = {
        "step": 10,
        "fraction": 1.0,
        "matchings": ["electra_tf"],
        "flops": 50,
        "learning_rate_fraction": 0.0,
        "tasks": {"sst-2": [0.8, 0.82, 0.84, 0.86, 0.88], "rte": [0.5, 0.6, 0.7]},
    }
    summary = {
        "config": {"tasks": ["sst-2", "rte"], "headline_tasks": ["sst-2"]},
        "flops_convention": "electra_tf",
        "budget_flops": 50,
        "runs": [
            {"objective": o, "seed": 0, "steps": 10, "primary_steps": 10, "checkpoints": {"1": checkpoint}}
            for o in ("electra", "mlm")
        ],
    }
    results = report.aggregate(summary)
    mlm = results["matchings"]["electra_tf"]["objectives"]["mlm"]
    assert mlm["glue_average"]["n"] == 5 and mlm["glue_average"]["median"] == pytest.approx(84.0)
    assert mlm["tasks"]["rte"] == {"median": 60.0, "min": 50.0, "max": 70.0, "n": 3}
