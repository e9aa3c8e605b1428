"""How our variables correspond to HF transformers' and Google's original ELECTRA checkpoints: one table, both ways.

Each row is (our path inside an `ElectraEncoder` or head, HF name, Google TF1 name, kind). `{i}` is a layer index.

| ours (in an encoder) | HF (`electra.` prefix) | Google TF1 (`electra/` or `generator/` scope) | kind |
|---|---|---|---|
| embeddings/token_embedding/embeddings | embeddings.word_embeddings.weight | embeddings/word_embeddings | copy |
| embeddings/position_embedding/embeddings | embeddings.position_embeddings.weight | embeddings/position_embeddings | copy |
| embeddings/segment_embedding/embeddings | embeddings.token_type_embeddings.weight | embeddings/token_type_embeddings | copy |
| embeddings/embeddings_layer_norm/{gamma,beta} | embeddings.LayerNorm.{weight,bias} | embeddings/LayerNorm/{gamma,beta} | copy |
| embeddings_projection/{kernel,bias} | embeddings_project.{weight,bias} | embeddings_project/{kernel,bias} | dense |
| transformer_layer_{i}/self_attention_layer/{query,key,value}/kernel | encoder.layer.{i}.attention.self.{query,key,value}.weight | encoder/layer_{i}/attention/self/{query,key,value}/kernel | dense |
| ... /attention_output/kernel | encoder.layer.{i}.attention.output.dense.weight | encoder/layer_{i}/attention/output/dense/kernel | dense |
| transformer_layer_{i}/self_attention_layer_norm | encoder.layer.{i}.attention.output.LayerNorm | encoder/layer_{i}/attention/output/LayerNorm | copy |
| transformer_layer_{i}/feedforward_intermediate_dense | encoder.layer.{i}.intermediate.dense | encoder/layer_{i}/intermediate/dense | dense |
| transformer_layer_{i}/feedforward_output_dense | encoder.layer.{i}.output.dense | encoder/layer_{i}/output/dense | dense |
| transformer_layer_{i}/feedforward_layer_norm | encoder.layer.{i}.output.LayerNorm | encoder/layer_{i}/output/LayerNorm | copy |

Heads (no `electra.` prefix or scope):

| ours | HF | Google TF1 |
|---|---|---|
| discriminator_predictions/dense | discriminator_predictions.dense | discriminator_predictions/dense |
| discriminator_predictions/dense_prediction | discriminator_predictions.dense_prediction | discriminator_predictions/dense_1 |
| generator_predictions/dense | generator_predictions.dense | generator_predictions/dense |
| generator_predictions/layer_norm | generator_predictions.LayerNorm | generator_predictions/LayerNorm |
| generator_predictions/output_bias | generator_lm_head.bias | generator_predictions/output_bias |

Kinds: "copy" tensors have the same values in all three; "dense" kernels are (in, out) here and in TF1 but (out, in)
in PyTorch, so HF's are transposed. keras-hub's attention keeps q/k/v kernels as (hidden, heads, head_dim) and the
output kernel as (heads, head_dim, hidden): the 2-D kernels are reshaped to those shapes after the transpose.
The generator's output layer is the token embedding table itself (tied), so HF's `generator_lm_head.weight` has no
row here. In Google's checkpoints the generator shares `electra/embeddings/*` and has its own `generator/` encoder
and `generator/embeddings_project`.
"""

import dataclasses

import numpy as np

COPY = "copy"
DENSE = "dense"


@dataclasses.dataclass(frozen=True)
class Row:
    ours: str
    hf: str
    google: str
    kind: str


def _pair(ours, hf, google, kind):
    """Kernel/bias or gamma/beta rows of one layer."""
    if kind == DENSE:
        return [
            Row(f"{ours}/kernel", f"{hf}.weight", f"{google}/kernel", DENSE),
            Row(f"{ours}/bias", f"{hf}.bias", f"{google}/bias", COPY),
        ]
    return [
        Row(f"{ours}/gamma", f"{hf}.weight", f"{google}/gamma", COPY),
        Row(f"{ours}/beta", f"{hf}.bias", f"{google}/beta", COPY),
    ]


EMBEDDING_ROWS = [
    Row(
        "embeddings/token_embedding/embeddings", "embeddings.word_embeddings.weight", "embeddings/word_embeddings", COPY
    ),
    Row(
        "embeddings/position_embedding/embeddings",
        "embeddings.position_embeddings.weight",
        "embeddings/position_embeddings",
        COPY,
    ),
    Row(
        "embeddings/segment_embedding/embeddings",
        "embeddings.token_type_embeddings.weight",
        "embeddings/token_type_embeddings",
        COPY,
    ),
    *_pair("embeddings/embeddings_layer_norm", "embeddings.LayerNorm", "embeddings/LayerNorm", COPY),
]
PROJECTION_ROWS = _pair("embeddings_projection", "embeddings_project", "embeddings_project", DENSE)
LAYER_ROWS = [
    *_pair("self_attention_layer/query", "attention.self.query", "attention/self/query", DENSE),
    *_pair("self_attention_layer/key", "attention.self.key", "attention/self/key", DENSE),
    *_pair("self_attention_layer/value", "attention.self.value", "attention/self/value", DENSE),
    *_pair("self_attention_layer/attention_output", "attention.output.dense", "attention/output/dense", DENSE),
    *_pair("self_attention_layer_norm", "attention.output.LayerNorm", "attention/output/LayerNorm", COPY),
    *_pair("feedforward_intermediate_dense", "intermediate.dense", "intermediate/dense", DENSE),
    *_pair("feedforward_output_dense", "output.dense", "output/dense", DENSE),
    *_pair("feedforward_layer_norm", "output.LayerNorm", "output/LayerNorm", COPY),
]
DISCRIMINATOR_HEAD_ROWS = [
    *_pair(
        "discriminator_predictions/dense", "discriminator_predictions.dense", "discriminator_predictions/dense", DENSE
    ),
    *_pair(
        "discriminator_predictions/dense_prediction",
        "discriminator_predictions.dense_prediction",
        "discriminator_predictions/dense_1",
        DENSE,
    ),
]
GENERATOR_HEAD_ROWS = [
    *_pair("generator_predictions/dense", "generator_predictions.dense", "generator_predictions/dense", DENSE),
    *_pair(
        "generator_predictions/layer_norm", "generator_predictions.LayerNorm", "generator_predictions/LayerNorm", COPY
    ),
    Row("generator_predictions/output_bias", "generator_lm_head.bias", "generator_predictions/output_bias", COPY),
]

# HF ElectraForQuestionAnswering's span head: one dense(2), start and end logits (no Google counterpart).
QA_HEAD_ROWS = _pair("qa_outputs", "qa_outputs", "", DENSE)
TAGGING_HEAD_ROWS = _pair("classifier", "classifier", "", DENSE)


def head_rows(kind: str) -> list:
    """The rows of a pre-training head: "discriminator" or "generator" (`models.saving.HEAD_KINDS`)."""
    return DISCRIMINATOR_HEAD_ROWS if kind == "discriminator" else GENERATOR_HEAD_ROWS


def encoder_rows(num_layers: int, has_projection: bool) -> list:
    """Rows of one encoder, with layer indices filled in; HF and Google names are relative to the encoder's scope."""
    rows = list(EMBEDDING_ROWS) + (list(PROJECTION_ROWS) if has_projection else [])
    for i in range(num_layers):
        rows += [
            Row(f"transformer_layer_{i}/{r.ours}", f"encoder.layer.{i}.{r.hf}", f"encoder/layer_{i}/{r.google}", r.kind)
            for r in LAYER_ROWS
        ]
    return rows


def to_ours(value: np.ndarray, kind: str, shape: tuple, from_torch: bool) -> np.ndarray:
    """A source tensor in our layout: PyTorch (out, in) kernels are transposed, then all are reshaped to `shape`."""
    value = np.asarray(value)
    if kind == DENSE and from_torch:
        value = value.T
    if int(np.prod(value.shape)) != int(np.prod(shape)):
        raise ValueError(f"shape {tuple(value.shape)} cannot become {tuple(shape)}")
    return value.reshape(shape)


def from_ours(value: np.ndarray, row: Row, to_torch: bool) -> np.ndarray:
    """Our tensor in the source layouts: 2-D (in, out) kernels for TF1, (out, in) for PyTorch; 1-D biases."""
    value = np.asarray(value)
    if row.kind == DENSE:
        input_dims = 2 if row.ours.endswith("attention_output/kernel") else 1  # (heads, head_dim, hidden).
        value = value.reshape(int(np.prod(value.shape[:input_dims])), -1)
        return value.T if to_torch else value
    return value.reshape(-1) if row.ours.endswith("/bias") else value
