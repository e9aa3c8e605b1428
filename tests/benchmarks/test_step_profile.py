"""The step profile: op events sorted into families, on a real traced step."""

import dataclasses

import pytest

from electra_tf import config_io
from electra_tf.benchmarks import step_profile
from electra_tf.training.pretraining_config import PretrainingConfig

_SCOPE = "StatefulPartitionedCall/electra_pretrainer_1/discriminator_1/transformer_layer_0_1"


@pytest.mark.parametrize(
    "name, family",
    [
        (f"{_SCOPE}/feedforward_intermediate_dense_1/Tensordot/MatMul:_MklMatMul", "matmuls"),
        (f"{_SCOPE}/self_attention_layer_1/value_1/MatMul:_MklBatchMatMulV2", "matmuls"),
        (f"{_SCOPE}/self_attention_dropout_1/mul_1:Mul", "dropout (RNG, mask, scale)"),
        (f"{_SCOPE}/self_attention_dropout_1/stateless_random_uniform:StatelessRandomUniformFullIntV2", "dropout"),
        (f"{_SCOPE}/self_attention_layer_1/softmax_4_1/Softmax:_MklSoftmax", "attention (mask, softmax, transposes)"),
        (f"{_SCOPE}/self_attention_layer_norm_1/moments/SquaredDifference:SquaredDifference", "layer norm"),
        (f"{_SCOPE}/self_attention_layer_1/query_1/BiasAdd:BiasAdd", "bias adds"),
        (f"{_SCOPE}/feedforward_intermediate_dense_1/Gelu/Erfc:Erfc", "GELU"),
        ("StatefulPartitionedCall/fused_adam_w/ResourceApplyAdam_70:ResourceApplyAdam", "optimizer and clipping"),
        ("StatefulPartitionedCall/global_norm/L2Loss_140:L2Loss", "optimizer and clipping"),
        ("StatefulPartitionedCall/AddN_65/inputs_1:UnsortedSegmentSum", "embedding gradient"),
        ("StatefulPartitionedCall/electra_pretrainer_1/sampling/Cumsum:Cumsum", "sampling"),
        ("StatefulPartitionedCall/electra_pretrainer_1/logistic_loss/Log1p:Log1p", "losses"),
        (f"{_SCOPE}/add_1:AddV2", "residual adds"),
        ("StatefulPartitionedCall/Sum_3:Sum", "other"),
    ],
)
def test_ops_fall_in_their_family(name, family):
    assert step_profile.family(name).startswith(family)


def test_a_profiled_step_accounts_for_its_op_time(micro_config, pretraining_data):
    config = config_io.load(PretrainingConfig, micro_config)
    config = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, dropout=0.1))
    profile = step_profile.profile_step(config, pretraining_data, batch_size=8, steps=2)
    families = {row["family"]: row for row in profile["families"]}
    assert sum(row["ms_per_step"] for row in profile["families"]) == pytest.approx(
        profile["op_ms_per_step"], abs=0.01 * len(profile["families"])
    )
    assert sum(row["share"] for row in profile["families"]) == pytest.approx(1.0, abs=1e-3)
    # An ELECTRA step runs every family but the sampling-free ones; the rules leave little to "other".
    for expected in (
        "matmuls",
        "dropout (RNG, mask, scale)",
        "layer norm",
        "GELU",
        "sampling",
        "optimizer and clipping",
    ):
        assert families[expected]["ms_per_step"] > 0, expected
    assert families.get("other", {"share": 0})["share"] < 0.25
    assert 0 <= profile["no_op_ms_per_step"] < profile["wall_ms_per_step"] and 1 <= profile["threads"] <= 64


def test_busy_time_is_the_union_of_overlapping_ops():
    ms = 10**9  # picoseconds
    events = [
        ("a", 0, 2 * ms),
        ("b", 1 * ms, 3 * ms),
        ("c", 5 * ms, 6 * ms),
        ("d", 5 * ms + ms // 2, 5 * ms + 7 * ms // 10),
    ]
    assert step_profile.busy_time(events) == 4 * ms
    table = step_profile.family_table(events, steps=2, wall_seconds=7e-3, threads=2)
    assert table["op_ms_per_step"] == pytest.approx(5.2 / 2) and table["no_op_ms_per_step"] == 1.5


def test_bad_arguments_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="steps=0: profile at least one step"):
        step_profile.profile_step(None, "unused", batch_size=8, steps=0)
    with pytest.raises(ValueError, match="no op on TensorFlow's compute threads"):
        step_profile.family_table([], steps=1, wall_seconds=1.0, threads=0)
