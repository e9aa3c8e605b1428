"""The classifier's forward pass for serving: the same weights and outputs as `ElectraClassifier`, in fewer, larger ops.

The Keras model is written for training. Its 3-D `Dense` layers go through `tensordot`, with a reshape around every
matmul. Attention runs query, key and value as three einsums with a transpose each. The padding mask is rebuilt in
every layer, and every layer runs on every position although the head reads only `[CLS]`. At batch 1 on a CPU, op
count and small-matmul overhead are a large part of the latency. This module keeps the weights as 2-D matrices and:

- cuts the batch to its longest real sequence (padding is at the end, masked, and never read);
- runs query, key and value as one batched matmul whose kernel is already split into heads (no transposes: the
  1/sqrt(head_dim) scale is folded into the query's weights), and the output projection per head, summed;
- builds the additive padding mask once;
- writes bias-add, GELU and the residual add as the `tf.nn` ops that TensorFlow's oneDNN remapper fuses into the
  matmul (`_MklNativeFusedMatMul` with `BiasAdd`, `GeluApproximate`/`GeluExact` or `Add`);
- stores the kernels as graph constants, which lets oneDNN keep them in its packed layout between calls
  (`is_filter_const`), unless they exceed `MAX_CONSTANT_BYTES` (a GraphDef must stay under 2 GB);
- runs the last layer's query, attention output and feed-forward block at `[CLS]` only, the one row the head reads.

It also exports the Keras model's variables as plain `tf.Variable`s. TF Serving restores a SavedModel through its
TF1 saver, which does not find the variables of a Keras 3 model tracked inside a `tf.Module` (keras-team/keras#20095):
the export would load, then fail every request with "Could not find variable".

`compute_dtype="bfloat16"` runs the matmuls, attention and residual stream in bfloat16 (layer norms, the embeddings
and the head stay float32), for CPUs with AVX512-BF16 or AMX; probabilities move by about 1e-3 (ELECTRA-Small).

Only core TensorFlow ops, no XLA: what stock TF Serving runs on a CPU. `tests/export/test_inference_graph.py` checks
the outputs against the Keras model: padded, pair, regression and two-layer inputs.
"""

import math

import numpy as np
import tensorflow as tf
from absl import logging

from electra_tf.interop import name_mapping
from electra_tf.models import saving

MAX_CONSTANT_BYTES = 1 << 30
COMPUTE_DTYPES = ("float32", "bfloat16")
_NEGATIVE = -1e9  # Added to the attention scores of padding keys, as Keras's masked softmax does.


def _encoder_weights(encoder) -> dict:
    """{path in the name-mapping table: float32 array in TF1's layout, (in, out) kernels and 1-D biases}."""
    config = encoder.encoder_config
    variables = saving.variables_by_path(encoder)
    prefix = encoder.name + "/"
    variables = {path[len(prefix) :] if path.startswith(prefix) else path: v for path, v in variables.items()}
    rows = name_mapping.encoder_rows(config.num_layers, encoder.embeddings_projection is not None)
    return {
        row.ours: name_mapping.from_ours(variables[row.ours].numpy(), row, to_torch=False).astype(np.float32)
        for row in rows
    }


def _layer_arrays(weights: dict, index: int, num_heads: int, last: bool) -> dict:
    """One transformer layer's arrays, with the attention weights split into heads.

    `qkv_kernel` is `(3, 1, heads, hidden, head_dim)`: one batched matmul of the `(1, batch, 1, length, hidden)`
    input gives query, key and value already split into heads, `(3, batch, heads, length, head_dim)`, with no
    transpose. The query's part carries the 1/sqrt(head_dim) scale. `output_kernel` is `(heads, head_dim, hidden)`:
    each head's context goes through its slice, and the heads are summed. The last layer's query (at `[CLS]`) and
    key-value kernels are kept apart as `query_kernel` and `key_value_kernel` (`last`: the query runs at `[CLS]`
    only).
    """

    def get(name):
        return weights[f"transformer_layer_{index}/{name}"]

    attention = "self_attention_layer"
    hidden = get(f"{attention}/query/kernel").shape[0]
    head_dim = hidden // num_heads
    scale = {"query": 1.0 / math.sqrt(head_dim), "key": 1.0, "value": 1.0}

    def split(names):
        kernel = np.stack([get(f"{attention}/{n}/kernel") * scale[n] for n in names])  # (n, hidden, hidden)
        bias = np.stack([get(f"{attention}/{n}/bias") * scale[n] for n in names])  # (n, hidden)
        kernel = kernel.reshape(len(names), 1, hidden, num_heads, head_dim).transpose(0, 1, 3, 2, 4)
        return kernel, bias.reshape(len(names), 1, num_heads, 1, head_dim)

    arrays = {
        "output_kernel": get(f"{attention}/attention_output/kernel").reshape(num_heads, head_dim, hidden),
        "output_bias": get(f"{attention}/attention_output/bias"),
        "attention_norm_gamma": get("self_attention_layer_norm/gamma"),
        "attention_norm_beta": get("self_attention_layer_norm/beta"),
        "intermediate_kernel": get("feedforward_intermediate_dense/kernel"),
        "intermediate_bias": get("feedforward_intermediate_dense/bias"),
        "ffn_output_kernel": get("feedforward_output_dense/kernel"),
        "ffn_output_bias": get("feedforward_output_dense/bias"),
        "ffn_norm_gamma": get("feedforward_layer_norm/gamma"),
        "ffn_norm_beta": get("feedforward_layer_norm/beta"),
    }
    if last:
        arrays["query_kernel"], arrays["query_bias"] = split(("query",))
        arrays["key_value_kernel"], arrays["key_value_bias"] = split(("key", "value"))
    else:
        arrays["qkv_kernel"], arrays["qkv_bias"] = split(("query", "key", "value"))
    return arrays


class InferenceEncoder(tf.Module):
    """An `ElectraEncoder`'s inference forward pass, as a `tf.Module` that owns copies of its weights. Task heads
    (classification here; span and tagging heads alike) sit on top of it, so there is one copy of the encoder.

    Args:
        encoder: `ElectraEncoder`. Read once; later changes to it are not seen.
        compute_dtype: "float32" or "bfloat16". Defaults to "float32".
        constant_kernels: bool or None. Store the kernels as graph constants; None does so when they fit in
            `MAX_CONSTANT_BYTES`. Defaults to None.
        first_token_only: bool. Run the last layer at `[CLS]` only and return its `(batch, hidden)` output, for heads
            that read nothing else (sentence classification). Defaults to False: every position.

    Call with int32 `token_ids`, `segment_ids` and `padding_mask`, each `(batch, seq_len)`, with the padding at the
    end, as the preprocessors pack them. Returns float32 hidden states: `(batch, hidden)` at `[CLS]` with
    `first_token_only`, else `(batch, length, hidden)`, where `length` is the batch's longest real sequence (the
    padding beyond it is cut).
    """

    def __init__(self, encoder, compute_dtype: str = "float32", constant_kernels=None, first_token_only: bool = False):
        super().__init__(name="inference_encoder")
        if compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype must be one of {COMPUTE_DTYPES}, but received {compute_dtype!r}.")
        config = encoder.encoder_config
        self.num_heads = config.num_heads
        self.hidden_size = config.hidden_size
        self.epsilon = config.layer_norm_epsilon
        self.approximate_gelu = config.hidden_act == "gelu_tanh"
        self.first_token_only = first_token_only
        self.compute_dtype = tf.as_dtype(compute_dtype)
        weights = _encoder_weights(encoder)
        layers = [
            _layer_arrays(weights, i, config.num_heads, last=first_token_only and i == config.num_layers - 1)
            for i in range(config.num_layers)
        ]
        if constant_kernels is None:
            kernel_bytes = sum(a.nbytes for layer in layers for name, a in layer.items() if name.endswith("kernel"))
            constant_kernels = kernel_bytes <= MAX_CONSTANT_BYTES
            if not constant_kernels:
                logging.info("Kernels are %.2f GB: stored as variables, not graph constants.", kernel_bytes / 1e9)
        self.constant_kernels = constant_kernels

        def matmul_weight(value, name):
            """Kernels and biases of the matmuls, in the compute dtype; kernels as constants if chosen."""
            if constant_kernels and name.endswith("kernel"):
                return tf.constant(value, self.compute_dtype, name=name)
            return plain_variable(value, name, self.compute_dtype)

        self.token_table = plain_variable(weights["embeddings/token_embedding/embeddings"], "token_table")
        self.position_table = plain_variable(weights["embeddings/position_embedding/embeddings"], "position_table")
        self.segment_table = plain_variable(weights["embeddings/segment_embedding/embeddings"], "segment_table")
        self.embedding_norm = [
            plain_variable(weights[f"embeddings/embeddings_layer_norm/{n}"], f"embedding_norm_{n}")
            for n in ("gamma", "beta")
        ]
        self.projection = None
        if encoder.embeddings_projection is not None:
            self.projection = [
                matmul_weight(weights[f"embeddings_projection/{n}"], f"projection_{n}") for n in ("kernel", "bias")
            ]
        self.layers = []
        for i, arrays in enumerate(layers):
            make = {name: plain_variable if "_norm_" in name else matmul_weight for name in arrays}
            self.layers.append({name: make[name](value, f"layer_{i}_{name}") for name, value in arrays.items()})

    def _layer_norm(self, x, gamma, beta):
        """Layer norm in float32, returned in the compute dtype."""
        x = tf.cast(x, tf.float32)
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)
        centered = x - mean
        variance = tf.reduce_mean(tf.square(centered), axis=-1, keepdims=True)
        return tf.cast(centered * (tf.math.rsqrt(variance + self.epsilon) * gamma) + beta, self.compute_dtype)

    @staticmethod
    def _dense(x, kernel, bias, residual=None):
        y = tf.nn.bias_add(tf.matmul(x, kernel), bias)
        return y if residual is None else y + residual

    def _heads(self, x, kernel, bias, batch):
        """(batch * length, hidden) -> (n, batch, heads, length, head_dim) for the n projections in `kernel`."""
        return tf.matmul(tf.reshape(x, [1, batch, 1, -1, self.hidden_size]), kernel) + bias

    def _attention(self, query, key, value, mask_bias, layer, residual):
        """Dot-product attention (the scale is in the query's weights), the output projection summed over heads,
        bias and residual; returns (batch * query_length, hidden)."""
        scores = tf.matmul(query, key, transpose_b=True) + mask_bias
        context = tf.matmul(tf.nn.softmax(scores, axis=-1), value)  # (batch, heads, length, head_dim)
        projected = tf.reduce_sum(tf.matmul(context, layer["output_kernel"]), axis=1)  # (batch, length, hidden)
        return tf.nn.bias_add(tf.reshape(projected, [-1, self.hidden_size]), layer["output_bias"]) + residual

    def _feedforward(self, x, layer):
        """The attention block's layer norm, then the feed-forward block with its residual and layer norm."""
        x = self._layer_norm(x, layer["attention_norm_gamma"], layer["attention_norm_beta"])
        hidden = tf.nn.gelu(
            self._dense(x, layer["intermediate_kernel"], layer["intermediate_bias"]), approximate=self.approximate_gelu
        )
        x = self._dense(hidden, layer["ffn_output_kernel"], layer["ffn_output_bias"], residual=x)
        return self._layer_norm(x, layer["ffn_norm_gamma"], layer["ffn_norm_beta"])

    def _embed(self, token_ids, segment_ids, length):
        """(batch * length, hidden) embeddings, projected, in the compute dtype."""
        x = (
            tf.gather(self.token_table, token_ids)
            + tf.gather(self.segment_table, segment_ids)
            + self.position_table[:length]
        )
        x = self._layer_norm(tf.reshape(x, [-1, self.token_table.shape[1]]), *self.embedding_norm)
        return x if self.projection is None else self._dense(x, *self.projection)

    def __call__(self, token_ids, segment_ids, padding_mask):
        padding_mask = tf.cast(padding_mask, tf.int32)
        length = tf.maximum(tf.reduce_max(tf.reduce_sum(padding_mask, axis=1)), 1)
        token_ids, segment_ids, padding_mask = (t[:, :length] for t in (token_ids, segment_ids, padding_mask))
        batch = tf.shape(token_ids)[0]
        x = self._embed(token_ids, segment_ids, length)
        mask_bias = tf.cast((1.0 - tf.cast(padding_mask, tf.float32)) * _NEGATIVE, self.compute_dtype)
        mask_bias = tf.reshape(mask_bias, [batch, 1, 1, length])
        full_layers = self.layers[:-1] if self.first_token_only else self.layers
        for layer in full_layers:
            query, key, value = tf.unstack(self._heads(x, layer["qkv_kernel"], layer["qkv_bias"], batch))
            x = self._feedforward(self._attention(query, key, value, mask_bias, layer, residual=x), layer)
        if not self.first_token_only:
            return tf.cast(tf.reshape(x, [batch, length, self.hidden_size]), tf.float32)
        # The last layer: keys and values at every position, everything else at [CLS] only.
        layer = self.layers[-1]
        key, value = tf.unstack(self._heads(x, layer["key_value_kernel"], layer["key_value_bias"], batch))
        first = tf.reshape(x, [batch, -1, self.hidden_size])[:, 0, :]
        query = self._heads(first, layer["query_kernel"], layer["query_bias"], batch)[0]
        first = self._attention(query, key, value, mask_bias, layer, residual=first)
        return tf.cast(self._feedforward(first, layer), tf.float32)


def plain_variable(value, name, dtype=tf.float32) -> tf.Variable:
    """A non-trainable `tf.Variable` holding `value` (what TF Serving's TF1 saver restores)."""
    return tf.Variable(tf.constant(value, dtype), trainable=False, name=name)


class InferenceClassifier(tf.Module):
    """`ElectraClassifier`'s inference forward pass: an `InferenceEncoder` read at `[CLS]`, and the dense head.

    Args:
        classifier: `ElectraClassifier`. Read once; later changes to it are not seen.
        compute_dtype: "float32" or "bfloat16". Defaults to "float32".
        constant_kernels: bool or None. See `InferenceEncoder`. Defaults to None.

    Call with int32 `token_ids`, `segment_ids` and `padding_mask`, each `(batch, seq_len)`, with the padding at the
    end, as `ClassifierPreprocessor` packs them. Returns the classifier's outputs in float32: logits
    `(batch, labels)`, or scores `(batch,)` for regression.
    """

    def __init__(self, classifier, compute_dtype: str = "float32", constant_kernels=None):
        super().__init__(name="inference_classifier")
        self.encoder = InferenceEncoder(classifier.encoder, compute_dtype, constant_kernels, first_token_only=True)
        self.regression = classifier.regression
        head = classifier.get_layer("head")
        scale = classifier.target_scale if self.regression else 1.0  # Folded in: the model outputs scale x dense.
        self.head = [
            plain_variable(head.kernel.numpy() * scale, "head_kernel"),
            plain_variable(head.bias.numpy() * scale, "head_bias"),
        ]

    @property
    def constant_kernels(self) -> bool:
        return self.encoder.constant_kernels

    def __call__(self, token_ids, segment_ids, padding_mask):
        first = self.encoder(token_ids, segment_ids, padding_mask)
        outputs = tf.nn.bias_add(tf.matmul(first, self.head[0]), self.head[1])
        return outputs[:, 0] if self.regression else outputs
