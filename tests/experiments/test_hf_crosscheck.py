"""The HF cross-check trains HF's ELECTRA on our batches and logs our metrics."""

import math

import pytest

from electra_tf import config_io
from electra_tf.data.metadata import PretrainingDataMetadata
from electra_tf.training.pretraining_config import PretrainingConfig

pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_hf_curve_trains_on_our_batches_with_our_schedule(micro_config, pretraining_data):
    from electra_tf.experiments import hf_crosscheck

    config = config_io.load(PretrainingConfig, micro_config)
    records = hf_crosscheck.hf_curve(config, pretraining_data, steps=10, log_every=5)
    assert [r["step"] for r in records] == [5, 10]
    # WarmupLinearDecay, google-research/electra's product: lr * min(1, step / 5) * (1 - step / 40).
    assert records[0]["learning_rate"] == pytest.approx(config.optimizer.learning_rate * (1 - 5 / 40))
    assert hf_crosscheck.hf_curve(config, pretraining_data, steps=4, log_every=4)[0]["learning_rate"] == pytest.approx(
        config.optimizer.learning_rate * (4 / 5) * (1 - 4 / 40)
    )
    first = records[0]
    vocab_size = PretrainingDataMetadata.load(pretraining_data).tokenizer["vocab_size"]
    # At initialization the generator is near uniform and the discriminator near chance.
    assert abs(first["generator_loss"] - math.log(vocab_size)) < 1.5
    assert abs(first["discriminator_loss"] - math.log(2)) < 0.2
    # Every masked position is resampled; a near-uniform generator almost never samples the original token.
    assert 0.08 < first["replace_rate"] < 0.2
    assert all(math.isfinite(v) for r in records for v in r.values())


def test_uncorrected_adamw_steps_as_google_research_electra():
    """Two steps by hand: m, v as exponential means without bias correction, then p -= lr * (m / (sqrt(v) + eps) +
    weight_decay * p)."""
    import numpy as np
    import torch

    from electra_tf.experiments.hf_crosscheck import _uncorrected_adamw

    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = _uncorrected_adamw(torch)([{"params": [p], "weight_decay": 0.1}], lr=0.01, betas=(0.9, 0.999), eps=1e-6)
    value, m, v = np.array([1.0, -2.0]), 0.0, 0.0
    for g in (np.array([0.5, -1.0]), np.array([0.2, 0.3])):
        p.grad = torch.tensor(g, dtype=torch.float32)
        optimizer.step()
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        value = value - 0.01 * (m / (np.sqrt(v) + 1e-6) + 0.1 * value)
        np.testing.assert_allclose(p.detach().numpy(), value, rtol=1e-6)


def test_weight_decay_skips_layer_norms_and_biases():
    from electra_tf.experiments.hf_crosscheck import is_decayed

    assert is_decayed("electra.encoder.layer.0.attention.self.query.weight")
    assert not is_decayed("electra.encoder.layer.0.attention.output.LayerNorm.weight")
    assert not is_decayed("electra.embeddings.LayerNorm.bias")
    assert not is_decayed("generator_lm_head.bias")


def test_settings_it_cannot_reproduce_are_refused(micro_config, pretraining_data):
    import dataclasses

    from electra_tf.experiments import hf_crosscheck

    config = config_io.load(PretrainingConfig, micro_config)
    for changed, message in (
        (dataclasses.replace(config, objective="mlm"), "objective='electra' only"),
        (
            dataclasses.replace(config, optimizer=dataclasses.replace(config.optimizer, gradient_accumulation_steps=2)),
            "gradient_accumulation_steps=1 only",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            hf_crosscheck.hf_curve(changed, pretraining_data, steps=1)
