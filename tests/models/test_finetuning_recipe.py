"""The fine-tuning recipe: settings that follow the encoder's size and the task, and overrides that win."""

import dataclasses

import pytest

from electra_tf.models import finetuning_recipe
from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.tasks import registry
from electra_tf.training.finetune import FinetuningConfig


@pytest.mark.parametrize(
    "hidden_size, size",
    [
        (64, "small"),
        (256, "small"),
        (511, "small"),
        (512, "base"),
        (768, "base"),
        (1023, "base"),
        (1024, "large"),
        (2048, "large"),
    ],
)
def test_size_follows_hidden_size(hidden_size, size):
    assert finetuning_recipe.infer_model_size(EncoderConfig(hidden_size=hidden_size, num_heads=1)) == size


@pytest.mark.parametrize(
    "size, learning_rate, decay", [("small", 3e-4, 0.8), ("base", 1e-4, 0.8), ("large", 5e-5, 0.9)]
)
def test_size_sets_rate_and_layerwise_decay(size, learning_rate, decay):
    recipe = finetuning_recipe.recipe_for(size, registry.get("cola"))
    assert (recipe.learning_rate, recipe.layerwise_decay) == (learning_rate, decay)
    # The rest is the same for every size: google-research/electra's configure_finetuning.py and optimization.py.
    assert dataclasses.asdict(recipe) | {"model_size": None, "learning_rate": None, "layerwise_decay": None} == {
        "model_size": None,
        "learning_rate": None,
        "layerwise_decay": None,
        "layerwise_rule": "released",
        "weight_decay": 0.01,
        "warmup_fraction": 0.1,
        "epochs": 3,
        "batch_size": 32,
        "clip_norm": 1.0,
        "bias_correction": False,
        "double_unordered": False,
    }


@pytest.mark.parametrize(
    "task, epochs, doubled",
    [
        ("rte", 10, False),
        ("sts-b", 10, True),
        ("mrpc", 3, True),
        ("sst-2", 3, False),
        ("mnli", 3, False),
        ("qqp", 3, False),
    ],
)
def test_task_sets_epochs_and_doubling(task, epochs, doubled):
    recipe = finetuning_recipe.recipe_for("base", registry.get(task))
    assert (recipe.epochs, recipe.double_unordered) == (epochs, doubled)
    assert finetuning_recipe.epochs_for_task(task) == epochs


def test_overrides_win_and_are_named():
    small = EncoderConfig(hidden_size=256)
    recipe, sources = finetuning_recipe.resolve(
        FinetuningConfig(epochs=2, layerwise_rule="corrected", weight_decay=0.0).recipe_overrides(),
        small,
        registry.get("rte"),
    )
    assert (recipe.model_size, recipe.learning_rate, recipe.epochs, recipe.layerwise_rule, recipe.weight_decay) == (
        "small",
        3e-4,
        2,
        "corrected",
        0.0,
    )
    assert sources == {
        "model_size": "encoder",
        "learning_rate": "recipe",
        "layerwise_decay": "recipe",
        "layerwise_rule": "override",
        "weight_decay": "override",
        "warmup_fraction": "recipe",
        "epochs": "override",
        "batch_size": "recipe",
        "clip_norm": "recipe",
        "bias_correction": "recipe",
        "double_unordered": "recipe",
    }
    assert "learning_rate=0.0003 (recipe)" in finetuning_recipe.describe(recipe, sources)
    # An explicit size replaces the inferred one, and with it the size's defaults.
    large, sources = finetuning_recipe.resolve({"model_size": "large"}, small, registry.get("rte"))
    assert (large.learning_rate, large.layerwise_decay, sources["model_size"]) == (5e-5, 0.9, "override")
    # An explicit False is an override too, not "unset".
    unpaired, _ = finetuning_recipe.resolve({"double_unordered": False}, small, registry.get("mrpc"))
    assert unpaired.double_unordered is False


def test_bad_settings_are_named():
    small = EncoderConfig(hidden_size=256)
    with pytest.raises(ValueError, match="double_unordered=True .* rte is not one. Leave double_unordered unset"):
        finetuning_recipe.resolve({"double_unordered": True}, small, registry.get("rte"))
    with pytest.raises(
        ValueError, match="model_size must be one of \\('small', 'base', 'large'\\), but received model_size='tiny'"
    ):
        finetuning_recipe.resolve({"model_size": "tiny"}, small)
    with pytest.raises(ValueError, match="Unknown fine-tuning recipe setting\\(s\\) \\['lr'\\]"):
        finetuning_recipe.resolve({"lr": 1.0}, small)
    with pytest.raises(ValueError, match="layerwise_rule must be one of"):
        FinetuningConfig(layerwise_rule="fixed")
    with pytest.raises(ValueError, match="clip_norm must be non-negative"):
        FinetuningConfig(clip_norm=-1.0)


def test_config_leaves_recipe_settings_unset():
    overrides = FinetuningConfig().recipe_overrides()
    assert set(overrides) == set(finetuning_recipe.FIELDS) and all(value is None for value in overrides.values())
