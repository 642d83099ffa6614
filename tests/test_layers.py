"""The package's modules import only downwards: plumbing at the bottom, the exported lesson code
above it, then what applies the lessons to every model, then the command-line tools. No module
imports one above it, so there are no cycles."""

import ast

import pytest

from helpers.config import project_root


#: Each module's layer; a module may import modules of its own layer or below only.
LAYERS = {
    "helpers.config": 0,
    "helpers.catalogue": 0,
    "helpers.artifacts": 1,
    "helpers.generated_dataset": 1,
    "helpers.data": 2,
    "helpers.models": 3,
    "helpers.callbacks": 3,
    "helpers.members": 6,
    "helpers.lesson.features": 5,
    "helpers.lesson.combiners": 5,
    "helpers.lesson.judging": 5,
    "helpers.lesson.corruptions": 6,
    "helpers.lesson.distillation": 5,
    "helpers.lesson.families": 5,
    "helpers.evaluation": 7,
    "helpers.ensembles": 8,
    "helpers.reports": 8,
    "helpers.plotting": 8,
    "helpers.run": 9,
    "helpers.export": 9,
    "helpers.colab": 9,
}
ROOT = project_root()


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path) -> set[str]:
    """Every ``helpers`` module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found |= {n for n in names if n in LAYERS} or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers.")}
    return found - {"helpers", "helpers.lesson"}


MODULES = [p for p in (ROOT / "helpers").rglob("*.py") if p.name != "__init__.py"]


def test_every_module_has_a_layer():
    assert {module_name(p) for p in MODULES} == set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_point_down(path):
    name = module_name(path)
    upward = {other for other in imported(path) if LAYERS[other] > LAYERS[name]}
    assert not upward, f"{name} (layer {LAYERS[name]}) imports higher modules: {sorted(upward)}"
