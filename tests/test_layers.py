"""The package's modules import only downwards: plumbing at the bottom, the lesson code exported
from the notebooks above it (each notebook's module using only earlier notebooks' modules), then
what applies the lessons to every model, then the command-line tools. The two upward imports are
written down below, with their reasons; there is no import cycle, and ``import helpers`` loads
neither TensorFlow nor the lesson modules."""

import ast
import subprocess
import sys

import pytest

from helpers import catalogue, export
from helpers.config import project_root


ROOT = project_root()
#: Each plumbing module's layer; a module may import modules of its own layer or below only.
LAYERS = {
    "helpers.config": 0, "helpers.catalogue": 0,
    "helpers.artifacts": 1, "helpers.generated_dataset": 1,
    "helpers.data": 2, "helpers.models": 2, "helpers.callbacks": 2, "helpers.plotting": 2,
    # 3: the lesson modules
    "helpers.evaluation": 4, "helpers.ensembles": 4, "helpers.reports": 4,
    "helpers.run": 5, "helpers.export": 5, "helpers.colab": 5, "helpers.bundle": 5,
}
LESSON = 3
#: The only imports that point up, each inside the one function that needs it.
UPWARD = {
    # the split and the augmentation that notebook 01 teaches make every run's split and views
    ("helpers.data", "helpers.lesson.data_prep"),
    # loading a saved model needs the registered layers and loss it was saved with
    ("helpers.artifacts", "helpers.models"),
    ("helpers.artifacts", "helpers.lesson.combiners"),
    ("helpers.artifacts", "helpers.lesson.distillation"),
}


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in (ROOT / "helpers").rglob("*.py") if p.name != "__init__.py"}


def lesson_order() -> dict[str, int]:
    """Each lesson module's notebook number (its position in the series)."""
    return {f"helpers.lesson.{export.lesson_cells(n.path)[0]}": int(n.number)
            for n in catalogue.SERIES if export.lesson_cells(n.path)[0]}


def layer(name: str) -> int:
    return LESSON if name.startswith("helpers.lesson.") else LAYERS[name]


def imported(path, top_level_only: bool = False) -> set[str]:
    """Every ``helpers`` module ``path`` imports (at the top, or also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found |= {n for n in names if n in MODULES} or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers.")}
    return found - {"helpers", "helpers.lesson"}


def test_every_module_has_a_layer():
    lessons = lesson_order()
    assert set(MODULES) == set(LAYERS) | set(lessons), "give the new module a layer above"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    upward = {other for other in imported(MODULES[name])
              if layer(other) > layer(name) and (name, other) not in UPWARD}
    assert not upward, f"{name} (layer {layer(name)}) imports higher modules: {sorted(upward)}"
    if name.startswith("helpers.lesson."):  # a notebook's code uses only earlier notebooks'
        order = lesson_order()
        later = {o for o in imported(MODULES[name]) if o in order and order[o] >= order[name]}
        assert not later - {name}, f"{name} imports the code of later notebooks: {later}"


def test_the_upward_imports_happen_inside_functions_only():
    for low, high in UPWARD:
        assert high in imported(MODULES[low]) and high not in imported(MODULES[low], True)


def test_no_import_cycle_at_import_time():
    graph = {name: imported(path, top_level_only=True) & set(MODULES)
             for name, path in MODULES.items()}
    done, active = set(), []

    def visit(name):
        assert name not in active, f"import cycle: {' -> '.join(active + [name])}"
        if name not in done:
            active.append(name)
            for other in graph[name]:
                visit(other)
            active.pop()
            done.add(name)

    for name in graph:
        visit(name)


def test_import_helpers_loads_neither_tensorflow_nor_the_lessons():
    code = ("import sys, helpers, helpers.catalogue, helpers.config; "
            "print('tensorflow' in sys.modules, any(m.startswith('helpers.lesson') "
            "for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr[-2000:]
