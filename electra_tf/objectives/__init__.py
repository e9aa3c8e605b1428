"""Pre-training objectives, each one file: ELECTRA, the BERT MLM baseline, and the paper's Table 5 ablations. Each
builds the heads and metrics it needs and runs its forward pass and loss (see `objectives.base`)."""

from electra_tf.objectives.all_tokens_mlm import AllTokensMLM
from electra_tf.objectives.base import HeadParts, Objective, ObjectiveConfig
from electra_tf.objectives.electra import Electra
from electra_tf.objectives.electra_15 import Electra15
from electra_tf.objectives.mlm import MaskedLM
from electra_tf.objectives.replace_mlm import ReplaceMLM

OBJECTIVES = {
    "electra": Electra,
    "mlm": MaskedLM,
    "electra_15": Electra15,
    "replace_mlm": ReplaceMLM,
    "all_tokens_mlm": AllTokensMLM,
}


def get(name: str) -> type:
    """Returns the objective class called `name`."""
    if name not in OBJECTIVES:
        raise ValueError(f"objective must be one of {sorted(OBJECTIVES)}, but received objective={name!r}.")
    return OBJECTIVES[name]


__all__ = ["OBJECTIVES", "HeadParts", "Objective", "ObjectiveConfig", "get"]
