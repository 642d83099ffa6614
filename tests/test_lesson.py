"""One definition of the lesson code: each ``helpers/lesson`` module is exactly the ``#| export``
cells of its notebook, and the notebooks' own cells define what they use."""

import json
import shutil

import pytest

from helpers import export
from helpers.config import project_root


def test_every_lesson_module_is_what_its_notebook_exports():
    stale = export.stale()
    assert not stale, ("A notebook's #| export cells and helpers/lesson differ; run "
                       "`python -m helpers.export`:\n" + "\n\n".join(stale.values()))


def test_the_check_fails_when_a_cell_and_its_copy_differ(tmp_path, monkeypatch):
    """Edit one exported cell of a copy of the project: the check must name the module."""
    for folder in ("notebooks", "helpers"):
        shutil.copytree(project_root() / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.setattr(export, "project_root", lambda: tmp_path)
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


@pytest.mark.parametrize("lesson", export.LESSONS, ids=lambda lesson: lesson.module)
def test_exported_cells_only_define(lesson):
    """An exported cell defines functions, classes and constants; running the notebook's steps
    there would run them on import too."""
    import ast

    notebook = project_root() / "notebooks" / f"{lesson.notebook}.ipynb"
    for heading, source in export.exported_cells(notebook):
        for node in ast.parse(source).body:
            assert isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)), (
                f"{lesson.notebook}, cell under '{heading}': exported cells may only define "
                f"(found {type(node).__name__} on line {node.lineno})")


def test_a_notebook_uses_its_own_cells_not_the_package_copy():
    """Notebook 05 must not import the lesson module it defines, or a learner's edit of a cell
    would not change what the notebook runs."""
    for lesson in export.LESSONS:
        cells = json.loads((project_root() / "notebooks" / f"{lesson.notebook}.ipynb").read_text())
        code = "\n".join("".join(c["source"]) for c in cells["cells"] if c["cell_type"] == "code")
        assert f"helpers.lesson.{lesson.module}" not in code
        assert f"lesson import {lesson.module}" not in code
