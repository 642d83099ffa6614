"""The package's modules import in one direction, through three layers:

1. below the lesson, the plumbing it uses (settings, catalogue, data, the run folder, models,
   callbacks, plotting);
2. the lesson: the code exported from the notebooks (``helpers.lesson``), each notebook's module
   using only the plumbing and earlier notebooks' modules;
3. above the lesson, the plumbing that applies it (evaluation, ensembles, reports) and the tools
   (the runner, the exporter, the bundle...).

A module imports its own layer or lower ones only, counting imports inside functions; the import
graph has no cycle; and ``import helpers`` loads neither TensorFlow nor the lesson modules. There
is no list of exceptions.
"""

import ast
import subprocess
import sys

import pytest

from helpers import catalogue, export
from helpers.config import project_root


ROOT = project_root()
BELOW, LESSON, ABOVE = 0, 1, 2
#: The layer of every module outside ``helpers.lesson``; a new module gets one here.
LAYERS = {
    **{f"helpers.{name}": BELOW for name in (
        "config", "catalogue", "data", "artifacts", "models", "callbacks", "generated_dataset",
        "plotting")},
    **{f"helpers.{name}": ABOVE for name in (
        "evaluation", "ensembles", "reports", "run", "bundle", "check", "export", "colab",
        "site")},
}


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in (ROOT / "helpers").rglob("*.py")}


def layer(name: str) -> int:
    if name.startswith("helpers.lesson"):
        return LESSON
    return LAYERS.get(name, BELOW if name == "helpers" else None)


def imported(path) -> set[str]:
    """Every ``helpers`` module that the file at ``path`` imports, at the top or inside a
    function: ``from helpers import data``, ``from helpers.lesson.combiners import log_loss``,
    ``import helpers.models``..."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            names = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= (names & set(MODULES)) or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "helpers"}
    return found


GRAPH = {name: imported(path) - {name} for name, path in MODULES.items()}


def lesson_order() -> dict[str, int]:
    """Each lesson module's notebook number (its position in the series)."""
    return {f"helpers.lesson.{export.lesson_cells(n.path)[0]}": int(n.number)
            for n in catalogue.SERIES if export.lesson_cells(n.path)[0]}


def test_every_module_has_a_layer():
    missing = sorted(name for name in MODULES if layer(name) is None)
    assert not missing, f"give these modules a layer in LAYERS above: {missing}"
    lessons = {name for name in MODULES if name.startswith("helpers.lesson.")}
    assert lessons == set(lesson_order()), "every lesson module is exported by one notebook"


def test_the_import_finder_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "example.py"
    source.write_text("from helpers import config\n\ndef f():\n"
                      "    from helpers.lesson.combiners import log_loss\n"
                      "    import helpers.models\n", encoding="utf-8")
    assert imported(source) == {"helpers.config", "helpers.lesson.combiners", "helpers.models"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name):
    higher = sorted(other for other in GRAPH[name] if layer(other) > layer(name))
    assert not higher, f"{name} (layer {layer(name)}) imports higher layers: {higher}"


def test_the_plumbing_below_never_imports_the_lesson():
    below = {name for name in MODULES if layer(name) == BELOW}
    assert {"helpers.config", "helpers.catalogue", "helpers.data", "helpers.artifacts",
            "helpers.models", "helpers.callbacks"} <= below
    upward = {(name, other) for name in below for other in GRAPH[name]
              if other.startswith("helpers.lesson")}
    assert not upward, f"plumbing that imports the lesson: {sorted(upward)}"


@pytest.mark.parametrize("name", sorted(lesson_order()))
def test_a_notebooks_code_uses_only_earlier_notebooks_code(name):
    order = lesson_order()
    later = {other for other in GRAPH[name] if other in order and order[other] >= order[name]}
    assert not later, f"{name} imports the code of the same or later notebooks: {sorted(later)}"


def test_no_import_cycle():
    done, active = set(), []

    def visit(name):
        assert name not in active, f"import cycle: {' -> '.join(active + [name])}"
        if name not in done:
            active.append(name)
            for other in sorted(GRAPH[name] & set(MODULES)):
                visit(other)
            active.pop()
            done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def test_import_helpers_loads_neither_tensorflow_nor_the_lessons():
    code = ("import sys, helpers, helpers.catalogue, helpers.config; "
            "print('tensorflow' in sys.modules, any(m.startswith('helpers.lesson') "
            "for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr[-2000:]
