"""No function in the package runs past about 50 lines of code (its docstring not counted): a longer one is split
into named steps, so that a reader sees what it does from the names."""

import ast
import pathlib

import electra_tf

MAX_LINES = 55
PACKAGE = pathlib.Path(electra_tf.__file__).parent


def _code_lines(node: ast.FunctionDef) -> int:
    body = node.body
    has_docstring = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    first = body[1].lineno if has_docstring and len(body) > 1 else body[0].lineno
    return node.end_lineno - first + 1


def test_no_function_is_longer_than_max_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_LINES:
                long.append(
                    f"electra_tf/{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {_code_lines(node)} lines"
                )
    assert long == []
