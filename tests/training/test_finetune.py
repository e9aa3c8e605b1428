"""Fine-tuning runs: training pairs in both orders (google-research/electra's `double_unordered`), the recorded
recipe, and resuming an interrupted run at its first unfinished trial."""

import dataclasses
import json

import numpy as np
import pytest

from electra_tf.tasks import reader, registry
from electra_tf.training import finetune, trial_records


@pytest.mark.parametrize("task_name", ["mrpc", "sts-b"])
def test_double_unordered_appends_every_pair_swapped(glue_dir, task_name):
    train = reader.read_split(registry.get(task_name), str(glue_dir), "train")
    doubled = finetune.double_unordered(train)
    n = len(train)
    assert len(doubled) == 2 * n
    # First the examples as read, then the same examples in the same order with the sentences exchanged.
    assert doubled.text_a[:n] == train.text_a and doubled.text_b[:n] == train.text_b
    assert doubled.text_a[n:] == train.text_b and doubled.text_b[n:] == train.text_a
    np.testing.assert_array_equal(doubled.labels, np.concatenate([train.labels, train.labels]))
    assert doubled.ids == train.ids + train.ids
    with pytest.raises(ValueError, match="single-sentence"):
        finetune.double_unordered(reader.read_split(registry.get("sst-2"), str(glue_dir), "dev"))


def test_mrpc_run_trains_on_both_orders_and_records_the_recipe(saved_encoder, glue_dir, tmp_path):
    """Only the training split is doubled (after the subsample), as in google-research/electra; dev is scored as is."""
    config = finetune.FinetuningConfig(max_train_examples=20, epochs=1, sequence_length=16, validate_every_epoch=False)
    results = finetune.run_finetuning("mrpc", str(glue_dir), saved_encoder, str(tmp_path / "mrpc"), config, verbose=0)
    assert results["num_train_examples"] == 40 and results["num_dev_examples"] == {"dev": 408}
    recipe = results["recipe"]
    assert recipe["double_unordered"] is True and recipe["source"]["double_unordered"] == "recipe"
    assert (recipe["model_size"], recipe["learning_rate"], recipe["epochs"]) == ("small", 3e-4, 1)
    assert recipe["source"]["epochs"] == "override" and recipe["source"]["model_size"] == "encoder"
    saved = json.loads((tmp_path / "mrpc" / "finetuning_config.json").read_text())
    assert (
        saved["learning_rate"] == 3e-4 and saved["double_unordered"] is True and saved["layerwise_rule"] == "released"
    )


def test_an_interrupted_run_resumes_at_its_first_unfinished_trial(saved_encoder, glue_dir, tmp_path, capsys):
    """A trial with a record.json from the same run is reused; one without (interrupted), or from a run with another
    config, is trained again."""
    model_dir = tmp_path / "rte"
    config = finetune.FinetuningConfig(max_train_examples=16, epochs=1, sequence_length=16, validate_every_epoch=False)
    run = lambda c: finetune.run_finetuning("rte", str(glue_dir), saved_encoder, str(model_dir), c, 2, verbose=0)  # noqa: E731
    first = run(config)
    # Interrupted during trial 1: its record was never written, nor anything after it.
    (model_dir / "trial_1" / "record.json").unlink()
    (model_dir / "results.json").unlink()
    capsys.readouterr()
    resumed = run(config)
    out = capsys.readouterr().out
    assert out.count("its record is reused") == 1 and "trial_0 finished in an earlier run" in out
    assert resumed["trials"][0] == first["trials"][0]  # Reused as it was, timings included.
    assert [t["dev"] for t in resumed["trials"]] == [t["dev"] for t in first["trials"]]  # Seeded: the same scores.
    assert json.loads((model_dir / "results.json").read_text())["trials"] == resumed["trials"]
    # Another learning rate is another run: nothing is reused.
    other = run(dataclasses.replace(config, learning_rate=1e-3))
    assert "its record is reused" not in capsys.readouterr().out
    assert other["recipe"]["learning_rate"] == 1e-3


def test_a_trial_record_is_reused_only_when_readable_and_made_by_the_same_run(tmp_path):
    identity = {"task": "rte", "config": {"epochs": (3,)}, "seed": 1}
    trial_records.save(str(tmp_path), identity, {"dev": {"dev": {"accuracy": 0.5}}})
    assert trial_records.finished(str(tmp_path), dict(identity)) == {"dev": {"dev": {"accuracy": 0.5}}}
    assert trial_records.finished(str(tmp_path), dict(identity, seed=2)) is None
    assert trial_records.finished(str(tmp_path / "none"), identity) is None
    (tmp_path / trial_records.RECORD_FILE).write_text("{not json")
    assert trial_records.finished(str(tmp_path), identity) is None
    (tmp_path / trial_records.RECORD_FILE).write_text('{"record": {}}')
    assert trial_records.finished(str(tmp_path), identity) is None


def test_a_trial_that_starts_again_loses_its_old_record_first(tmp_path):
    """An interrupted rerun must not leave an earlier run's record beside its own partly written files."""
    trial_records.save(str(tmp_path), {"seed": 0}, {"dev": 1})

    def interrupted():
        assert not (tmp_path / trial_records.RECORD_FILE).exists()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trial_records.reuse_or_run(str(tmp_path), {"seed": 1}, interrupted)
    assert not (tmp_path / trial_records.RECORD_FILE).exists()
    assert trial_records.reuse_or_run(str(tmp_path), {"seed": 1}, lambda: {"dev": 2}) == {"dev": 2}
    assert trial_records.reuse_or_run(str(tmp_path), {"seed": 1}, interrupted) == {"dev": 2}  # Reused, not run.


def test_a_trial_identity_names_what_the_encoder_is_not_only_where(tmp_path):
    encoder = tmp_path / "enc"
    encoder.mkdir()
    (encoder / "weights.h5").write_bytes(b"1")
    before = trial_records.encoder_fingerprint(str(encoder))
    assert trial_records.encoder_fingerprint(str(tmp_path / "." / "enc")) == before  # Another spelling of the path.
    (encoder / "weights.h5").write_bytes(b"22")  # Re-exported in place.
    assert trial_records.encoder_fingerprint(str(encoder)) != before
