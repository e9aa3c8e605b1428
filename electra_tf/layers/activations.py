"""The two GELUs of the ELECTRA family, selectable by name through `hidden_act`.

- "gelu": exact (erf) GELU, as HF transformers computes it.
- "gelu_tanh": the tanh approximation used by google-research/electra and keras-hub. They differ by up to ~5e-4.
"""

import keras

ACTIVATIONS = ("gelu", "gelu_tanh")


@keras.saving.register_keras_serializable(package="electra_tf")
def gelu_tanh(x):
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="electra_tf")
def gelu_exact(x):
    return keras.activations.gelu(x, approximate=False)


def get(name: str):
    """Returns the activation function called `name` ("gelu" or "gelu_tanh")."""
    if name == "gelu":
        return gelu_exact
    if name == "gelu_tanh":
        return gelu_tanh
    raise ValueError(f"hidden_act must be one of {ACTIVATIONS}, but received hidden_act={name!r}.")
