"""bin/finetune and bin/export end to end on real GLUE files, and their errors on bad inputs."""

import json
import shutil

from tests.cli.test_binaries import run_binary


def test_finetune_trials_predict_and_export(saved_encoder, glue_dir, tmp_path):
    model_dir = tmp_path / "rte"
    result = run_binary(
        "finetune",
        "--task=RTE",
        f"--data_dir={glue_dir}",
        f"--pretrained={saved_encoder}",
        f"--model_dir={model_dir}",
        "--epochs=1",
        "--max_train_examples=64",
        "--batch_size=16",
        "--sequence_length=32",
        "--num_trials=2",
        "--do_predict",
        f"--export_dir={tmp_path / 'export'}",
        "--keras_verbose=0",
        "--learning_rate=1e-3",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    accuracy = summary["dev"]["dev"]["accuracy"]
    assert accuracy["min"] <= accuracy["median"] <= accuracy["max"]
    results = json.loads((model_dir / "results.json").read_text())
    assert results["num_train_examples"] == 64 and results["num_dev_examples"] == {"dev": 277}
    assert [trial["seed"] for trial in results["trials"]] == [0, 1]
    recipe = results["recipe"]  # The flags override the recipe, and are recorded as overrides.
    assert (recipe["learning_rate"], recipe["epochs"], recipe["batch_size"]) == (1e-3, 1, 16)
    assert {recipe["source"][k] for k in ("learning_rate", "epochs", "batch_size")} == {"override"}
    assert recipe["source"]["layerwise_decay"] == "recipe"
    predictions = (model_dir / "trial_0" / "predictions" / "RTE.tsv").read_text().splitlines()
    assert predictions[0] == "index\tprediction" and len(predictions) == 3001
    assert {line.split("\t")[1] for line in predictions[1:]} <= {"entailment", "not_entailment"}
    assert (model_dir / "trial_1" / "model" / "classifier.keras").exists()
    assert list((model_dir / "trial_0" / "logs").iterdir())  # TensorBoard.

    exported = run_binary(
        "export", f"--finetuned={model_dir / 'trial_0' / 'model'}", f"--export_dir={tmp_path / 'export'}"
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout.strip().splitlines()[-1])["export"].endswith("/2")  # finetune wrote version 1.


def test_finetune_follows_the_recipe_for_a_small_encoder(saved_encoder, glue_dir, tmp_path):
    """With only --task and --pretrained (plus a subsample to keep it fast), a small encoder on RTE gets the recipe:
    lr 3e-4, layer-wise decay 0.8 by the released rule, 10 epochs; the run prints it and saves it."""
    model_dir = tmp_path / "rte"
    result = run_binary(
        "finetune",
        "--task=rte",
        f"--pretrained={saved_encoder}",
        f"--data_dir={glue_dir}",
        f"--model_dir={model_dir}",
        "--max_train_examples=8",
        "--sequence_length=16",
        "--keras_verbose=0",
        "--novalidate_every_epoch",
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("Fine-tuning recipe for rte:"))
    for setting in (
        "model_size=small (encoder)",
        "learning_rate=0.0003 (recipe)",
        "layerwise_decay=0.8 (recipe)",
        "layerwise_rule=released (recipe)",
        "epochs=10 (recipe)",
        "clip_norm=1.0 (recipe)",
        "bias_correction=False (recipe)",
        "weight_decay=0.01 (recipe)",
    ):
        assert setting in line, (setting, line)
    expected = {
        "model_size": "small",
        "learning_rate": 3e-4,
        "layerwise_decay": 0.8,
        "layerwise_rule": "released",
        "epochs": 10,
        "batch_size": 32,
        "warmup_fraction": 0.1,
        "weight_decay": 0.01,
        "clip_norm": 1.0,
        "bias_correction": False,
        "double_unordered": False,
    }
    results = json.loads((model_dir / "results.json").read_text())
    assert {k: results["recipe"][k] for k in expected} == expected
    assert set(results["recipe"]["source"].values()) == {"recipe", "encoder"}
    saved = json.loads((model_dir / "finetuning_config.json").read_text())
    assert {k: saved[k] for k in expected} == expected
    assert json.loads(result.stdout.strip().splitlines()[-1])["recipe"]["learning_rate"] == 3e-4


def test_finetune_bad_inputs(saved_encoder, glue_dir, tmp_path):
    common = [f"--pretrained={saved_encoder}", f"--model_dir={tmp_path / 'out'}", "--keras_verbose=0"]
    unknown = run_binary("finetune", "--task=glue9", f"--data_dir={glue_dir}", *common)
    assert unknown.returncode == 2 and "Unknown task 'glue9'. Known tasks: cola, mnli" in unknown.stderr

    missing = run_binary("finetune", "--task=qnli", f"--data_dir={glue_dir}", *common)  # QNLI has no train.tsv here.
    assert missing.returncode == 2 and "QNLI/train.tsv for its 'train' split, and it does not exist" in missing.stderr

    bad_encoder = tmp_path / "encoder"
    shutil.copytree(saved_encoder, bad_encoder)
    (bad_encoder / "vocab.txt").write_text("\n".join((bad_encoder / "vocab.txt").read_text().splitlines()[:-1]) + "\n")
    mismatch = run_binary(
        "finetune",
        "--task=rte",
        f"--data_dir={glue_dir}",
        "--max_train_examples=8",
        f"--pretrained={bad_encoder}",
        f"--model_dir={tmp_path / 'out'}",
    )
    assert mismatch.returncode == 2 and "does not match encoder_config.json" in mismatch.stderr

    broken = tmp_path / "glue" / "RTE"
    broken.mkdir(parents=True)
    shutil.copy(glue_dir / "RTE" / "dev.tsv", broken / "dev.tsv")
    lines = (glue_dir / "RTE" / "train.tsv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].rsplit("\t", 1)[0]  # Drop the label column of line 6.
    (broken / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    malformed = run_binary("finetune", "--task=rte", f"--data_dir={tmp_path / 'glue'}", *common)
    assert malformed.returncode == 2 and "train.tsv:6: has 3 columns, expected 4" in malformed.stderr
    assert "--on_bad_row=skip" in malformed.stderr


def test_finetune_squad_end_to_end_and_flags_that_do_not_apply(saved_encoder, data_dir, tmp_path):
    document = json.loads((data_dir / "squad" / "dev-v1.1.json").read_text(encoding="utf-8"))
    first, last = document["data"][0], document["data"][-1]
    cut = dict(
        document, data=[dict(first, paragraphs=first["paragraphs"][:3]), dict(last, paragraphs=last["paragraphs"][:1])]
    )
    squad_file = tmp_path / "cut.json"
    squad_file.write_text(json.dumps(cut), encoding="utf-8")
    model_dir = tmp_path / "squad"
    common = ("--task=squad_v1.1", f"--pretrained={saved_encoder}", f"--squad_file={squad_file}")
    result = run_binary(
        "finetune",
        *common,
        f"--model_dir={model_dir}",
        "--held_out_articles=1",
        "--sequence_length=64",
        "--doc_stride=32",
        "--max_query_length=16",
        "--batch_size=16",
        "--keras_verbose=0",
    )
    assert result.returncode == 0, result.stderr
    assert "Fine-tuning recipe for squad_v1.1:" in result.stdout and "epochs=2 (recipe)" in result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary["dev"]["held_out"]) == {"exact_match", "f1"}
    predictions = json.loads((model_dir / "trial_0" / "predictions.json").read_text())
    assert set(predictions) == {qa["id"] for p in cut["data"][1]["paragraphs"] for qa in p["qas"]}
    exported = run_binary(
        "export", f"--finetuned={model_dir / 'trial_0' / 'model'}", f"--export_dir={tmp_path / 'export'}", "--nowarmup"
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout.strip().splitlines()[-1])["export"].endswith("/1")

    refused = run_binary("finetune", *common, f"--model_dir={tmp_path / 'x'}", "--double_unordered", "--do_predict")
    assert (
        refused.returncode == 2
        and "--double_unordered, --do_predict do not apply to --task=squad_v1.1" in refused.stderr
    )
    glue = run_binary("finetune", "--task=rte", f"--pretrained={saved_encoder}", "--doc_stride=64")
    assert glue.returncode == 2 and "--doc_stride apply to SQuAD only, not to --task=rte" in glue.stderr
    tfds = run_binary("finetune", *common, f"--model_dir={tmp_path / 'x'}", "--source=tfds", "--held_out_articles=2")
    assert tfds.returncode == 2 and "--squad_file, --held_out_articles do not apply with --source=tfds" in tfds.stderr
    assert not (tmp_path / "x").exists()


def test_finetune_honours_another_hosts_lock_unless_forced(saved_encoder, glue_dir, tmp_path):
    model_dir = tmp_path / "rte"
    model_dir.mkdir()
    (model_dir / "RUN_LOCK.json").write_text(json.dumps({"host": "other-host", "pid": 7, "started": "earlier"}))
    flags = (
        "--task=rte", f"--data_dir={glue_dir}", f"--pretrained={saved_encoder}", f"--model_dir={model_dir}",
        "--epochs=1", "--max_train_examples=32", "--sequence_length=32", "--keras_verbose=0",
        "--novalidate_every_epoch",
    )  # fmt: skip
    refused = run_binary("finetune", *flags)
    assert refused.returncode == 2 and "is locked by a run on another host (PID 7 on other-host" in refused.stderr
    assert not (model_dir / "finetuning_config.json").exists()
    forced = run_binary("finetune", *flags, "--force_unlock")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert (model_dir / "results.json").exists() and not (model_dir / "RUN_LOCK.json").exists()


def test_finetune_conll_end_to_end_and_flags_that_do_not_apply(saved_encoder, data_dir, tmp_path):
    root = tmp_path / "data" / "conll2000"
    root.mkdir(parents=True)
    for name in ("train.txt", "test.txt"):
        blocks = (data_dir / "conll2000" / name).read_text(encoding="utf-8").split("\n\n")
        (root / name).write_text("\n\n".join(blocks[:24]) + "\n", encoding="utf-8")
    model_dir = tmp_path / "chunk"
    common = ("--task=conll2000", f"--pretrained={saved_encoder}", f"--data_dir={root.parent}")
    result = run_binary(
        "finetune", *common, f"--model_dir={model_dir}", "--sequence_length=32", "--stride=10", "--keras_verbose=0"
    )
    assert result.returncode == 0, result.stderr
    assert "Fine-tuning recipe for conll2000:" in result.stdout and "epochs=3 (recipe)" in result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary["dev"]["test"]) == {"f1", "precision", "recall", "accuracy"}
    assert (model_dir / "trial_0" / "test_predictions.txt").is_file()
    assert json.loads((model_dir / "tagging_config.json").read_text())["stride"] == 10

    refused = run_binary("finetune", *common, f"--model_dir={tmp_path / 'x'}", "--doc_stride=8")
    assert refused.returncode == 2 and "--doc_stride apply to SQuAD only, not to --task=conll2000" in refused.stderr
    tfds = run_binary("finetune", *common, f"--model_dir={tmp_path / 'x'}", "--source=tfds")
    assert tfds.returncode == 2 and "--source do not apply to --task=conll2000 (yet)" in tfds.stderr
    squad = run_binary("finetune", "--task=squad_v1.1", f"--pretrained={saved_encoder}", "--stride=64")
    assert squad.returncode == 2 and "--stride apply to CoNLL tagging only, not to --task=squad_v1.1" in squad.stderr
    glue = run_binary("finetune", "--task=rte", f"--pretrained={saved_encoder}", "--tag_scheme=IOB2")
    assert glue.returncode == 2 and "--tag_scheme apply to CoNLL tagging only, not to --task=rte" in glue.stderr
    assert not (tmp_path / "x").exists()
