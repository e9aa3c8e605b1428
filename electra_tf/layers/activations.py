"""The two GELUs of the ELECTRA family, selectable by name through `hidden_act`.

- "gelu": the exact (erf) GELU, x * Phi(x). google-research/electra computes it (`modeling.gelu`, in the encoder
  and in both pre-training heads), and so does HF transformers (`hidden_act="gelu"`, its default). The default here.
- "gelu_tanh": the tanh approximation, which keras-hub's `ElectraBackbone` hard-codes. It differs from the exact
  GELU by at most ~5e-4 (near x = +-2.7); kept so that encoders exportable to keras-hub can be trained.
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
