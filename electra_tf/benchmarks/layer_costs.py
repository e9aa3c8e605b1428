"""What one transformer layer's pieces cost, each timed alone, against the matmul ceiling of the same process.

A step profile says which op families take the time; it cannot say whether an op is slow or only big. This suite
times each piece of one `TransformerEncoder` layer (`layers/transformer_encoder.py`) standalone, at the shapes a
step or a serving call gives it, forward and backward (`training=True`) or forward only (`training=False`):

- the layer's dense matmuls (query, key, value, output, the two feed-forward kernels) and its attention matmuls
  (scores and the weighted sum), each as `tf.matmul` on random tensors; their achieved FLOP/s over the 4096²
  matmul's is how close matrices of this size can come to the ceiling;
- the elementwise pieces, each with the function the layer runs: the activation of `hidden_act`, the two layer
  norms (with their scale and offset gradients), the masked softmax (Keras's `Softmax` layer with the boolean
  `(batch, 1, 1, key)` mask `SelfAttention` passes) and, in training, the three `packed_dropout`s;
- the whole layer, for what the pieces do not cover: bias and residual adds, the query scaling and the einsums'
  transposes, the gaps between ops.

Forward only (a serving call's shape), the matmul pieces' kernels are function inputs and the whole layer's are
variables, as in the Keras model; the exported inference graph (`export/inference_graph.py`) holds them as
constants, which oneDNN keeps packed, so its matmuls run faster.

Every piece is timed in alternating rounds (the median of its rounds), so a burst of load on a shared machine hits
all pieces alike, and net of the fixed cost of calling a `tf.function` (timed as a piece of its own). From the
pieces it derives the ceiling a layer's MFU can reach: the matmuls' FLOPs over the time of the matmuls plus the
elementwise pieces.
"""

import statistics
import time
from typing import Optional

import keras
import tensorflow as tf

from electra_tf.benchmarks.pretraining_benchmarks import matmul_flops_per_second
from electra_tf.layers import activations
from electra_tf.layers.packed_dropout import packed_dropout
from electra_tf.layers.transformer_encoder import TransformerEncoder
from electra_tf.networks.encoder_config import EncoderConfig


def layer_matmul_shapes(config: EncoderConfig, batch_size: int, seq_len: int) -> list:
    """(name, copies, batch, m, k, n) for every forward matmul of one layer: `copies` products of (m, k) x (k, n)
    matrices, batched over `batch` (None: plain 2-D products, as the dense layers run them)."""
    tokens, hidden, heads = batch_size * seq_len, config.hidden_size, config.num_heads
    head_dim = hidden // heads
    return [
        ("query, key, value", 3, None, tokens, hidden, hidden),
        ("attention output", 1, None, tokens, hidden, hidden),
        ("feed-forward in", 1, None, tokens, hidden, config.intermediate_size),
        ("feed-forward out", 1, None, tokens, config.intermediate_size, hidden),
        ("attention scores", 1, batch_size * heads, seq_len, head_dim, seq_len),
        ("attention sum", 1, batch_size * heads, seq_len, seq_len, head_dim),
    ]


def shape_flops(shapes: list, training: bool) -> int:
    """FLOPs of the products of `shapes`; in training with the two backward products of each."""
    return sum(2 * copies * (batch or 1) * m * k * n for _, copies, batch, m, k, n in shapes) * (3 if training else 1)


def _scalar(tensors) -> tf.Tensor:
    """A scalar that needs every tensor of `tensors`, so that a timed call waits for all of them."""
    return tf.add_n([tf.reduce_sum(tf.cast(tf.reshape(t, [-1])[:1], tf.float32)) for t in tensors])


def _forward_and_backward(fn, inputs: list, training: bool, variables=()):
    """A `tf.function` of `fn(*inputs)` (a list of outputs) and, in training, of its gradient with respect to
    `inputs` and `variables`. The outputs' gradients are random tensors made here, outside the function, so that
    no constant folding can skip a multiply the real backward pass does."""
    output_gradients = [tf.random.normal(t.shape, dtype=t.dtype) for t in fn(*inputs)] if training else None

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = fn(*inputs)
        if not training:
            return _scalar(outputs)
        return _scalar(tape.gradient(outputs, list(inputs) + list(variables), output_gradients=output_gradients))

    return run


def matmul_piece(shapes: list, training: bool, dtype: str = "float32"):
    """The products of `shapes` (from `layer_matmul_shapes`) as one `tf.function`, on random operands. In training
    each product comes with the two of its backward pass, as TensorFlow's gradient of `MatMul` computes them."""
    products = []
    for _, copies, batch, m, k, n in shapes:
        lead = [] if batch is None else [batch]
        for _ in range(copies):
            x, w, dy = (tf.random.normal(lead + s, dtype=dtype) for s in ([m, k], [k, n], [m, n]))
            products.append((x, w, {}))
            if training:
                products += [(dy, w, {"transpose_b": True}), (x, dy, {"transpose_a": True})]
    return tf.function(lambda: _scalar([tf.matmul(a, b, **kwargs) for a, b, kwargs in products]))


def _policy(dtype: str) -> str:
    """The Keras dtype policy whose compute dtype is `dtype`, as the pre-training step runs it."""
    return {"bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}.get(dtype, dtype)


def _padding_mask(batch_size: int, seq_len: int) -> tf.Tensor:
    """True on real tokens; the last eighth of every sequence is padding. A variable, so no compare or select on it
    can be folded away."""
    return tf.Variable(tf.sequence_mask(tf.fill([batch_size], seq_len - seq_len // 8), seq_len), trainable=False)


def elementwise_pieces(config: EncoderConfig, batch_size: int, seq_len: int, training: bool, dtype: str) -> dict:
    """name -> `tf.function` of each elementwise piece of one layer, with the functions the layer runs."""
    tokens, hidden, heads = batch_size * seq_len, config.hidden_size, config.num_heads
    scores = [batch_size, heads, seq_len, seq_len]

    def normal(*shape):
        return tf.random.normal(shape, dtype=dtype)

    norms = [keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, dtype=_policy(dtype)) for _ in "ab"]
    for norm in norms:
        norm.build([tokens, hidden])
    softmax = keras.layers.Softmax(axis=(3,), dtype=_policy(dtype))
    # As `SelfAttention` passes it: boolean, (batch, 1, 1, key), broadcast over heads and queries. Read from the
    # variable inside the function, so that no compare or select on it can be folded away.
    mask = _padding_mask(batch_size, seq_len)
    pieces = {
        f"activation ({config.hidden_act})": (
            lambda x: [activations.get(config.hidden_act)(x)],
            [normal(tokens, config.intermediate_size)],
            (),
        ),
        "layer norms (2)": (
            lambda a, b: [norms[0](a), norms[1](b)],
            [normal(tokens, hidden), normal(tokens, hidden)],
            [v for norm in norms for v in norm.trainable_variables],
        ),
        "masked softmax": (lambda x: [softmax(x, mask=mask[:, None, None, :])], [normal(*scores)], ()),
    }
    if training and config.dropout > 0:
        seed = tf.Variable([1, 2], trainable=False)  # As the layer's seed generator holds it: not a constant.
        pieces["dropout (3)"] = (
            lambda *xs: [packed_dropout(x, config.dropout, seed) for x in xs],
            [normal(tokens, hidden), normal(tokens, hidden), normal(*scores)],
            (),
        )
    return {
        name: _forward_and_backward(fn, inputs, training, variables) for name, (fn, inputs, variables) in pieces.items()
    }


def whole_layer(config: EncoderConfig, batch_size: int, seq_len: int, training: bool, dtype: str):
    """A `tf.function` of one `TransformerEncoder` layer of `config` on inputs of its compute dtype (as every layer
    but the first receives them): forward, and in training backward to its input and its weights."""
    layer = TransformerEncoder(
        config.intermediate_size,
        config.num_heads,
        dropout=config.dropout,
        activation=activations.get(config.hidden_act),
        layer_norm_epsilon=config.layer_norm_epsilon,
        dtype=_policy(dtype),
    )
    inputs = tf.random.normal([batch_size, seq_len, config.hidden_size], dtype=dtype)
    layer.build(inputs.shape)
    padding_mask = _padding_mask(batch_size, seq_len)
    return _forward_and_backward(
        lambda x: [layer(x, padding_mask=padding_mask, training=training)],
        [inputs],
        training,
        layer.trainable_variables,
    )


def median_seconds(pieces: dict, rounds: int = 7, calls: int = 3) -> dict:
    """name -> median seconds per call of each `tf.function` in `pieces`, timed in alternating rounds of `calls`
    calls after one untimed call each."""
    for run in pieces.values():
        run().numpy()
    seconds = {name: [] for name in pieces}
    for _ in range(rounds):
        for name, run in pieces.items():
            start = time.perf_counter()
            for _ in range(calls):
                run().numpy()
            seconds[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in seconds.items()}


def _share(seconds: float, layer_seconds: float) -> Optional[float]:
    """`seconds` over the whole layer's; None where the layer's time is not above a call's fixed cost."""
    return round(seconds / layer_seconds, 3) if layer_seconds > 0 else None


def _mfu(flops: int, seconds: float, peak: float) -> Optional[float]:
    """`flops` in `seconds` over `peak` FLOP/s; None where the time is not above a call's fixed cost."""
    return round(flops / seconds / peak, 3) if seconds > 0 else None


def layer_cost_rows(
    config: EncoderConfig,
    batch_size: int,
    seq_len: int,
    training: bool,
    dtype: str = "float32",
    network: str = "encoder",
    peak: Optional[float] = None,
) -> list:
    """One row per piece of a layer of `network` (ms per call, share of the whole layer, and for matmuls their
    FLOP/s over the matmul ceiling), then the whole layer's row: its MFU, the MFU of its pieces' summed time and of
    its matmuls' alone. `peak` is the ceiling in FLOP/s; None times the 4096² matmul of `dtype` here."""
    shapes = layer_matmul_shapes(config, batch_size, seq_len)
    flops = {"dense matmuls": shape_flops(shapes[:4], training), "attention matmuls": shape_flops(shapes[4:], training)}
    pieces = {
        "dense matmuls": matmul_piece(shapes[:4], training, dtype),
        "attention matmuls": matmul_piece(shapes[4:], training, dtype),
        **elementwise_pieces(config, batch_size, seq_len, training, dtype),
        "whole layer": whole_layer(config, batch_size, seq_len, training, dtype),
        "call": tf.function(lambda: _scalar([tf.zeros([1])])),
    }
    seconds = median_seconds(pieces)
    # Each piece's time is net of a call's fixed cost (dispatch, returning the scalar), which would otherwise count
    # once per piece but once only in the whole layer: it matters at a serving call's small shapes.
    call_s = seconds.pop("call")
    seconds = {name: max(value - call_s, 0.0) for name, value in seconds.items()}
    peak = peak or matmul_flops_per_second(dtype)
    layer_s = seconds.pop("whole layer")
    tag = f"{network} layer {batch_size}x{seq_len} {'fwd+bwd' if training else 'fwd'} {dtype}"
    common = {"network": network, "hidden_size": config.hidden_size, "batch_size": batch_size, "seq_len": seq_len}
    common |= {"dtype": dtype, "training": training}
    rows = []
    for name, s in seconds.items():
        row = {
            "name": f"{tag}: {name}",
            "value": round(s * 1e3, 3),
            "unit": "ms",
            "share_of_layer": _share(s, layer_s),
        }
        if name in flops:
            row["over_matmul_peak"] = _mfu(flops[name], s, peak)
        rows.append(row | common)
    matmul_flops, matmul_s = sum(flops.values()), seconds["dense matmuls"] + seconds["attention matmuls"]
    summary = {
        "name": tag,
        "value": round(layer_s * 1e3, 3),
        "unit": "ms",
        "mfu": _mfu(matmul_flops, layer_s, peak),
        "mfu_of_pieces": _mfu(matmul_flops, sum(seconds.values()), peak),
        "mfu_of_matmuls_alone": _mfu(matmul_flops, matmul_s, peak),
        "unexplained_ms": round((layer_s - sum(seconds.values())) * 1e3, 3),
        "call_ms": round(call_s * 1e3, 3),
        "matmul_flops": matmul_flops,
        "matmul_flop_per_s": round(peak),
    }
    return rows + [summary | common]
