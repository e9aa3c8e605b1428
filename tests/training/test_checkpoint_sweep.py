"""Issue 20: a kill between a checkpoint save and the manager's deletion of the oldest leaked that checkpoint for good.
A restart now sweeps checkpoints older than the kept window and absent from the state file, and nothing else."""

import shutil
import subprocess

import tensorflow as tf

from electra_tf.training.pretrain import sweep_leaked_checkpoints
from tests.conftest import pretrain_command, subprocess_env


def _copy_checkpoint(directory, source: str, target: str) -> None:
    for path in directory.glob(f"{source}.*"):
        shutil.copy(path, directory / path.name.replace(source, target))


def test_only_old_unlisted_checkpoints_are_swept(tmp_path):
    step = tf.Variable(0)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=step), str(tmp_path), max_to_keep=2)
    for value in range(1, 5):
        step.assign(value)
        manager.save(checkpoint_number=value * 10)
    assert sorted(p.name for p in tmp_path.glob("*.index")) == ["ckpt-30.index", "ckpt-40.index"]
    _copy_checkpoint(tmp_path, "ckpt-30", "ckpt-20")  # Leaked: a kill came before the manager deleted it.
    _copy_checkpoint(tmp_path, "ckpt-40", "ckpt-50")  # Saved but not yet listed: never touched.
    removed = sweep_leaked_checkpoints(str(tmp_path))
    assert [p.rsplit("/", 1)[-1] for p in removed] == ["ckpt-20"]
    names = sorted(p.name for p in tmp_path.glob("ckpt-*"))
    assert not any(name.startswith("ckpt-20") for name in names)
    assert {"ckpt-30.index", "ckpt-40.index", "ckpt-50.index"} <= set(names)
    assert sweep_leaked_checkpoints(str(tmp_path)) == []
    assert sweep_leaked_checkpoints(str(tmp_path / "missing")) == []


def test_a_resumed_pretraining_run_sweeps_the_leak_and_says_so(micro_config, pretraining_data, tmp_path):
    model_dir = tmp_path / "model"
    command = pretrain_command(micro_config, pretraining_data, model_dir) + ["--checkpoint_every=5"]
    first = subprocess.run(command + ["--num_train_steps=20"], capture_output=True, text=True, env=subprocess_env())
    assert first.returncode == 0, first.stderr[-2000:]
    checkpoints = model_dir / "checkpoints"
    oldest = min(int(p.name[len("ckpt-") : -len(".index")]) for p in checkpoints.glob("ckpt-*.index"))
    _copy_checkpoint(checkpoints, f"ckpt-{oldest}", "ckpt-1")
    resumed = subprocess.run(command + ["--num_train_steps=25"], capture_output=True, text=True, env=subprocess_env())
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Removed 1 checkpoint(s) older than the kept window" in resumed.stderr
    assert not list(checkpoints.glob("ckpt-1.*"))
