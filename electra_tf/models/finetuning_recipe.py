"""The fine-tuning recipe: hyper-parameters that follow the pre-trained model's size and the task.

google-research/electra fine-tunes every GLUE task with AdamW (no bias correction, weight decay 0.01), the
released layer-wise decay rule, a 10% linear warmup within a linear decay to 0, global-norm clipping at 1.0, batch
32, and 3 epochs (10 for RTE and STS-B); a paraphrase or similarity task (MRPC, STS-B) trains on both orders of each
training pair. SQuAD trains for 2 epochs. The learning rate and layer-wise decay depend on the model's size:

| size | learning rate | layer-wise decay |
|---|---|---|
| small | 3e-4 | 0.8 |
| base | 1e-4 | 0.8 |
| large | 5e-5 | 0.9 |

The rates are the ELECTRA paper's (Table 7); google-research/electra's `configure_finetuning.py` sets 1e-4 and 0.8
unless `model_size` is "large" (5e-5, 0.9), so it does not raise Small's rate to 3e-4 itself. The weight decay is
the code's 0.01; the paper's Table 7 lists 0.

The size is read from the encoder's width: `hidden_size` below 512 is "small" (ELECTRA-Small: 256), below 1024
"base" (768), and "large" (1024) from there on. A `model_size` override replaces the inference.

    recipe, sources = resolve({"learning_rate": None, "epochs": 2}, encoder_config, task)
    recipe.learning_rate  # 3e-4 for a small encoder;  sources["learning_rate"] == "recipe"
    recipe.epochs         # 2;                         sources["epochs"] == "override"
"""

import dataclasses
from typing import Optional

from electra_tf.networks.encoder_config import EncoderConfig
from electra_tf.optimizers.layerwise_decay import LAYERWISE_RULES

MODEL_SIZES = ("small", "base", "large")
# hidden_size below which an encoder counts as each size; "large" from 1024 on.
_SIZE_LIMITS = (("small", 512), ("base", 1024))
_LEARNING_RATES = {"small": 3e-4, "base": 1e-4, "large": 5e-5}
_LAYERWISE_DECAY = {"small": 0.8, "base": 0.8, "large": 0.9}
# Small data sets that google-research/electra trains for 10 epochs (its names "rte" and "sts").
LONG_TASKS = ("rte", "sts-b")
LONG_EPOCHS = 10
EPOCHS = 3
QA_EPOCHS = 2  # configure_finetuning.py: 2 epochs when the task's name holds "squad" or "qa" (the paper's Table 7).


@dataclasses.dataclass(frozen=True)
class FinetuningRecipe:
    """Fine-tuning settings resolved for one model size and task.

    Args:
        model_size: str. "small", "base" or "large".
        learning_rate: float. Peak rate of the task head.
        layerwise_decay: float. Layer-wise learning-rate decay.
        layerwise_rule: str. "released" or "corrected" (see `layerwise_decay`).
        weight_decay: float. Decoupled weight decay.
        warmup_fraction: float. Share of the steps in warmup.
        epochs: int. Passes over the (doubled, for `double_unordered`) training set.
        batch_size: int. Training batch size.
        clip_norm: float. Global-norm gradient clipping; 0 disables it.
        bias_correction: bool. Whether Adam's moments are bias-corrected.
        double_unordered: bool. Train on both orders of each training pair.
    """

    model_size: str
    learning_rate: float
    layerwise_decay: float
    layerwise_rule: str
    weight_decay: float
    warmup_fraction: float
    epochs: int
    batch_size: int
    clip_norm: float
    bias_correction: bool
    double_unordered: bool


FIELDS = tuple(field.name for field in dataclasses.fields(FinetuningRecipe))


def infer_model_size(encoder_config: EncoderConfig) -> str:
    """ "small" for `hidden_size` < 512, "base" for < 1024, else "large"."""
    for size, limit in _SIZE_LIMITS:
        if encoder_config.hidden_size < limit:
            return size
    return "large"


def epochs_for_task(task_name: Optional[str]) -> int:
    """10 for RTE and STS-B, 2 for question answering (a name with "squad" or "qa"), 3 for the other tasks (and
    when the task is unknown)."""
    if task_name in LONG_TASKS:
        return LONG_EPOCHS
    if task_name and ("squad" in task_name or "qa" in task_name):
        return QA_EPOCHS
    return EPOCHS


def recipe_for(model_size: str, task=None) -> FinetuningRecipe:
    """google-research/electra's settings for a model size and, optionally, a `Task`.

    Args:
        model_size: str. "small", "base" or "large".
        task: `Task` or None. Sets the epochs and whether pairs are doubled; None gives 3 epochs and no doubling.
    """
    _check_model_size(model_size)
    return FinetuningRecipe(
        model_size=model_size,
        learning_rate=_LEARNING_RATES[model_size],
        layerwise_decay=_LAYERWISE_DECAY[model_size],
        layerwise_rule="released",
        weight_decay=0.01,
        warmup_fraction=0.1,
        epochs=epochs_for_task(task.name if task is not None else None),
        batch_size=32,
        clip_norm=1.0,
        bias_correction=False,
        double_unordered=bool(task is not None and task.unordered),
    )


def resolve(overrides: dict, encoder_config: EncoderConfig, task=None) -> tuple:
    """The recipe for `encoder_config` and `task`, with the settings of `overrides` that are not None in its place.

    Args:
        overrides: dict {recipe field: value or None}. None takes the recipe's value. A "model_size" replaces the
            size inferred from the encoder (and so the size-dependent defaults).
        encoder_config: `EncoderConfig` of the pre-trained encoder.
        task: `Task` or None.

    Returns:
        (`FinetuningRecipe`, {field: "recipe", "override", or for model_size "encoder"}).
    """
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ValueError(f"Unknown fine-tuning recipe setting(s) {unknown}; the recipe sets {list(FIELDS)}.")
    chosen = {name: value for name, value in overrides.items() if value is not None}
    model_size = chosen.get("model_size") or infer_model_size(encoder_config)
    defaults = recipe_for(model_size, task)
    recipe = dataclasses.replace(defaults, **chosen)
    if recipe.layerwise_rule not in LAYERWISE_RULES:
        raise ValueError(
            f"layerwise_rule must be one of {LAYERWISE_RULES}, but received layerwise_rule={recipe.layerwise_rule!r}."
        )
    if recipe.double_unordered and not (task is not None and task.unordered):
        name = task.name if task is not None else "this task"
        raise ValueError(
            f"double_unordered=True trains on both orders of each pair, which suits only tasks whose pair order "
            f'carries no meaning (mrpc, sts-b, or a task file with "unordered": true); {name} is not one. '
            "Leave double_unordered unset."
        )
    sources = {name: "override" if name in chosen else "recipe" for name in FIELDS}
    if "model_size" not in chosen:
        sources["model_size"] = "encoder"
    return recipe, sources


def describe(recipe: FinetuningRecipe, sources: dict) -> str:
    """One line: every setting with where it came from, e.g. "learning_rate=0.0003 (recipe)"."""
    return ", ".join(f"{name}={getattr(recipe, name)} ({sources[name]})" for name in FIELDS)


def _check_model_size(model_size: str) -> None:
    if model_size not in MODEL_SIZES:
        raise ValueError(f"model_size must be one of {MODEL_SIZES}, but received model_size={model_size!r}.")
