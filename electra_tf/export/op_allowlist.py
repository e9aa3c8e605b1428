"""Which ops a serving graph may use: core TensorFlow, plus the tf_text ops that stock TF Serving links.

TF Serving links the current TensorFlow core but an older tf_text (2.12.1): `TFText>RoundRobinTrim` and a few
others registered by newer tf_text fail there with "Op type not registered" (tensorflow/serving#2267).
`tf_serving_tf_text_ops.txt` lists every op tf_text 2.12.1 registers; it is a copy of the project's shared list,
and a test keeps the two equal.
"""

import importlib.resources

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

ALLOWLIST_FILE = "tf_serving_tf_text_ops.txt"


def tf_text_ops_in_tf_serving() -> frozenset:
    text = importlib.resources.files("electra_tf.export").joinpath(ALLOWLIST_FILE).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def core_ops() -> frozenset:
    """Ops of TensorFlow's own registry (those `tf.raw_ops` exposes); tf_text's custom ops are not among them."""
    return frozenset(name for name in dir(tf.raw_ops) if not name.startswith("_"))


def saved_model_ops(export_dir: str) -> set:
    """Every op type in a SavedModel's graphs, function library included."""
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(f"{export_dir}/saved_model.pb", "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def disallowed_ops(export_dir: str) -> list:
    """Ops in the SavedModel that stock TF Serving cannot run (sorted); empty when it can run them all."""
    allowed = core_ops() | tf_text_ops_in_tf_serving()
    return sorted(op for op in saved_model_ops(export_dir) if op not in allowed)
