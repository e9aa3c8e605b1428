"""mixed_bfloat16 trains like float32: 200 steps of `tiny`, compared with the drift between two float32 seeds."""

import numpy as np
import pytest

from electra_tf import config_io
from electra_tf.benchmarks.pretraining_benchmarks import loss_curves
from electra_tf.training.pretraining_config import PretrainingConfig
from tests.conftest import repo_root


@pytest.mark.large
def test_bfloat16_loss_curve_matches_float32_within_seed_noise(pretraining_data):
    config = config_io.load(PretrainingConfig, str(repo_root() / "configs" / "pretraining" / "tiny.json"))
    curves = loss_curves(config, pretraining_data, steps=200, window=20)
    reference = np.array(curves["float32/seed0"])
    seed_drift = np.abs(np.array(curves["float32/seed1"]) - reference).mean()
    bfloat16_drift = np.abs(np.array(curves["mixed_bfloat16/seed0"]) - reference).mean()
    assert reference[-1] < 0.8 * reference[0], curves  # It trains.
    assert bfloat16_drift <= 2 * seed_drift, curves
