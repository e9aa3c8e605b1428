"""Security basics, checked on the source and on a real export: safe model loading, no pickle, no shell, and a
serving signature that never touches the filesystem."""

import ast

import pytest
import tensorflow as tf

from electra_tf.export import op_allowlist
from electra_tf.interop import hf
from tests.conftest import repo_root

PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "cloudpickle", "dill", "joblib", "shelve", "marshal"}
# The one place that may unpickle: HF's pytorch_model.bin, behind an opt-in that is off by default.
TORCH_LOAD_ALLOWED = {("electra_tf/interop/hf.py", "read_tensors")}
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput")}
SUBPROCESS_CALLS = {"run", "call", "check_call", "check_output", "Popen"}


def _sources() -> list[tuple[str, ast.Module]]:
    """(path relative to the repo, parsed module) for every Python file of the package and of bin/."""
    root = repo_root()
    files = sorted((root / "electra_tf").rglob("*.py")) + sorted(p for p in (root / "bin").iterdir() if p.is_file())
    return [(str(path.relative_to(root)), ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in files]


SOURCES = _sources()


def _calls(tree: ast.Module):
    """(enclosing function name or None, call node) for every call in `tree`."""

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                yield function, child
            yield from visit(child, inner)

    yield from visit(tree, None)


def _dotted(node) -> str:
    """ "np.load" for the expression `np.load`; "" when it is not a plain dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_constant(node, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def test_the_scan_sees_the_package():
    paths = {path for path, _ in SOURCES}
    assert {"electra_tf/models/saving.py", "electra_tf/interop/hf.py", "bin/pretrain"} <= paths


def test_every_keras_model_load_passes_safe_mode_true():
    loads = []
    for path, tree in SOURCES:
        for _, call in _calls(tree):
            name = _dotted(call.func)
            if name.split(".")[-1] == "load_model":
                loads.append(path)
                safe_mode = _keyword(call, "safe_mode")
                assert _is_constant(safe_mode, True), f"{path}:{call.lineno}: {name} without safe_mode=True"
            assert "enable_unsafe_deserialization" not in name, f"{path}:{call.lineno}: {name}"
            assert not _is_constant(_keyword(call, "safe_mode"), False), f"{path}:{call.lineno}: safe_mode=False"
    assert loads, "no load_model call found: the scan is broken"


def test_no_pickle_outside_the_opt_in_hf_reader():
    for path, tree in SOURCES:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not names & PICKLE_MODULES, f"{path}:{node.lineno} imports {sorted(names & PICKLE_MODULES)}"
    torch_loads = set()
    for path, tree in SOURCES:
        for function, call in _calls(tree):
            name = _dotted(call.func)
            if name.endswith("torch.load"):
                torch_loads.add((path, function))
                assert _is_constant(_keyword(call, "weights_only"), True), f"{path}:{call.lineno}: torch.load"
            if name in ("np.load", "numpy.load"):
                allow = _keyword(call, "allow_pickle")
                assert allow is None or _is_constant(allow, False), f"{path}:{call.lineno}: np.load(allow_pickle=...)"
            assert not name.endswith("read_pickle"), f"{path}:{call.lineno}: {name}"
    assert torch_loads <= TORCH_LOAD_ALLOWED


def test_pickle_checkpoints_are_refused_by_default(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04 not really a pickle")
    with pytest.raises(ValueError, match="pickle file that can run code"):
        hf.read_tensors(str(tmp_path))


def _is_list_command(node, function_node) -> bool:
    """Whether a subprocess command is an argument list: a list literal, a parameter annotated `list`, or a name
    that the enclosing function only ever binds to a list literal."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return True
    if not isinstance(node, ast.Name) or function_node is None:
        return False
    arguments = function_node.args.posonlyargs + function_node.args.args + function_node.args.kwonlyargs
    parameters = [a for a in arguments if a.arg == node.id]
    if parameters:
        return all(_dotted(a.annotation) in ("list", "tuple") for a in parameters)
    bindings = [
        assign.value
        for assign in ast.walk(function_node)
        if isinstance(assign, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in assign.targets)
    ]
    return bool(bindings) and all(isinstance(b, (ast.List, ast.Tuple)) for b in bindings)


def test_no_shell_anywhere():
    for path, tree in SOURCES:
        functions = {f.name: f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for function, call in _calls(tree):
            name = _dotted(call.func)
            parts = tuple(name.split("."))
            where = f"{path}:{call.lineno}: {name}"
            assert parts[-2:] not in SHELL_CALLS, where
            assert name not in ("eval", "exec") and not name.startswith(("os.exec", "os.spawn")), where
            shell = _keyword(call, "shell")
            assert shell is None or _is_constant(shell, False), f"{where} with shell=..."
            if len(parts) == 2 and parts[0] == "subprocess" and parts[1] in SUBPROCESS_CALLS:
                command = call.args[0] if call.args else _keyword(call, "args")
                assert _is_list_command(command, functions.get(function)), f"{where} with a command that is not a list"


def test_the_checks_catch_what_they_look_for():
    bad = ast.parse(
        "import pickle\nimport subprocess, keras\n"
        "def f(cmd: str):\n    subprocess.run(cmd)\n    subprocess.run('ls', shell=True)\n"
        "    keras.saving.load_model('m.keras')\n"
    )
    functions = {f.name: f for f in ast.walk(bad) if isinstance(f, ast.FunctionDef)}
    calls = [call for _, call in _calls(bad)]
    assert not _is_list_command(calls[0].args[0], functions["f"])
    assert _is_constant(_keyword(calls[1], "shell"), True)
    assert _keyword(calls[2], "safe_mode") is None
    good = ast.parse("import subprocess\ndef g(command: list):\n    subprocess.run(command)\n")
    call = next(call for _, call in _calls(good))
    assert _is_list_command(call.args[0], next(f for f in ast.walk(good) if isinstance(f, ast.FunctionDef)))


def test_serving_signature_reads_and_writes_no_files(mrpc_export):
    _, path = mrpc_export
    ops = op_allowlist.signature_ops(path)
    # The walk reaches into nested functions: the tokenizer and the encoder's matmuls are there.
    assert {"FastWordpieceTokenizeWithOffsets", "BatchMatMulV2", "Softmax"} <= ops
    assert op_allowlist.file_io_ops(ops) == []
    # The checkpoint functions every SavedModel carries do hold file ops, outside the signature.
    everywhere = op_allowlist.file_io_ops(op_allowlist.saved_model_ops(path))
    assert {"SaveV2", "RestoreV2", "MergeV2Checkpoints"} <= set(everywhere)


def test_file_reads_nested_in_a_signature_are_found(tmp_path):
    class Reads(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.bool)])
        def serve(self, name, read):
            return tf.cond(read, lambda: tf.io.read_file(name), lambda: tf.constant(""))

    module = Reads()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    assert op_allowlist.file_io_ops(op_allowlist.signature_ops(str(tmp_path))) == ["ReadFile"]
    with pytest.raises(ValueError, match="no signature 'predict'"):
        op_allowlist.signature_ops(str(tmp_path), "predict")


def test_security_guarantees_are_documented():
    text = (repo_root() / "docs" / "security.md").read_text(encoding="utf-8")
    for phrase in ("safe_mode=True", "allow_pickle", "shell=True", "serving_default"):
        assert phrase in text
