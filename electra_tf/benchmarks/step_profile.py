"""Where a pre-training step's time goes: TensorFlow profiler op time, grouped into op families.

The step runs through `fit` on cached batches, as `pretraining_benchmarks.pretraining_step` times it. After a warm-up
call, `steps` steps run under `tf.profiler`; every op event on TensorFlow's compute threads is read from the trace
(`*.xplane.pb`) and put in the first family of `FAMILIES` whose rule matches its name scope and op type. Op time is
summed over the compute threads (those that ran an op), so it can exceed the wall time. `no_op_ms_per_step` is the
part of the wall time in which no op ran on any thread (Python, dispatch, the gaps between ops). The families are
those of a CPU step: on an accelerator the compute threads' events are kernel launches, not kernel time.

Families are told apart by name scope: dropout, attention, layer norm, GELU, embeddings and sampling are the scopes
our layers create (`sampling` is named in `objectives/base.py`), and the optimizer's ops run under `fused_adam_w` or
`global_norm`. A change to those names moves time into "other", which the table shows.
"""

import collections
import glob
import os
import re
import tempfile
import time

import tensorflow as tf

from electra_tf.benchmarks.pretraining_benchmarks import _cached_batches, _compiled_pretrainer
from electra_tf.training.pretraining_config import PretrainingConfig

MATMUL_TYPES = ("MatMul", "Einsum", "Conv2D")


def _in(scope: str, *parts: str) -> bool:
    return any(part in scope for part in parts)


# (family, rule(scope lower-cased, op type without oneDNN's prefixes)); the first rule that matches wins, so the
# order matters: a layer norm inside the attention block is a layer norm, a bias add of the query projection a bias add.
FAMILIES = (
    ("optimizer and clipping", lambda s, t: _in(s, "adam", "global_norm", "clip_by") or t.startswith("ResourceApply")),
    ("dropout (RNG, mask, scale)", lambda s, t: "dropout" in s),
    ("matmuls", lambda s, t: any(m in t for m in MATMUL_TYPES)),
    ("sampling", lambda s, t: "/sampling/" in s),
    ("embedding gradient", lambda s, t: ("gradient_tape" in s and "token_embedding" in s) or t == "UnsortedSegmentSum"),
    ("layer norm", lambda s, t: _in(s, "layer_norm", "layernorm")),
    ("GELU", lambda s, t: "gelu" in s),
    ("bias adds", lambda s, t: t in ("BiasAdd", "BiasAddGrad") or _is_bias_add(s, t)),
    ("attention (mask, softmax, transposes)", lambda s, t: "attention" in s),
    ("losses", lambda s, t: _in(s, "logistic_loss", "crossentropy", "cross_entropy") or "CrossEntropy" in t),
    ("embeddings (forward)", lambda s, t: "embedding" in s),
    ("residual adds", lambda s, t: t == "AddV2" and "transformer_layer" in s),
    ("gradient sums (AddN)", lambda s, t: t == "AddN"),
)

# Biases that Keras adds with a plain add, not BiasAdd: EinsumDense's (the attention's query, key and value) and the
# pre-training heads' output biases; backward, the add's gradient is a Sum under the add's scope.
_BIAS_ADD_SCOPES = ("/query/add", "/key/add", "/value/add", "dense_prediction/add", "generator_predictions/add")


def _is_bias_add(scope: str, op_type: str) -> bool:
    scope = re.sub(r"_\d+(?=/|$)", "", scope)  # TensorFlow's uniquifying suffixes: query_1/add_2 is query/add.
    scope = scope.removesuffix("/sum") if op_type == "Sum" else scope
    return op_type in ("AddV2", "Sum") and scope.endswith(_BIAS_ADD_SCOPES)


OTHER = "other"


def family(name: str) -> str:
    """The family of an op event named `scope:OpType`."""
    scope, _, op_type = name.rpartition(":")
    scope = scope.lower()
    op_type = op_type.lstrip("_").removeprefix("Mkl").removeprefix("Fused")
    for label, rule in FAMILIES:
        if rule(scope, op_type):
            return label
    return OTHER


def op_events(logdir: str) -> tuple[list[tuple[str, int, int]], int]:
    """(events, threads) of the newest trace under `logdir`: every TensorFlow op event on the compute threads as
    (name, start, end) in integer picoseconds on the trace's clock, and how many compute threads ran an op."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=import-outside-toplevel

    traces = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
    if not traces:
        raise FileNotFoundError(f"No profiler trace (*.xplane.pb) under {logdir}/plugins/profile.")
    space = xplane_pb2.XSpace()
    with open(traces[-1], "rb") as f:
        space.ParseFromString(f.read())
    events, threads = [], 0
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            count = len(events)
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Op events are named "scope/op:Type"; the executor's own spans (ExecutorState::Process) and the
                # thread pool's (ParallelFor, inside an op) are not ops.
                if "/" in name and ":" in name and not name.startswith("ExecutorState"):
                    start = line.timestamp_ns * 1000 + event.offset_ps
                    events.append((name, start, start + event.duration_ps))
            threads += len(events) > count
    return events, threads


def busy_time(events: list) -> int:
    """Length of the union of the events' intervals (in the events' unit): the time at least one op ran."""
    total, reach = 0, float("-inf")
    for _, start, end in sorted(events, key=lambda event: event[1]):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def family_table(events: list, steps: int, wall_seconds: float, threads: int) -> dict:
    """ms per step and share of op time for each family, largest first, with the wall time no op ran. `events`
    are (name, start, end) in picoseconds, as `op_events` gives them."""
    picoseconds = collections.Counter()
    for name, start, end in events:
        picoseconds[family(name)] += end - start
    op_total = sum(picoseconds.values())
    if not op_total:
        raise ValueError(
            f"The trace holds {len(events)} op event(s) on {threads} tf_Compute thread(s), {op_total} ps in all: "
            "nothing to put in families. Profile on CPU without XLA (jit_compile=False), where TensorFlow runs each op "
            "on its tf_Compute threads."
        )
    rows = [
        {"family": label, "ms_per_step": round(1e-9 * value / steps, 2), "share": round(value / op_total, 4)}
        for label, value in picoseconds.most_common()
    ]
    return {
        "wall_ms_per_step": round(1e3 * wall_seconds / steps, 2),
        "op_ms_per_step": round(1e-9 * op_total / steps, 2),
        "no_op_ms_per_step": round(max(1e3 * wall_seconds - 1e-9 * busy_time(events), 0.0) / steps, 2),
        "threads": threads,
        "families": rows,
    }


def profile_step(
    config: PretrainingConfig, data_dir: str, batch_size: int, mixed_precision: str = "float32", steps: int = 3
) -> dict:
    """Profiles `steps` pre-training steps of `config` (after one untimed call) and returns `family_table`. The step
    is `fit`'s, one step per call, without XLA: op families are the ops TensorFlow runs one by one."""
    if steps < 1:
        raise ValueError(f"steps={steps}: profile at least one step.")
    data = _cached_batches(config, data_dir, batch_size, steps)
    model = _compiled_pretrainer(config, mixed_precision, False, 1)
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        try:
            model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
            wall = time.perf_counter() - start
        finally:
            tf.profiler.experimental.stop()
        events, threads = op_events(logdir)
    table = family_table(events, steps, wall, threads)
    tokens = batch_size * config.max_seq_length
    return {
        "name": "step_profile",
        "mixed_precision": mixed_precision,
        "batch_size": batch_size,
        "seq_len": config.max_seq_length,
        "steps": steps,
        "tokens_per_s_while_profiled": round(tokens * steps / wall),
        **table,
    }


def report_rows(profile: dict) -> list:
    """The benchmark's figures for a `profile_step` result: the profile itself, one row per family, and the wall time
    with no op running."""
    rows = [profile | {"value": profile["op_ms_per_step"], "unit": f"op ms/step over {profile['threads']} threads"}]
    for row in profile["families"]:
        share = f"{100 * row['share']:.1f}% of op time"
        rows.append({"name": f"  {row['family']}", "value": row["ms_per_step"], "unit": f"ms/step, {share}"})
    wall = profile["wall_ms_per_step"]
    rows.append({"name": "  no op running", "value": profile["no_op_ms_per_step"], "unit": f"ms/step of {wall} wall"})
    return rows
