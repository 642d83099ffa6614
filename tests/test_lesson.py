"""One definition of the lesson code: each ``helpers/lesson`` module is exactly the
``#| default_exp`` and ``#| export`` cells of its notebook, and the notebooks' own cells define what
they use."""

import ast
import json
import shutil

import pytest

from helpers import catalogue, export
from helpers.config import project_root


def test_every_lesson_module_is_what_its_notebook_exports():
    stale = export.stale()
    assert not stale, ("A notebook's exported cells and helpers/lesson differ; run "
                       "`python -m helpers.export`:\n" + "\n\n".join(stale.values()))


def test_the_check_fails_when_a_cell_and_its_copy_differ(tmp_path, monkeypatch):
    """Edit one exported cell of a copy of the project: the check must name the module."""
    for folder in ("notebooks", "helpers"):
        shutil.copytree(project_root() / folder, tmp_path / folder)
    monkeypatch.setattr(catalogue, "FOLDER", tmp_path / "notebooks")
    monkeypatch.setattr(export, "LESSON_DIR", tmp_path / "helpers" / "lesson")
    assert export.stale() == {}
    path = tmp_path / "notebooks" / "05_ensembles.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith(export.MARKER))
    cell["source"] = "".join(cell["source"]).replace("1e-12", "1e-9")
    path.write_text(json.dumps(nb), encoding="utf-8")
    stale = export.stale()
    assert list(stale) == ["combiners"] and "-    return -np.log(np.clip(true_class, 1e-12" in (
        stale["combiners"])
    assert export.main(["--check"]) == 1
    export.write_all()
    assert export.stale() == {}


def test_a_notebook_names_its_module_and_its_imports_open_it():
    """Nothing about a notebook's exports is written outside it: the module's name and its
    imports come from the notebook's ``#| default_exp`` cell."""
    modules = {}
    for notebook in catalogue.SERIES:
        module, imports, cells = export.lesson_cells(notebook.path)
        assert module and cells, f"{notebook.name} exports no lesson code"
        modules[module] = notebook.name
        generated = (export.LESSON_DIR / f"{module}.py").read_text(encoding="utf-8")
        assert imports and imports in generated
    assert len(modules) == len(catalogue.SERIES)  # one module per notebook


@pytest.mark.parametrize("notebook", catalogue.SERIES, ids=lambda n: n.name)
def test_exported_cells_only_define(notebook):
    """An exported cell defines functions, classes and constants; running the notebook's steps
    there would run them on import too. The ``#| default_exp`` cell only imports."""
    _, imports, cells = export.lesson_cells(notebook.path)
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.parse(imports).body)
    for heading, source in cells:
        for node in ast.parse(source).body:
            assert isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign), (
                f"{notebook.name}, cell under '{heading}': exported cells may only define "
                f"(found {type(node).__name__} on line {node.lineno})")


def test_a_notebook_uses_its_own_cells_not_the_package_copy():
    """Notebook 05 must not import the lesson module it defines, or a learner's edit of a cell
    would not change what the notebook runs."""
    for notebook in catalogue.SERIES:
        module = export.lesson_cells(notebook.path)[0]
        cells = json.loads(notebook.path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert f"helpers.lesson.{module} " not in code and f"lesson import {module}" not in code
