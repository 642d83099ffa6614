"""The notebooks' shape: committed without outputs, one title, a Setup section, a main path that
ends on hand-written lessons, exercises linked to their solutions."""

import json
import re

import pytest

from helpers import catalogue, colab
from helpers.config import project_root


NOTEBOOKS = sorted((project_root() / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((project_root() / "notebooks" / "solutions").glob("*.ipynb"))
EVERY = NOTEBOOKS + SOLUTIONS


def markdown(path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_main_path_ends_on_what_to_take_away(path):
    text = markdown(path)
    end = re.search(r"^#+\s*(Going deeper|Exercises)", text, re.M)
    assert end and "## What to take away" in text[:end.start()], (
        f"{path.name}: the main path must end on '## What to take away'")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_reads_benchmark_results(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "benchmarks" not in code


def test_the_notebooks_are_the_runners_list():
    assert tuple(p.stem for p in NOTEBOOKS) == catalogue.NOTEBOOKS
    assert tuple(p.stem for p in SOLUTIONS) == catalogue.SOLUTION_NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_section_links_to_its_solutions(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    exercises = text[text.index("## Exercises"):] if "## Exercises" in text else ""
    assert exercises, f"{path.name} has no exercises"
    solutions = [s for s in catalogue.SOLUTION_NOTEBOOKS if f"solutions/{s}.ipynb" in exercises]
    assert len(solutions) == 1, f"{path.name}: its exercises must link to their solutions"
    assert path.stem in catalogue.BY_NAME[solutions[0]].covers


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name} has outputs in cells {dirty}; strip them with "
                       f"`nbstripout notebooks/*.ipynb`")


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.name)
def test_notebook_shape(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    titles = [line for text in markdown for line in text.splitlines() if line.startswith("# ")]
    assert len(titles) == 1, "one H1 title per notebook"
    assert any(text.startswith("## Setup") for text in markdown)


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.name)
def test_helpers_is_imported_before_tensorflow(path):
    """``import helpers`` mutes TensorFlow's C++ start-up lines only if TensorFlow (or Keras,
    which imports it) is not imported before it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    setup = "".join(next(c for c in cells if c["cell_type"] == "code"
                         and c.get("id") != colab.CELL_ID)["source"])
    lines = [line for line in setup.splitlines() if line.startswith(("import ", "from "))]
    first_tf = next((i for i, line in enumerate(lines) if line.split()[1].split(".")[0]
                     in ("keras", "tensorflow")), len(lines))
    first_helpers = next(i for i, line in enumerate(lines) if line.split()[1].split(".")[0] == "helpers")
    assert first_helpers < first_tf, f"{path.name}: import helpers before keras/tensorflow"


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.name)
def test_colab_cell_installs_from_the_one_repository_address(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = [c for c in cells if c.get("id") == colab.CELL_ID]
    expected = colab.setup_cell_source(colab.repository_url())
    assert len(found) == 1 and "".join(found[0]["source"]) == expected, (
        f"{path.name}: the Colab cell is missing or stale; run `python -m helpers.colab`")
    assert colab.repository_url() in expected and "colab.setup(" in expected


@pytest.mark.parametrize("path", EVERY, ids=lambda p: p.name)
def test_every_notebook_opens_in_colab_from_its_badge(path):
    """A badge after the title opens this very notebook, on the repository's main branch."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = [i for i, c in enumerate(cells) if c.get("id") == colab.BADGE_ID]
    expected = colab.badge_source(colab.repository_url(), path)
    assert found == [1] and "".join(cells[1]["source"]) == expected, (
        f"{path.name}: the Colab badge is missing or stale; run `python -m helpers.colab "
        f"{path.relative_to(project_root())}`")
    address = colab.repository_url().split("github.com/")[1]
    assert f"colab.research.google.com/github/{address}/blob/main/" in expected
    assert expected.endswith(path.relative_to(project_root()).as_posix() + ")")


def test_repository_address_missing_is_a_clear_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(ValueError, match=r"no Repository"):
        colab.repository_url(tmp_path / "pyproject.toml")
