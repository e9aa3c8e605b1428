"""The two GELUs of the ELECTRA family, selectable by name through `hidden_act`.

- "gelu": the exact (erf) GELU, x * Phi(x). google-research/electra computes it (`modeling.gelu`, in the encoder
  and in both pre-training heads), and so does HF transformers (`hidden_act="gelu"`, its default). The default here.
- "gelu_tanh": the tanh approximation, which keras-hub's `ElectraBackbone` hard-codes. It differs from the exact
  GELU by at most ~5e-4 (near x = +-2.7); kept so that encoders exportable to keras-hub can be trained.
"""

import math

import keras
from keras import ops

ACTIVATIONS = ("gelu", "gelu_tanh")


@keras.saving.register_keras_serializable(package="electra_tf")
def gelu_tanh(x):
    return keras.activations.gelu(x, approximate=True)


@keras.saving.register_keras_serializable(package="electra_tf")
def gelu_exact(x):
    """x * Phi(x), in google-research/electra's formula (`modeling.gelu`): x * 0.5 * (1 + erf(x / sqrt(2))).

    Keras's and TensorFlow's exact GELU compute 0.5 * x * erfc(-x / sqrt(2)), equal in exact arithmetic (in float32
    they differ by at most about 1e-6). TensorFlow's `Erfc` kernel is slow in bfloat16: forward and backward on a
    (4096, 1024) tensor took 20.8 ms against 9.8 ms for this formula, and 10.5 against 7.6 ms in float32
    (docs/performance.md, 2026-12-01).
    """
    with keras.name_scope("gelu"):  # The scope `electra-benchmark --profile` counts as GELU.
        return x * 0.5 * (1.0 + ops.erf(x / math.sqrt(2.0)))


def get(name: str):
    """Returns the activation function called `name` ("gelu" or "gelu_tanh")."""
    if name == "gelu":
        return gelu_exact
    if name == "gelu_tanh":
        return gelu_tanh
    raise ValueError(f"hidden_act must be one of {ACTIVATIONS}, but received hidden_act={name!r}.")
