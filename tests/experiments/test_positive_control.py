"""The positive control's rule, the unigram baseline it reads, and its place in the experiment's report."""

import json

import numpy as np
import pytest

from electra_tf.data.pretraining_dataset import pretraining_dataset
from electra_tf.data.unigram import token_counts, unigram_baseline
from electra_tf.experiments import positive_control, report


def test_context_gate_needs_the_margin_below_unigram():
    assert positive_control.context_gate(6.63, 6.10, 0.5)["passed"]
    gate = positive_control.context_gate(6.63, 6.20, 0.5)
    assert not gate["passed"] and gate["nats_below_unigram"] == pytest.approx(0.43)


def test_transfer_needs_every_trial_above_the_floors_best():
    floor = {"sst-2": [50, 52, 55], "sts-b": [5, 8, 10]}
    clear = {"sst-2": [60, 61, 62], "sts-b": [20, 25, 30]}
    overlapping = {"sst-2": [54, 70, 71], "sts-b": [20, 25, 30]}
    result = positive_control.transfer(floor, {"electra": clear, "mlm": clear}, ["sst-2", "sts-b"])
    assert result["passed"] and result["electra"]["sst-2"]["median_margin"] == 9
    result = positive_control.transfer(floor, {"electra": clear, "mlm": overlapping}, ["sst-2", "sts-b"])
    assert not result["passed"] and not result["mlm"]["sst-2"]["beats_floor"] and result["mlm"]["sts-b"]["beats_floor"]


def test_unigram_baseline_matches_a_count_of_the_batches(pretraining_data, vocabulary):
    """The held-out cross-entropy recomputed from the batches `bin/pretrain` reads, special tokens excluded."""
    baseline = unigram_baseline(pretraining_data, 1)
    train = np.zeros(vocabulary.size)
    for batch in pretraining_dataset(
        pretraining_data, 64, split="train", holdout_shards=1, num_epochs=1, shuffle_buffer_size=0
    ):
        ids = batch["original_token_ids"].numpy()[batch["padding_mask"].numpy() > 0]
        train += np.bincount(ids, minlength=vocabulary.size)
    heldout = token_counts(pretraining_data, "eval", 1)
    special = [vocabulary.cls_id, vocabulary.sep_id, vocabulary.mask_id, vocabulary.pad_id]
    train[special] = 0
    heldout[special] = 0
    maskable = np.ones(vocabulary.size, bool)
    maskable[special] = False
    p = (train + maskable) / (train.sum() + maskable.sum())
    expected = -(heldout[maskable] * np.log(p[maskable])).sum() / heldout.sum()
    # drop_remainder loses at most 63 training examples: the figures agree to well under 0.01 nats.
    assert baseline.cross_entropy == pytest.approx(expected, abs=0.01)
    assert baseline.heldout_tokens == heldout.sum()
    assert 4.0 < baseline.train_entropy < baseline.cross_entropy < 9.0


def summary_with_control(mlm_at_mask):
    def run(objective, final_sst2, final_stsb):
        return {
            "objective": objective,
            "seed": 0,
            "steps": 10,
            "flops_per_step": 5,
            "total_flops": 50,
            "flops_per_step_gr": 7,
            "total_flops_gr": 70,
            "flops_per_step_reported_by_pretrain": 5,
            "flops_per_step_gr_reported_by_pretrain": 7,
            "pretrain_wall_seconds": 1.0,
            "final_train": {"loss": 1.0},
            "final_eval": {"mlm_loss_at_mask": mlm_at_mask} if objective == "mlm" else {"generator_loss_at_mask": 5.9},
            "tokens_per_step": 4096,
            "eval_history": [{"step": 5, "mlm_loss_at_mask": 6.6}, {"step": 10, "mlm_loss_at_mask": mlm_at_mask}]
            if objective == "mlm"
            else [{"step": 10, "generator_loss_at_mask": 5.9}],
            "checkpoints": {
                "0": {
                    "step": 0,
                    "flops": 0,
                    "tasks": {"sst-2": [0.5, 0.51, 0.52], "sts-b": [0.05, 0.1, 0.08], "rte": [0.5] * 3},
                },
                "1": {"step": 10, "flops": 50, "tasks": {"sst-2": final_sst2, "sts-b": final_stsb, "rte": [0.53] * 3}},
            },
        }

    return {
        "config": {
            "tasks": ["sst-2", "sts-b", "rte"],
            "headline_tasks": ["sst-2", "sts-b"],
            "objectives": ["electra", "mlm"],
            "reference_objective": "electra",
            "control_tasks": ["sst-2", "sts-b"],
            "control_margin_nats": 0.5,
        },
        "unigram": {"cross_entropy": 6.63},
        "flops_convention": "electra_tf",
        "budget_flops": 50,
        "runs": [
            run("electra", [0.6, 0.62, 0.61], [0.3, 0.35, 0.32]),
            run("mlm", [0.58, 0.6, 0.59], [0.2, 0.25, 0.22]),
        ],
    }


def test_report_writes_the_positive_control_and_the_curve(tmp_path):
    summary = summary_with_control(mlm_at_mask=5.9)
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    results = report.write_report(str(tmp_path / "summary.json"), str(tmp_path / "docs"), "electra-experiment", 60.0)
    written = json.loads((tmp_path / "docs" / "results.json").read_text())
    assert written["positive_control"] is True and results["positive_control"] is True
    figures = written["positive_control_figures"]
    assert figures["context"][0]["nats_below_unigram"] == pytest.approx(0.73)
    assert figures["transfer"]["mlm"]["sts-b"]["floor"]["max"] == pytest.approx(10.0)
    # The headline average leaves RTE out: trial 0 of electra is (60 + 30) / 2.
    electra = next(p for p in written["points"] if p["objective"] == "electra" and p["fraction"] == 1.0)
    assert electra["glue_average"]["min"] == pytest.approx(45.0)
    text = (tmp_path / "docs" / "results.md").read_text()
    assert "## Positive control: PASSED" in text and "0.730 nats below, 0.5 required: passed." in text
    assert "The GLUE average is over sst-2, sts-b, for the trials" in text
    assert (tmp_path / "docs" / "mask_loss.png").stat().st_size > 1000


def test_report_fails_the_control_on_the_plateau(tmp_path):
    results = report.aggregate(summary_with_control(mlm_at_mask=6.3))
    assert results["positive_control"] is False
    assert results["positive_control_figures"]["transfer"]["passed"], "transfer alone does not pass the control"
    text = report.markdown(results, summary_with_control(6.3), "electra-experiment")
    assert "## Positive control: NOT PASSED" in text and "NOT passed." in text


def test_an_experiment_without_control_tasks_reports_none():
    summary = summary_with_control(5.9)
    summary["config"]["control_tasks"] = []
    assert report.aggregate(summary)["positive_control"] is None


def test_the_control_refuses_a_summary_without_its_figures():
    summary = summary_with_control(5.9)
    del summary["runs"][1]["final_eval"]["mlm_loss_at_mask"]
    with pytest.raises(ValueError, match=r"the loss of mlm seeds \[0\]"):
        report.aggregate(summary)


def test_a_control_without_held_out_data_is_refused_before_pretraining(pretraining_data, tmp_path):
    import dataclasses

    from electra_tf import config_io
    from electra_tf.experiments import equal_compute
    from tests.conftest import repo_root

    config = config_io.load(
        equal_compute.ExperimentConfig, str(repo_root() / "configs" / "experiments" / "positive_control.json")
    )
    config = dataclasses.replace(config, pretraining_overrides={"eval_holdout_shards": 0})
    experiment = equal_compute.Experiment(config, str(tmp_path), "glue")
    experiment.data_dir = pretraining_data
    with pytest.raises(ValueError, match="The positive control reads held-out figures.*leaves none held out"):
        experiment.measure_unigram()
    assert not (tmp_path / equal_compute.UNIGRAM_FILE).exists()


@pytest.mark.parametrize("name", ["positive_control", "electra_vs_mlm_control"])
def test_shipped_experiments_fine_tune_the_control_tasks_with_the_full_recipe(name):
    """SST-2 cut to 1 epoch turned MLM's lead into a deficit (scouting.md), so the control tasks take every recipe
    setting from the recipe, on the full training sets."""
    from electra_tf import config_io
    from electra_tf.experiments import equal_compute
    from electra_tf.models import finetuning_recipe
    from electra_tf.tasks import registry
    from electra_tf.training.finetune import FinetuningConfig
    from tests.conftest import repo_root

    config = config_io.load(
        equal_compute.ExperimentConfig, str(repo_root() / "configs" / "experiments" / f"{name}.json")
    )
    encoder = equal_compute.base_config(config).encoder
    epochs = {}
    for task in config.control_tasks:
        finetuning = config_io.from_dict(FinetuningConfig, config.finetune_settings(task))
        assert finetuning.max_train_examples is None, task
        recipe, sources = finetuning_recipe.resolve(finetuning.recipe_overrides(), encoder, registry.get(task))
        assert {source for name, source in sources.items() if name != "model_size"} == {"recipe"}, task
        epochs[task] = recipe.epochs
    assert epochs == {"sst-2": 3, "sts-b": 10}


def test_shipped_control_masks_every_chosen_slot_for_both_objectives():
    """The control departs from google-research/electra's 85/15 on purpose (scouting.md: with 85/15 its MLM stayed on
    the unigram plateau; with every slot [MASK] it left it), and for both objectives alike."""
    from electra_tf import config_io
    from electra_tf.experiments import equal_compute
    from tests.conftest import repo_root

    config = config_io.load(
        equal_compute.ExperimentConfig, str(repo_root() / "configs" / "experiments" / "positive_control.json")
    )
    base = equal_compute.base_config(config)
    for objective in config.objectives:
        masking = equal_compute.objective_config(config, base, objective).masking
        assert (masking.mask_token_ratio, masking.random_token_ratio) == (1.0, 0.0), objective
