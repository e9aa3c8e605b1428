"""SQuAD fine-tuning runs on files cut from the real dev sets: outputs the official scripts read, and their figures."""

import json
import subprocess
import sys

import pytest

from electra_tf.models.electra_question_answerer import ElectraQuestionAnswerer
from electra_tf.training.finetune_squad import SquadConfig, run_squad_finetuning

SMALL = dict(sequence_length=64, doc_stride=32, max_query_length=16, batch_size=16, epochs=1, learning_rate=1e-3)


def _cut(data_dir, name: str, tmp_path) -> str:
    """Two articles of a dev file, a few paragraphs each: the first to train on, the last held out."""
    document = json.loads((data_dir / "squad" / name).read_text(encoding="utf-8"))
    first, last = document["data"][0], document["data"][-1]
    cut = dict(
        document,
        data=[dict(first, paragraphs=first["paragraphs"][:4]), dict(last, paragraphs=last["paragraphs"][:2])],
    )
    path = tmp_path / name
    path.write_text(json.dumps(cut), encoding="utf-8")
    return str(path)


def _official(data_dir, script: str, data_file: str, *files) -> dict:
    result = subprocess.run(
        [sys.executable, script, data_file, *files], cwd=data_dir / "squad", capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "name, script, trials", [("dev-v1.1.json", "evaluate-v1.1.py", 2), ("dev-v2.0-half.json", "evaluate-v2.0.py", 1)]
)
def test_a_run_writes_what_the_official_scripts_score_as_we_do(saved_encoder, data_dir, tmp_path, name, script, trials):
    squad_file = _cut(data_dir, name, tmp_path)
    model_dir = tmp_path / "run"
    results = run_squad_finetuning(
        squad_file,
        saved_encoder,
        str(model_dir),
        SquadConfig(held_out_articles=1, **SMALL),
        num_trials=trials,
        verbose=0,
    )
    assert results["held_out_titles"] == ["Force"] and results["recipe"]["epochs"] == 1
    assert [trial["seed"] for trial in results["trials"]] == list(range(trials))
    held_out = {"data": [json.loads(open(squad_file, encoding="utf-8").read())["data"][-1]], "version": "x"}
    (tmp_path / "held_out.json").write_text(json.dumps(held_out), encoding="utf-8")
    trial = model_dir / "trial_0"
    ours = results["trials"][0]["dev"]["held_out"]
    if name == "dev-v1.1.json":
        official = _official(data_dir, script, str(tmp_path / "held_out.json"), str(trial / "predictions.json"))
        assert ours == official and set(results["dev"]["held_out"]["f1"]) == {"median", "min", "max"}
    else:
        official = _official(
            data_dir, script, str(tmp_path / "held_out.json"), str(trial / "spans.json"),
            "--na-prob-file", str(trial / "null_odds.json"), "--na-prob-thresh", "-2.75",
        )  # fmt: skip
        assert ours == {key: official[key] for key in ours}  # Every figure, the best thresholds included.
        plain = _official(data_dir, script, str(tmp_path / "held_out.json"), str(trial / "predictions.json"))
        assert (plain["exact"], plain["f1"]) == (ours["exact"], ours["f1"])
    assert results["trials"][0]["seconds_per_epoch"] > 0
    assert (trial / "logs").is_dir() and (model_dir / "squad_config.json").is_file()
    assert ElectraQuestionAnswerer.from_finetuned(str(trial / "model")).preprocessor.sequence_length == 64


def test_squad_recipe_is_two_epochs_and_bad_settings_are_refused(saved_encoder, data_dir, tmp_path):
    from electra_tf.models import finetuning_recipe

    assert finetuning_recipe.epochs_for_task("squad_v1.1") == 2 and finetuning_recipe.epochs_for_task("qnli") == 3
    with pytest.raises(ValueError, match="on_bad_example must be one of"):
        SquadConfig(on_bad_example="ignore")
    with pytest.raises(ValueError, match="cannot hold out 2 of them"):
        run_squad_finetuning(
            _cut(data_dir, "dev-v1.1.json", tmp_path),
            saved_encoder,
            str(tmp_path / "x"),
            SquadConfig(held_out_articles=2),
        )
    assert not (tmp_path / "x").exists()
    with pytest.raises(
        ValueError, match=r"is SQuAD 1.1 \(no unanswerable questions\), not 2.0: pass --task=squad_v1.1"
    ):
        run_squad_finetuning(
            _cut(data_dir, "dev-v1.1.json", tmp_path), saved_encoder, str(tmp_path / "y"), expected_version="2.0"
        )
    assert not (tmp_path / "y").exists()
