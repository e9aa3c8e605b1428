"""bin/pretrain end to end on real data: resume after SIGKILL, exports, and configuration checks."""

import dataclasses
import json
import pathlib
import signal
import subprocess
import time

import keras_hub
import numpy as np
import pytest

from electra_tf import config_io
from electra_tf.models import saving
from electra_tf.training.pretraining_config import PretrainingConfig
from tests.conftest import pretrain_command, repo_root, subprocess_env
from tests.models.conftest import MICRO_ENCODER


def run_to_end(config, data, model_dir):
    result = subprocess.run(
        pretrain_command(config, data, model_dir), capture_output=True, text=True, env=subprocess_env(), timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads((model_dir / "results.json").read_text())


# The accumulating variant (about 1 min more) is `large`: the plain one keeps resumption in the default run.
@pytest.mark.parametrize("accumulation", [1, pytest.param(2, marks=pytest.mark.large)], ids=["plain", "accumulating"])
def test_sigkilled_run_resumes_at_its_checkpoint_and_matches_an_uninterrupted_run(
    accumulation, micro_config, pretraining_data, tmp_path
):
    if accumulation > 1:
        # A step is an optimizer update over `accumulation` batches: the data position must account for it.
        config = config_io.load(PretrainingConfig, micro_config)
        config = dataclasses.replace(
            config, optimizer=dataclasses.replace(config.optimizer, gradient_accumulation_steps=accumulation)
        )
        micro_config = str(tmp_path / "accumulating.json")
        config_io.save(config, micro_config)
    _, uninterrupted = run_to_end(micro_config, pretraining_data, tmp_path / "uninterrupted")

    model_dir = tmp_path / "killed"
    process = subprocess.Popen(
        pretrain_command(micro_config, pretraining_data, model_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=subprocess_env(),
    )
    deadline = time.time() + 300
    checkpoints = model_dir / "checkpoints"
    state = checkpoints / "checkpoint"  # CheckpointManager writes it after the checkpoint's files are complete.
    while time.time() < deadline and not (state.exists() and "ckpt-" in state.read_text()):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (model_dir / "results.json").exists(), "the run finished before it could be killed"

    resumed_output, resumed = run_to_end(micro_config, pretraining_data, model_dir)
    line = next(text for text in resumed_output.stdout.splitlines() if text.startswith("Resuming from"))
    resumed_step = int(line.rsplit(" ", 1)[1].rstrip("."))
    assert resumed_step in (10, 20, 30)
    assert resumed_step < 40
    assert resumed["step"] == uninterrupted["step"] == 40
    # Same data position, masks, samples and (dropout 0) arithmetic: the logged losses after the resume point and
    # the final evaluation match the uninterrupted run.
    after = {r["step"]: r for r in uninterrupted["history"]}
    assert len(uninterrupted["history"]) == 8 and resumed["history"], (
        "a line every 5 steps, before and after the resume"
    )
    for record in resumed["history"]:
        assert record["loss"] == pytest.approx(after[record["step"]]["loss"], rel=1e-4), record["step"]
    for name, value in uninterrupted["eval"].items():
        assert resumed["eval"][name] == pytest.approx(value, rel=1e-4, abs=1e-6), name


def tensorboard_tags(log_dir):
    import tensorflow as tf

    tags = set()
    for path in log_dir.glob("events.out.tfevents*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update((value.tag, event.step) for value in event.summary.value)
    return tags


def test_run_exports_encoders_config_and_tensorboard(micro_config, pretraining_data, tmp_path):
    config = dataclasses.replace(config_io.load(PretrainingConfig, micro_config), eval_every=10)
    # keras-hub's ElectraBackbone computes only the tanh GELU, so only such an encoder gets a keras-hub preset.
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, hidden_act="gelu_tanh"))
    config_path = tmp_path / "eval_every.json"
    config_io.save(config, str(config_path))
    model_dir = tmp_path / "run"
    output, results = run_to_end(config_path, pretraining_data, model_dir)
    assert "tokens/s" in output.stdout
    encoder, vocabulary, tokenizer = saving.load_encoder(str(model_dir / "discriminator"))
    assert encoder.encoder_config.hidden_size == MICRO_ENCODER["hidden_size"]
    assert vocabulary.size == 30522 and tokenizer["lower_case"]
    backbone = keras_hub.models.ElectraBackbone.from_preset(str(model_dir / "discriminator" / "keras_hub"))
    assert backbone.num_layers == encoder.encoder_config.num_layers
    generator, _, _ = saving.load_encoder(str(model_dir / "generator"))
    assert generator.encoder_config.hidden_size == MICRO_ENCODER["hidden_size"] // 4
    saved = config_io.load(PretrainingConfig, str(model_dir / "pretraining_config.json"))
    assert saved.num_train_steps == 40
    tags = tensorboard_tags(model_dir / "logs")
    assert ("train/discriminator_loss", 5) in tags and ("train/learning_rate", 40) in tags
    assert ("eval/discriminator_auc", 10) in tags, "evaluation every 10 steps during training"
    assert any(tag == "config" for tag, _ in tags)
    assert set(results["eval"]) >= {"discriminator_auc", "generator_accuracy", "discriminator_accuracy"}
    assert results["flops_per_step"] > 0 and np.isfinite(results["history"][-1]["loss"])
    assert results["flops_per_step_gr"] > 0


def test_model_dir_of_another_architecture_is_refused(micro_config, pretraining_data, tmp_path):
    model_dir = tmp_path / "run"
    output, _ = run_to_end(micro_config, pretraining_data, model_dir)
    # An exact-GELU encoder (GR's, the default) gets no keras-hub preset, and the run says why.
    assert config_io.load(PretrainingConfig, micro_config).encoder.hidden_act == "gelu"
    assert not (model_dir / "discriminator" / "keras_hub").exists()
    assert "No keras-hub preset: hidden_act='gelu'" in output.stdout
    # The saved config spells out the optimizer's reference behaviour (null in the file it was given).
    assert json.loads((model_dir / "pretraining_config.json").read_text())["optimizer"]["bias_correction"] is False
    other = config_io.load(PretrainingConfig, micro_config)
    other = dataclasses.replace(other, encoder=dataclasses.replace(other.encoder, num_layers=3))
    other_path = tmp_path / "other.json"
    config_io.save(other, str(other_path))
    result = subprocess.run(
        pretrain_command(other_path, pretraining_data, model_dir),
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 2
    assert "different encoder" in result.stderr and "Traceback" not in result.stderr


def test_run_started_before_google_researchs_optimizer_is_not_resumed(micro_config, pretraining_data, tmp_path):
    # A pretraining_config.json written before bias_correction existed: that run used bias-corrected Adam and the
    # warmup-then-decay switch, so resuming it with today's optimizer would change its training mid-run.
    saved = json.loads(pathlib.Path(micro_config).read_text())
    del saved["optimizer"]["bias_correction"]
    model_dir = tmp_path / "old_run"
    model_dir.mkdir()
    (model_dir / "pretraining_config.json").write_text(json.dumps(saved))
    result = subprocess.run(
        pretrain_command(micro_config, pretraining_data, model_dir),
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "has no optimizer.bias_correction" in result.stderr and "Traceback" not in result.stderr


def test_small_config_is_google_research_electras_electra_small():
    """configure_pretraining.py's defaults for model_size="small" (hidden 256, 12 layers per training_utils)."""
    config = config_io.load(PretrainingConfig, str(repo_root() / "configs" / "pretraining" / "small.json"))
    encoder, optimizer = config.encoder, config.optimizer
    assert (encoder.hidden_size, encoder.num_layers, encoder.num_heads, encoder.intermediate_size) == (256, 12, 4, 1024)
    assert (encoder.embedding_size, encoder.hidden_act, encoder.layer_norm_epsilon) == (128, "gelu", 1e-12)
    assert (optimizer.learning_rate, optimizer.warmup_steps, optimizer.weight_decay) == (5e-4, 10000, 0.01)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon, optimizer.clip_norm) == (0.9, 0.999, 1e-6, 1.0)
    assert optimizer.resolved_bias_correction is False
    assert (config.train_batch_size, config.num_train_steps, config.max_seq_length) == (128, 1_000_000, 128)
    assert (config.generator_fraction, config.generator_weight, config.discriminator_weight) == (0.25, 1.0, 50.0)
    assert (config.masking.mask_prob, config.masking.num_predictions(128)) == (0.15, 19)
    assert (config.masking.mask_token_ratio, config.masking.random_token_ratio) == (0.85, 0.0)


@pytest.mark.parametrize("name", ["tiny", "small", "base", "large"])
def test_shipped_pretraining_configs_load(name):
    config = config_io.load(PretrainingConfig, str(repo_root() / "configs" / "pretraining" / f"{name}.json"))
    expected = {"tiny": 128, "small": 256, "base": 768, "large": 1024}[name]
    assert config.encoder.hidden_size == expected
    if name == "large":
        assert config.masking.mask_prob == 0.25


@pytest.mark.large  # About 2.5 and 1 min on 2 cores: kept out of the default run's 15-minute budget.
def test_a_process_killed_during_a_save_leaves_the_previous_checkpoint_loadable(
    micro_config, pretraining_data, tmp_path
):
    import os

    import tensorflow as tf

    config = dataclasses.replace(
        config_io.load(PretrainingConfig, micro_config), checkpoint_every=1, num_train_steps=20
    )
    config_path = tmp_path / "every_step.json"
    config_io.save(config, str(config_path))
    model_dir = tmp_path / "run"
    checkpoints = model_dir / "checkpoints"
    process = subprocess.Popen(
        pretrain_command(config_path, pretraining_data, model_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=subprocess_env(),
    )
    interrupted = []
    deadline = time.time() + 300
    try:
        # Kill the moment a save's staging folder appears after a first complete checkpoint: mid-save, for certain.
        while time.time() < deadline and process.poll() is None and not interrupted:
            if (checkpoints / "checkpoint").exists():
                interrupted = [n for n in os.listdir(checkpoints) if n.endswith("_temp")]
            if not interrupted:
                time.sleep(0.0005)
    finally:
        process.kill()
        process.wait()
    assert interrupted, "no save was caught in progress"
    saving_step = int(interrupted[0].split("-")[1].split("_")[0])
    latest = tf.train.latest_checkpoint(str(checkpoints))
    assert latest.endswith(f"ckpt-{saving_step - 1}")
    reader = tf.train.load_checkpoint(latest)
    assert all(reader.get_tensor(name) is not None for name in reader.get_variable_to_shape_map())

    output, results = run_to_end(config_path, pretraining_data, model_dir)
    assert f"Resuming from {latest} at step {saving_step - 1}." in output.stdout
    assert results["step"] == 20
    assert not list(checkpoints.glob("*_temp")), "the interrupted save's folder was cleaned up"


def test_kept_checkpoints_survive_the_rolling_window_and_hold_their_step(micro_config, pretraining_data, tmp_path):
    """keep_checkpoint_steps: written at their steps into checkpoints/kept/, never deleted, equal to the periodic
    checkpoint of the same step."""
    import tensorflow as tf

    from electra_tf.models.electra_pretrainer import ElectraPretrainer
    from electra_tf.optimizers.config import create_optimizer
    from electra_tf.training import callbacks

    config = dataclasses.replace(
        config_io.load(PretrainingConfig, micro_config), keep_checkpoint_steps=(7, 20), keep_checkpoints=1
    )
    path = str(tmp_path / "keep.json")
    config_io.save(config, path)
    run_to_end(path, pretraining_data, tmp_path / "run")
    checkpoints = str(tmp_path / "run" / "checkpoints")
    assert callbacks.has_kept_checkpoint(checkpoints, 7) and callbacks.has_kept_checkpoint(checkpoints, 20)
    assert not (tmp_path / "run" / "checkpoints" / "ckpt-10.index").exists(), "the rolling window kept one"

    def restored(prefix):
        model = ElectraPretrainer(**config.pretrainer_kwargs())
        optimizer = create_optimizer(config.optimizer, config.num_train_steps)
        optimizer.build(model.trainable_variables)
        tf.train.Checkpoint(model=model, optimizer=optimizer).read(prefix).expect_partial()
        return model, int(optimizer.iterations.numpy())

    kept_7, step_7 = restored(callbacks.kept_checkpoint_prefix(checkpoints, 7))
    kept_20, step_20 = restored(callbacks.kept_checkpoint_prefix(checkpoints, 20))
    periodic_20, _ = restored(str(tmp_path / "run" / "checkpoints" / "ckpt-40"))
    assert (step_7, step_20) == (7, 20)
    assert not np.array_equal(kept_7.weights[0].numpy(), kept_20.weights[0].numpy())
    assert not np.array_equal(kept_20.weights[0].numpy(), periodic_20.weights[0].numpy()), "step 20 is not step 40"


def test_a_kept_checkpoint_cut_short_is_written_again(tmp_path):
    import tensorflow as tf

    from electra_tf.training import callbacks

    variable = tf.Variable(1.0)
    checkpoint = tf.train.Checkpoint(v=variable)
    folder = tmp_path / "kept" / "ckpt-5"
    folder.mkdir(parents=True)
    (folder / "ckpt.index").write_text("partial")  # A write killed before its COMPLETE marker.
    assert not callbacks.has_kept_checkpoint(str(tmp_path), 5)
    variable.assign(3.0)
    callbacks.write_kept_checkpoint(checkpoint, str(tmp_path), 5)
    assert callbacks.has_kept_checkpoint(str(tmp_path), 5)
    variable.assign(0.0)
    checkpoint.read(callbacks.kept_checkpoint_prefix(str(tmp_path), 5)).assert_consumed()
    assert float(variable.numpy()) == 3.0
    variable.assign(9.0)
    # A resume from before step 5 removes it (the resumed run writes its own); one from after keeps it.
    callbacks.remove_kept_after(str(tmp_path), 5)
    assert callbacks.has_kept_checkpoint(str(tmp_path), 5)
    assert callbacks.pending_kept_steps((5, 9), 5) == {9}
    callbacks.remove_kept_after(str(tmp_path), 4)
    assert not (tmp_path / "kept" / "ckpt-5").exists()


def test_keep_checkpoint_steps_outside_the_run_are_refused(micro_config):
    config = config_io.load(PretrainingConfig, micro_config)
    with pytest.raises(ValueError, match=r"keep_checkpoint_steps must lie in \[1, num_train_steps=40\], but \[41\]"):
        dataclasses.replace(config, keep_checkpoint_steps=(10, 41))
