"""The layer micro-benchmark: its matmuls are the layer's, its pieces are timed, its rows add up."""

import dataclasses

import pytest
import tensorflow as tf

from electra_tf.benchmarks import layer_costs
from electra_tf.models import flops
from electra_tf.networks.encoder_config import EncoderConfig

_TINY = EncoderConfig(
    vocab_size=100, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, embedding_size=32
)


@pytest.mark.parametrize("batch_size, seq_len", [(32, 128), (1, 128), (64, 64)])
def test_layer_matmuls_are_the_flops_count_of_one_layer(batch_size, seq_len):
    config = EncoderConfig(embedding_size=256)  # ELECTRA-Small's layers; no embedding projection to count.
    shapes = layer_costs.layer_matmul_shapes(config, batch_size, seq_len)
    per_layer = flops.encoder_forward_flops(config, batch_size, seq_len) // config.num_layers
    assert layer_costs.shape_flops(shapes, training=False) == per_layer
    assert layer_costs.shape_flops(shapes, training=True) == 3 * per_layer


def test_matmul_piece_runs_the_forward_and_both_backward_products():
    shapes = [("one", 2, None, 8, 4, 6), ("batched", 1, 3, 5, 7, 2)]
    for training, count in ((True, 3 * 3), (False, 3)):  # Three products; in training each with two backward ones.
        graph = layer_costs.matmul_piece(shapes, training).get_concrete_function().graph
        products = [op for op in graph.get_operations() if op.type.startswith(("MatMul", "BatchMatMul"))]
        assert len(products) == count
        assert sum(int(op.inputs[0].shape.num_elements()) for op in products if op.type == "MatMul") == (
            2 * 8 * 4 + (2 * 8 * 6 + 2 * 4 * 8 if training else 0)  # x; then dy and x transposed.
        )


def test_pieces_take_the_mask_and_seed_the_layer_takes():
    pieces = layer_costs.elementwise_pieces(dataclasses.replace(_TINY, dropout=0.1), 2, 16, True, "float32")
    graphs = {name: run.get_concrete_function().graph for name, run in pieces.items()}
    # The softmax mask is boolean and broadcast over heads and queries, as `SelfAttention` passes it.
    selects = [op for op in graphs["masked softmax"].get_operations() if op.type in ("SelectV2", "Select")]
    assert selects and all(op.inputs[0].shape.as_list() == [2, 1, 1, 16] for op in selects)
    assert not [op for op in graphs["masked softmax"].get_operations() if op.type == "Greater"], "no int mask compare"
    assert [op for op in graphs["masked softmax"].get_operations() if op.type == "ReadVariableOp"], "mask is read"
    # The layer norms' scale and offset get their gradients, as in a step: four (hidden,) results of the backward.
    norm_grads = [
        op
        for op in graphs["layer norms (2)"].get_operations()
        if op.name.startswith("gradient_tape/") and op.outputs and op.outputs[0].shape.as_list() == [_TINY.hidden_size]
    ]
    assert len(norm_grads) == 4, [op.name for op in norm_grads]
    dropout_seeds = [op for op in graphs["dropout (3)"].get_operations() if op.type == "ReadVariableOp"]
    assert dropout_seeds, "the dropout seed is a variable, as the layer's seed generator holds it"


@pytest.mark.parametrize("training", [True, False])
def test_rows_time_every_piece_and_the_whole_layer(training):
    rows = layer_costs.layer_cost_rows(_TINY, 4, 32, training, peak=1e11)
    pieces, layer = rows[:-1], rows[-1]
    names = [row["name"].split(": ", 1)[1] for row in pieces]
    expected = ["dense matmuls", "attention matmuls", "activation (gelu)", "layer norms (2)", "masked softmax"]
    assert names == expected + (["dropout (3)"] if training else [])
    # Net of a call's fixed cost, which at these tiny shapes can be all a piece costs.
    assert all(row["value"] >= 0 and row["share_of_layer"] >= 0 for row in pieces)
    assert layer["call_ms"] > 0
    assert layer["value"] > 0 and layer["matmul_flop_per_s"] == 1e11
    assert layer["mfu"] == pytest.approx(layer["matmul_flops"] / (layer["value"] / 1e3) / 1e11, rel=0.01, abs=1e-3)
    pieces_ms = sum(row["value"] for row in pieces)
    assert layer["unexplained_ms"] == pytest.approx(layer["value"] - pieces_ms, abs=0.01)
    if layer["mfu_of_matmuls_alone"] is not None:
        assert layer["mfu_of_matmuls_alone"] >= layer["mfu_of_pieces"]


def test_whole_layer_backward_reaches_the_input_and_every_weight():
    run = layer_costs.whole_layer(_TINY, 2, 16, training=True, dtype="float32")
    assert tf.math.is_finite(run())
    graph = run.get_concrete_function().graph
    types = [op.type for op in graph.get_operations()]
    assert "Erf" in types and "Erfc" not in types  # The exact GELU of hidden_act="gelu", in GR's formula.
