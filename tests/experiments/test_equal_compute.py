"""The equal-compute experiment: FLOPs matching, resumable stages, and the report, at micro scale on real data."""

import dataclasses
import json
import subprocess
import sys

import pytest

from electra_tf import config_io
from electra_tf.experiments import equal_compute, report
from electra_tf.models.flops import pretraining_flops_per_step
from tests.conftest import repo_root, subprocess_env

SHIPPED = repo_root() / "configs" / "experiments" / "electra_vs_mlm.json"


def test_shipped_plan_matches_the_budget_and_the_benchmark_count():
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    budget, runs = equal_compute.plan(config)
    by_objective = {run.objective: run for run in runs}
    assert set(by_objective) == set(config.objectives)
    assert {run.seed for run in runs} == set(config.pretrain_seeds)
    for run in by_objective.values():
        base = equal_compute.objective_config(config, equal_compute.base_config(config), run.objective)
        # The count bin/benchmark and bin/pretrain report, generator included.
        assert run.flops_per_step == pretraining_flops_per_step(
            base.encoder, base.generator_fraction, run.objective, base.train_batch_size, base.max_seq_length,
            base.masking.num_predictions(base.max_seq_length),
        )
        interval = run.steps // 4
        assert abs(run.steps * run.flops_per_step - budget) <= interval * run.flops_per_step, run.objective
        assert run.checkpoint_steps[-1] == run.steps
    # MLM has no generator, so it gets more steps for the same FLOPs (as BERT-Small did in the paper).
    assert by_objective["mlm"].steps > by_objective["electra"].steps
    assert by_objective["mlm"].flops_per_step < by_objective["electra"].flops_per_step


@pytest.mark.large
def test_micro_experiment_runs_resumes_and_reports(corpus_slice, micro_config, glue_dir, tmp_path):
    micro = dataclasses.replace(config_io.load(equal_compute.ExperimentConfig, str(SHIPPED)), corpus=corpus_slice,
                                pretraining_config=micro_config, reference_steps=8, flops_fractions=(0.0, 0.5, 1.0),
                                tasks=("rte",), finetune={"epochs": 1, "sequence_length": 32, "max_train_examples": 64,
                                                          "validate_every_epoch": False}, task_finetune={},
                                finetune_trials=2)
    config_path = tmp_path / "micro_experiment.json"
    config_io.save(micro, str(config_path))
    command = [sys.executable, str(repo_root() / "bin" / "experiment"), f"--config={config_path}",
               f"--output_dir={tmp_path / 'out'}", f"--docs_dir={tmp_path / 'docs'}", f"--glue_dir={glue_dir}"]
    first = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=1200)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert "FLOPs budget" in first.stdout and "mlm:" in first.stdout.replace("  ", "")
    results = json.loads((tmp_path / "docs" / "results.json").read_text())
    points = {(p["objective"], p["fraction"]) for p in results["points"]}
    assert points == {(objective, fraction) for objective in ("electra", "mlm") for fraction in (0.0, 0.5, 1.0)}
    untrained = next(p for p in results["points"] if p["objective"] == "mlm" and p["fraction"] == 0.0)
    assert untrained["flops"] == 0 and untrained["glue_average"]["n"] == 2, "the seed-0 initialization, 2 trials"
    final = next(p for p in results["points"] if p["objective"] == "electra" and p["fraction"] == 1.0)
    assert final["glue_average"]["n"] == 4, "2 pre-training seeds x 2 fine-tuning trials"
    assert (tmp_path / "docs" / "glue_vs_flops.png").stat().st_size > 1000
    assert "| electra | 1 |" in (tmp_path / "docs" / "results.md").read_text()
    for run in results["runs"]:
        assert run["flops_per_step"] == run["flops_per_step_reported_by_pretrain"]
    # Resuming: every stage is skipped.
    second = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "pretrain/" not in second.stdout and "finetune/" not in second.stdout


def test_pretraining_overrides_merge_into_the_base_config():
    config = dataclasses.replace(config_io.load(equal_compute.ExperimentConfig, str(SHIPPED)),
                                 pretraining_overrides={"optimizer": {"learning_rate": 0.002}, "generator_fraction": 0.5})
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
        return {"objective": objective, "seed": seed, "steps": 10, "flops_per_step": 5, "total_flops": 50,
                "flops_per_step_reported_by_pretrain": 5, "pretrain_wall_seconds": 1.0, "final_train": {"loss": 1.0},
                "checkpoints": {"1": {"step": 10, "flops": 50, "tasks": {"rte": scores, "cola": [0.1, 0.1]}}}}

    summary = {"config": {"tasks": ["rte", "cola"]}, "budget_flops": 50,
               "runs": [run("electra", 0, [0.6, 0.7]), run("electra", 1, [0.62, 0.64]),
                        run("mlm", 0, [0.5, 0.52]), run("mlm", 1, [0.54, 0.5])]}
    results = report.aggregate(summary)
    electra = next(p for p in results["points"] if p["objective"] == "electra")
    # Trial k's GLUE average is the mean of its task scores: (60 + 10) / 2 = 35, (70 + 10) / 2 = 40, ...
    assert sorted(round(v, 6) for v in [electra["glue_average"]["min"], electra["glue_average"]["max"]]) == [35.0, 40.0]
    assert electra["glue_average"]["n"] == 4
    verdict = results["verdict"]
    # Medians 36.5 (35, 40, 36, 37) and 30.5 (30, 31, 32, 30); half-ranges 2.5 and 1.0.
    assert verdict["gap"] == pytest.approx(6.0) and verdict["larger_half_range"] == pytest.approx(2.5)
    assert verdict["electra_wins_beyond_spread"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    report.write_report(str(tmp_path / "summary.json"), str(tmp_path / "docs"), "electra-experiment", 60.0)
    assert (tmp_path / "docs" / "glue_vs_flops.png").exists()
    assert "Wall time: 1.0 min." in (tmp_path / "docs" / "results.md").read_text()


def test_resuming_with_another_config_is_refused(tmp_path):
    config = config_io.load(equal_compute.ExperimentConfig, str(SHIPPED))
    experiment = equal_compute.Experiment(config, str(tmp_path), "glue")
    config_io.save(config, str(tmp_path / equal_compute.CONFIG_FILE))
    experiment.check_same_experiment()  # The same config resumes.
    changed = equal_compute.Experiment(dataclasses.replace(config, reference_steps=900), str(tmp_path), "glue")
    with pytest.raises(ValueError, match="reference_steps differ"):
        changed.check_same_experiment()
