"""Tagging fine-tuning runs on cuts of the real CoNLL files: results, conlleval-format predictions, the recipe."""

import pytest

from electra_tf.models.electra_tagger import ElectraTagger
from electra_tf.tasks import conll, tagging_metrics
from electra_tf.training.finetune_tagging import TaggingConfig, run_tagging_finetuning

SMALL = dict(sequence_length=32, batch_size=16, epochs=1, learning_rate=1e-3, max_train_examples=64)


def _cut(data_dir, tmp_path, task: str) -> str:
    """The task's files, each cut to its first 40 sentences, under a data root in tmp_path."""
    task_format = conll.FORMATS[task]
    root = tmp_path / "data"
    (root / task_format.directory).mkdir(parents=True)
    for name in task_format.files.values():
        blocks = (data_dir / task_format.directory / name).read_text(encoding="utf-8").split("\n\n")
        (root / task_format.directory / name).write_text("\n\n".join(blocks[:40]) + "\n", encoding="utf-8")
    return str(root)


@pytest.mark.parametrize("task, splits", [("conll2000", ["test"]), ("conll2003", ["dev", "test"])])
def test_a_run_scores_the_evaluation_files_and_writes_conlleval_input(saved_encoder, data_dir, tmp_path, task, splits):
    root = _cut(data_dir, tmp_path, task)
    model_dir = tmp_path / "run"
    results = run_tagging_finetuning(task, root, saved_encoder, str(model_dir), TaggingConfig(**SMALL), 2, verbose=0)
    assert sorted(results["dev"]) == sorted(splits) and [t["seed"] for t in results["trials"]] == [0, 1]
    assert results["recipe"]["epochs"] == 1 and results["labels"][0] == "O" and "E-" in "".join(results["labels"])
    assert set(results["dev"]["test"]["f1"]) == {"median", "min", "max"}
    trial = model_dir / "trial_0"
    for split in splits:
        lines = (trial / f"{split}_predictions.txt").read_text(encoding="utf-8").split("\n\n")
        gold = [[line.split()[1] for line in block.splitlines()] for block in lines if block.strip()]
        predicted = [[line.split()[2] for line in block.splitlines()] for block in lines if block.strip()]
        tagged = conll.read_split(task, split, root)
        assert gold == tagged.tags  # The file's words and gold tags (IOB2), in order.
        scores = tagging_metrics.evaluate(gold, predicted)
        assert {k: scores[k] for k in ("f1", "precision", "recall", "accuracy")} == results["trials"][0]["dev"][split]
    assert results["trials"][0]["per_type"]["test"] and results["trials"][0]["seconds_per_epoch"] > 0
    assert (trial / "logs").is_dir() and (model_dir / "tagging_config.json").is_file()
    loaded = ElectraTagger.from_finetuned(str(trial / "model"))
    assert loaded.preprocessor.sequence_length == 32 and loaded.labels == results["labels"]


def test_bad_settings_are_refused(saved_encoder, tmp_path):
    with pytest.raises(ValueError, match="scheme must be one of"):
        TaggingConfig(scheme="IOBES")
    with pytest.raises(ValueError, match="stride must be positive"):
        TaggingConfig(stride=0)
    with pytest.raises(ValueError, match="Unknown tagging task 'pos'"):
        run_tagging_finetuning("pos", str(tmp_path), saved_encoder, str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_an_interrupted_run_resumes_at_its_first_unfinished_trial(saved_encoder, data_dir, tmp_path, capsys):
    root = _cut(data_dir, tmp_path, "conll2000")
    model_dir = tmp_path / "run"
    run = lambda: run_tagging_finetuning(
        "conll2000", root, saved_encoder, str(model_dir), TaggingConfig(**SMALL), 2, verbose=0
    )  # noqa: E731
    first = run()
    (model_dir / "trial_1" / "record.json").unlink()
    capsys.readouterr()
    resumed = run()
    assert capsys.readouterr().out.count("its record is reused") == 1
    assert resumed["trials"][0] == first["trials"][0]
    assert resumed["trials"][1]["dev"] == first["trials"][1]["dev"]  # Trained again, with the same seed.
