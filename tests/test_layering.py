"""The import layering: each subpackage imports only from the floors below it (and from itself).

A new module goes on its package's floor; an import that runs up (or sideways, between packages on one floor) fails
here with the file and line. Imports inside functions count too: a lazy import is still a dependency.
"""

import ast
import pathlib

import electra_tf

# Lowest floor first. Floor 0 holds the top-level modules (`electra_tf/<name>.py`).
FLOORS = (
    ("io_utils", "config_io", "errors", "settings", "corpus", "run_lock", "onednn"),
    ("ops", "layers", "tokenization", "tasks", "optimizers"),
    ("networks", "data"),
    ("objectives",),
    ("models",),
    ("interop",),
    ("export",),
    ("training",),
    ("benchmarks",),
    ("experiments",),
    ("cli",),
)
PACKAGE = pathlib.Path(electra_tf.__file__).parent
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}


def _unit(relative: pathlib.Path) -> str:
    """The layering unit of a module path relative to the package: its subpackage, or its own name at the top."""
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_units(tree: ast.AST):
    """(line, unit) for each `electra_tf` import in a module."""
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "electra_tf":
                names = [alias.name for alias in node.names]
            elif node.module.startswith("electra_tf."):
                names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("electra_tf.")]
        for name in names:
            if name != "__version__":
                yield node.lineno, name


def test_every_unit_has_a_floor():
    units = {_unit(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert units - set(FLOOR) == set(), "Give the new subpackage or module a floor in FLOORS."
    assert set(FLOOR) - units == set(), "FLOORS names something that no longer exists."


def test_no_import_runs_up_or_sideways():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        unit = _unit(relative)
        if unit == "__init__":
            continue
        for line, imported in _imported_units(ast.parse(path.read_text(), str(path))):
            if imported == unit:
                continue
            if imported not in FLOOR or FLOOR[imported] >= FLOOR[unit] and not (FLOOR[unit] == 0 == FLOOR[imported]):
                violations.append(
                    f"electra_tf/{relative}:{line}: {unit} (floor {FLOOR[unit]}) imports {imported} "
                    f"(floor {FLOOR.get(imported)})"
                )
    assert violations == []
