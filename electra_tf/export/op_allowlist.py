"""Which ops a serving graph may use: core TensorFlow, plus the tf_text ops that stock TF Serving links.

TF Serving links the current TensorFlow core but an older tf_text (2.12.1): `TFText>RoundRobinTrim` and a few
others registered by newer tf_text fail there with "Op type not registered" (tensorflow/serving#2267).
`tf_serving_tf_text_ops.txt` lists every op tf_text 2.12.1 registers; it is a copy of the project's shared list,
and a test keeps the two equal.

The serving signature must also stay off the filesystem: `file_io_ops` names any op in it that reads or writes
files, checkpoints, event files or logs. (Every SavedModel carries SaveV2 and RestoreV2, but in its checkpoint
functions, which `signature_ops` does not reach.)
"""

import importlib.resources

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

ALLOWLIST_FILE = "tf_serving_tf_text_ops.txt"
# Name parts of the ops that touch files, checkpoints, event files or logs: savers and restorers, file and record
# readers and writers, summaries, debug dumps, prints, and tf.data (whose sources read files).
_FILE_IO_WORDS = (
    "Save",
    "Restore",
    "File",
    "Checkpoint",
    "Reader",
    "Record",
    "Summary",
    "Dataset",
    "Snapshot",
    "Debug",
    "Print",
)
_FILE_IO_OPS = frozenset({"ImmutableConst", "LoadAndRemapMatrix"})


def tf_text_ops_in_tf_serving() -> frozenset:
    text = importlib.resources.files("electra_tf.export").joinpath(ALLOWLIST_FILE).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def core_ops() -> frozenset:
    """Ops of TensorFlow's own registry (those `tf.raw_ops` exposes); tf_text's custom ops are not among them."""
    return frozenset(name for name in dir(tf.raw_ops) if not name.startswith("_"))


def _read_saved_model(export_dir: str) -> saved_model_pb2.SavedModel:
    proto = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(f"{export_dir}/saved_model.pb", "rb") as f:
        proto.ParseFromString(f.read())
    return proto


def _called_functions(node) -> list:
    """Names of the library functions a node calls (`f` of a call op, branches and bodies of control flow)."""
    names = []
    for value in node.attr.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names.extend(func.name for func in value.list.func)
    return names


def _add_node(node, library: dict, ops: set, functions: list) -> None:
    """Records a node's op, or the function it calls by name, and the functions its attributes name."""
    if node.op in library:
        functions.append(node.op)
    else:
        ops.add(node.op)
    functions.extend(_called_functions(node))


def signature_ops(export_dir: str, signature_key: str = "serving_default") -> set:
    """Every op type a signature can run: the graph nodes its outputs depend on, and every library function those
    nodes call, followed through nested calls and control flow.

    Functions the signature never reaches (the checkpoint's save and restore functions, for one) are left out, unlike
    `saved_model_ops`.
    """
    proto = _read_saved_model(export_dir)
    for meta_graph in proto.meta_graphs:
        if signature_key in meta_graph.signature_def:
            break
    else:
        raise ValueError(f"{export_dir} has no signature {signature_key!r}.")
    graph = meta_graph.graph_def
    nodes = {node.name: node for node in graph.node}
    library = {function.signature.name: function for function in graph.library.function}
    pending = [tensor.name.split(":")[0] for tensor in meta_graph.signature_def[signature_key].outputs.values()]
    seen_nodes, seen_functions, functions, ops = set(), set(), [], set()
    while pending:  # Graph nodes, walked back from the outputs.
        name = pending.pop().lstrip("^").split(":")[0]
        if name in seen_nodes or name not in nodes:
            continue
        seen_nodes.add(name)
        _add_node(nodes[name], library, ops, functions)
        pending.extend(nodes[name].input)
    while functions:  # Library functions, with every function they call.
        name = functions.pop()
        if name in seen_functions or name not in library:
            continue
        seen_functions.add(name)
        for node in library[name].node_def:
            _add_node(node, library, ops, functions)
    return ops


def saved_model_ops(export_dir: str) -> set:
    """Every op type in a SavedModel's graphs, function library included."""
    proto = _read_saved_model(export_dir)
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


def file_io_ops(ops) -> list:
    """The ops among `ops` that read or write files, checkpoints, event files or logs (sorted)."""
    return sorted(op for op in ops if op in _FILE_IO_OPS or any(word in op for word in _FILE_IO_WORDS))
