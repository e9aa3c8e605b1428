"""Each objective directly, on real masked batches: what it predicts, where its losses count, and how it combines them.
The figures are recomputed in numpy from the tensors the objective returns."""

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import objectives
from electra_tf.models.electra_pretrainer import ElectraPretrainer
from tests.models.conftest import MICRO_ENCODER


def make(objective, **kwargs):
    return ElectraPretrainer(encoder=MICRO_ENCODER, objective=objective, generator_fraction=0.5, **kwargs)


def masked_slots(batch) -> np.ndarray:
    """bool (batch, seq_len): the positions the masking chose."""
    chosen = np.zeros(batch["token_ids"].shape, bool)
    np.put_along_axis(chosen, batch["mask_positions"].numpy(), batch["mask_weights"].numpy() > 0, axis=1)
    return chosen


def cross_entropy(logits, labels) -> np.ndarray:
    logits = logits - logits.max(-1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -np.take_along_axis(log_softmax, labels[..., None], -1)[..., 0]


def sigmoid_cross_entropy(logits, labels) -> np.ndarray:
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


def mlm_mean(logits, batch) -> float:
    weights = batch["mask_weights"].numpy()
    return float((cross_entropy(logits, batch["mask_ids"].numpy()) * weights).sum() / weights.sum())


def test_registry_lists_every_objective_and_refuses_unknown_names():
    assert set(objectives.OBJECTIVES) == {"electra", "mlm", "electra_15", "replace_mlm", "all_tokens_mlm"}
    with pytest.raises(ValueError, match="objective must be one of"):
        objectives.get("bert")


def test_electra_detects_on_every_real_token_and_weighs_the_losses_1_and_50(batches):
    batch = batches[0]
    outputs = make("electra")(batch)
    real = batch["padding_mask"].numpy() > 0
    replaced = outputs["replaced"].numpy()
    corrupted = outputs["corrupted_ids"].numpy()
    np.testing.assert_array_equal(replaced, (corrupted != batch["original_token_ids"].numpy()) & real)
    np.testing.assert_array_equal(outputs["detection_weights"].numpy(), real.astype(np.float32))
    detection = sigmoid_cross_entropy(outputs["discriminator_logits"].numpy(), replaced.astype(np.float32))
    detection = (detection * real).sum() / real.sum()
    generator = mlm_mean(outputs["generator_logits"].numpy(), batch)
    assert float(outputs["loss"]) == pytest.approx(generator + 50.0 * detection, rel=1e-5)


def test_electra_15_labels_as_electra_but_counts_only_the_masked_positions(batches):
    batch = batches[1]
    electra, electra_15 = make("electra"), make("electra_15")
    electra_15.set_weights(electra.get_weights())
    full, fifteen = electra(batch), electra_15(batch)
    # Same generator, same sampling noise: the same corruption and labels.
    np.testing.assert_array_equal(fifteen["corrupted_ids"].numpy(), full["corrupted_ids"].numpy())
    np.testing.assert_array_equal(fifteen["replaced"].numpy(), full["replaced"].numpy())
    weights = fifteen["detection_weights"].numpy()
    np.testing.assert_array_equal(weights, masked_slots(batch).astype(np.float32))
    assert 0 < weights.sum() < 0.2 * (batch["padding_mask"].numpy() > 0).sum()
    replaced = fifteen["replaced"].numpy()
    assert not (replaced & (weights == 0)).any()  # Nothing outside the masked positions is ever replaced.
    detection = sigmoid_cross_entropy(fifteen["discriminator_logits"].numpy(), replaced.astype(np.float32))
    expected = mlm_mean(fifteen["generator_logits"].numpy(), batch) + 50.0 * (detection * weights).sum() / weights.sum()
    assert float(fifteen["loss"]) == pytest.approx(expected, rel=1e-5)


def test_mlm_predicts_the_originals_at_the_masked_positions_from_the_masked_input(batches):
    batch = batches[2]
    model = make("mlm")
    assert model.generator is None and set(model.heads) == {"main_mlm_head"}
    outputs = model(batch)
    assert float(outputs["loss"]) == pytest.approx(mlm_mean(outputs["mlm_logits"].numpy(), batch), rel=1e-5)


def test_replace_mlm_reads_generator_samples_where_mlm_reads_mask(batches):
    batch = batches[3]
    outputs = make("replace_mlm")(batch)
    chosen = masked_slots(batch)
    corrupted = outputs["corrupted_ids"].numpy()
    np.testing.assert_array_equal(corrupted[~chosen], batch["token_ids"].numpy()[~chosen])
    mask_id = np.bincount(batch["token_ids"].numpy()[chosen]).argmax()  # The [MASK] id: most masked slots hold it.
    assert (corrupted[chosen] != mask_id).mean() > 0.95
    expected = mlm_mean(outputs["generator_logits"].numpy(), batch) + mlm_mean(outputs["mlm_logits"].numpy(), batch)
    assert float(outputs["loss"]) == pytest.approx(expected, rel=1e-5)


def test_all_tokens_mlm_copies_or_generates_every_token(batches):
    """-log p(original) over every real token, with p = D * [original == input] + (1 - D) * softmax(original)."""
    batch = batches[4]
    outputs = make("all_tokens_mlm")(batch)
    copy = 1 / (1 + np.exp(-outputs["copy_logits"].numpy().astype(np.float64)))
    logits = outputs["mlm_logits"].numpy().astype(np.float64)
    original, corrupted = batch["original_token_ids"].numpy(), outputs["corrupted_ids"].numpy()
    p_generate = np.exp(-cross_entropy(logits, original))
    p = (1 - copy) * p_generate + copy * (original == corrupted)
    real = batch["padding_mask"].numpy() > 0
    main = (-np.log(p) * real).sum() / real.sum()
    # Most tokens are unchanged, so copying them must be possible: p(original) there is at least D.
    assert (p[real & (original == corrupted)] >= copy[real & (original == corrupted)] - 1e-6).all()
    expected = mlm_mean(outputs["generator_logits"].numpy(), batch) + main
    assert float(outputs["loss"]) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("name", sorted(objectives.OBJECTIVES))
def test_reports_name_only_metrics_the_objective_built(name, batches):
    model = make(name)
    reports = model(batches[0])["reports"]
    built = {m.name for m in model.objective.metrics}
    assert set(reports) <= built
    assert tf.is_tensor(model(batches[0])["loss"])


def test_pretraining_config_holds_the_objectives_hyper_parameters_with_their_defaults():
    """`ObjectiveConfig` defines them; `PretrainingConfig` holds the same names at its top level (the file format)."""
    import dataclasses

    from electra_tf.training.pretraining_config import PretrainingConfig

    defaults = PretrainingConfig()
    assert dataclasses.asdict(defaults.objective_config()) == dataclasses.asdict(objectives.ObjectiveConfig())
    changed = dataclasses.replace(defaults, temperature=0.5, disallow_correct=True, seed=7)
    assert changed.pretrainer_kwargs() | {"encoder": None} == {
        "encoder": None,
        "generator_fraction": 0.25,
        "objective": "electra",
        "generator_weight": 1.0,
        "discriminator_weight": 50.0,
        "temperature": 0.5,
        "disallow_correct": True,
        "seed": 7,
        "clip_norm": 1.0,
    }
    with pytest.raises(ValueError, match="temperature must be positive"):
        dataclasses.replace(defaults, temperature=0.0)
