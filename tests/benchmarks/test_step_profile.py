"""The step profile: op events sorted into families, on a real traced step."""

import dataclasses
import os

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
        (f"{_SCOPE}/self_attention_layer_1/query_1/Add:AddV2", "bias adds"),
        (f"gradient_tape/{_SCOPE}/self_attention_layer_1/value_1/Add/Sum:Sum", "bias adds"),
        ("StatefulPartitionedCall/electra_pretrainer_1/generator_predictions_1/add:AddV2", "bias adds"),
        (
            "StatefulPartitionedCall/electra_pretrainer_1/discriminator_predictions_1/dense_prediction_1/Add:AddV2",
            "bias adds",
        ),
        ("StatefulPartitionedCall/AddN_65:AddN", "gradient sums (AddN)"),
        ("StatefulPartitionedCall/Add:AddV2", "other"),
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
    assert 0 < profile["no_op_ms_per_step"] < profile["wall_ms_per_step"]
    assert 1 <= profile["threads"] <= os.cpu_count()
    assert profile["op_ms_per_step"] <= 1.05 * profile["threads"] * profile["wall_ms_per_step"]


def _write_trace(folder):
    """A hand-made trace: two compute threads with overlapping ops, one compute thread with only the executor's span,
    and a thread of another name."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    plane = space.planes.add(name="/host:CPU")
    for metadata_id, name in enumerate(["s/MatMul:_MklMatMul", "s/gelu/Erf:Erf", "ExecutorState::Process", "x/y:Z"], 1):
        plane.event_metadata[metadata_id].name = name
    for line_name, timestamp_ns, events in (
        ("tf_Compute/0", 1_000, [(1, 0, 5_000), (2, 6_000, 1_000)]),  # (metadata, offset ps, duration ps)
        ("tf_Compute/1", 1_002, [(2, 1_000, 4_000), (3, 0, 90_000)]),
        ("tf_Compute/2", 0, [(3, 0, 90_000)]),
        ("tf_data_private_threadpool", 0, [(4, 0, 90_000)]),
    ):
        line = plane.lines.add(name=line_name, timestamp_ns=timestamp_ns)
        for metadata_id, offset, duration in events:
            line.events.add(metadata_id=metadata_id, offset_ps=offset, duration_ps=duration)
    path = os.path.join(folder, "plugins", "profile", "run")
    os.makedirs(path)
    with open(os.path.join(path, "host.xplane.pb"), "wb") as f:
        f.write(space.SerializeToString())


def test_op_events_reads_picoseconds_and_counts_the_threads_that_ran_ops(tmp_path):
    _write_trace(str(tmp_path))
    events, threads = step_profile.op_events(str(tmp_path))
    assert threads == 2
    assert sorted(events) == [
        ("s/MatMul:_MklMatMul", 1_000_000, 1_005_000),
        ("s/gelu/Erf:Erf", 1_003_000, 1_007_000),
        ("s/gelu/Erf:Erf", 1_006_000, 1_007_000),
    ]
    assert step_profile.busy_time(events) == 7_000


def test_busy_time_is_the_union_of_overlapping_ops():
    ms = 10**9  # picoseconds
    events = [
        ("a", 0, 2 * ms),
        ("b", 1 * ms, 3 * ms),
        ("c", 5 * ms, 6 * ms),
        ("d", 5 * ms + ms // 2, 5 * ms + 7 * ms // 10),
    ]
    assert step_profile.busy_time(events) == 4 * ms
    assert step_profile.busy_time([]) == 0 and step_profile.busy_time(events[2:3]) == ms
    table = step_profile.family_table(events, steps=2, wall_seconds=7e-3, threads=2)
    assert table["op_ms_per_step"] == pytest.approx(5.2 / 2) and table["no_op_ms_per_step"] == 1.5


def test_bad_arguments_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="steps=0: profile at least one step"):
        step_profile.profile_step(None, "unused", batch_size=8, steps=0)
    with pytest.raises(ValueError, match="0 op event.s. on 0 tf_Compute thread.s., 0 ps in all.*without XLA"):
        step_profile.family_table([], steps=1, wall_seconds=1.0, threads=0)
