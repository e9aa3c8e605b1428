"""The non-finite guard: a diverging run stops at the first bad step, names it and the last good checkpoint, and
leaves that checkpoint as it was."""

import dataclasses
import re
import subprocess

import keras
import numpy as np
import tensorflow as tf

from electra_tf import config_io
from electra_tf.data.pretraining_dataset import pretraining_dataset
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from electra_tf.training.pretraining_config import PretrainingConfig
from tests.conftest import pretrain_command, subprocess_env


def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(micro_config, pretraining_data, tmp_path):
    # A learning rate of 1e38 overflows the weights within a few steps: a real divergence, not a mock.
    config = config_io.load(PretrainingConfig, micro_config)
    config = dataclasses.replace(
        config, optimizer=dataclasses.replace(config.optimizer, learning_rate=1e38), checkpoint_every=1, log_every=10
    )
    config_path = tmp_path / "diverging.json"
    config_io.save(config, str(config_path))
    model_dir = tmp_path / "run"
    result = subprocess.run(
        pretrain_command(config_path, pretraining_data, model_dir),
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    match = re.search(r"non-finite loss or gradient at step (\d+).*The last good checkpoint is (\S+);", result.stderr)
    assert match, result.stderr[-2000:]
    bad_step, named = int(match.group(1)), match.group(2)
    assert bad_step < 10, "stopped within one logging interval (log_every=10)"
    checkpoints = model_dir / "checkpoints"
    assert named.endswith(f"ckpt-{bad_step - 1}")
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith(f"ckpt-{bad_step - 1}")
    assert not list(checkpoints.glob(f"ckpt-{bad_step}.*")), "the bad step was saved"
    reader = tf.train.load_checkpoint(named)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.isfinite(value).all(), name
    assert not (model_dir / "results.json").exists() and not (model_dir / "discriminator").exists()


def test_a_non_finite_step_applies_no_update_and_is_counted(micro_config, pretraining_data):
    config = config_io.load(PretrainingConfig, micro_config)
    keras.utils.set_random_seed(0)
    model = ElectraPretrainer(**config.pretrainer_kwargs())
    model.compile(optimizer=keras.optimizers.Adam(1e-3))  # No decoupled weight decay, which ignores gradients.
    batch = next(iter(pretraining_dataset(pretraining_data, 8, config.masking, max_seq_length=config.max_seq_length)))
    model.optimizer.build(model.trainable_variables)
    # Inject: one weight of the discriminator's last layer becomes NaN, so the loss and every gradient are NaN.
    poisoned = model.discriminator_head.trainable_variables[0]
    poisoned.assign(tf.tensor_scatter_nd_update(poisoned, [[0, 0]], [float("nan")]))
    before = [v.numpy().copy() for v in model.trainable_variables]
    logs = model.train_step(batch)
    assert float(logs["nonfinite_steps"]) == 1.0 and not np.isfinite(float(logs["loss"]))
    for value, variable in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)
    poisoned.assign(tf.where(tf.math.is_finite(poisoned), poisoned, 0.0))
    logs = model.train_step(batch)
    assert float(logs["nonfinite_steps"]) == 1.0, "a finite step adds nothing"
