"""How pytest runs the notebooks: each notebook is one test (so its cells cannot be split between
workers), the series is one file's tests (so ``--dist loadfile`` keeps it on one worker, in
order), and naming one notebook runs the notebooks it needs first."""

import os
import subprocess
import sys

import pytest

from helpers import catalogue
from helpers.config import project_root


ROOT = project_root()
#: A pytest run inside the suite gets its own artifacts folder (it would otherwise share, and
#: clear, the markers of the notebooks this session is running).
ENV = {name: value for name, value in os.environ.items() if not name.startswith("ENSEMBLE_")}


def collected(*args: str) -> list[str]:
    """The node ids ``pytest --collect-only`` finds for ``args``, in the order they would run."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0",
                             *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def scope(nodeid: str) -> str:
    """What ``--dist loadfile`` sends to one worker: the tests of one file (before ``::``)."""
    return nodeid.split("::", 1)[0]


def test_the_needs_of_a_notebook_come_from_what_it_reads():
    assert catalogue.needs("01_data_preview") == []
    assert catalogue.needs("05_ensembles") == ["01_data_preview", "02_custom_cnn", "03_vgg16",
                                               "04_mobilenet"]
    assert catalogue.plan(["07_under_shift", "02_custom_cnn"]) == [
        "01_data_preview", "02_custom_cnn", "03_vgg16", "04_mobilenet", "05_ensembles",
        "07_under_shift"]
    assert catalogue.plan(["05-06_solutions"])[-2:] == ["06_evaluation", "05-06_solutions"]
    for notebook in catalogue.EVERY:  # each reads only notebooks that run before it
        assert all(catalogue.EVERY.index(catalogue.BY_NAME[r]) < catalogue.EVERY.index(notebook)
                   for r in notebook.reads)
    with pytest.raises(ValueError, match="No notebook called '10_more'"):
        catalogue.needs("10_more")


def test_cells_of_one_notebook_can_never_run_on_two_workers():
    """Every notebook is exactly one test, and the series (then the solutions) are each the
    tests of one file, which ``--dist loadfile`` runs on one worker in the order collected."""
    addopts = [line for line in (ROOT / "pyproject.toml").read_text().splitlines()
               if line.startswith("addopts")]
    assert len(addopts) == 1 and "--dist loadfile" in addopts[0]
    ids = collected()
    notebook_ids = [nodeid for nodeid in ids if nodeid.startswith("notebooks/")]
    names = [nodeid.rsplit("::", 1)[1] for nodeid in notebook_ids]
    assert names == [notebook.name for notebook in catalogue.EVERY]  # once each, in order
    series, solutions = notebook_ids[:len(catalogue.SERIES)], notebook_ids[len(catalogue.SERIES):]
    assert len({scope(nodeid) for nodeid in series}) == 1
    assert len({scope(nodeid) for nodeid in solutions}) == 1
    assert scope(series[0]) != scope(solutions[0])


def test_one_notebook_runs_after_the_notebooks_it_needs():
    ids = collected("notebooks/05_ensembles.ipynb")
    assert [nodeid.rsplit("::", 1)[1] for nodeid in ids] == catalogue.plan(["05_ensembles"])
    assert {scope(nodeid) for nodeid in ids} == {"notebooks/05_ensembles.ipynb"}
    ids = collected("notebooks/solutions/07-09_solutions.ipynb")
    assert [nodeid.rsplit("::", 1)[1] for nodeid in ids] == catalogue.plan(["07-09_solutions"])
    assert len({scope(nodeid) for nodeid in ids}) == 1


def test_a_notebook_without_what_it_needs_stops_at_once_with_one_message():
    deselect = [f"--deselect=notebooks/05_ensembles.ipynb::{name}"
                for name in catalogue.needs("05_ensembles")]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0",
                             "notebooks/05_ensembles.ipynb", *deselect], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, env=ENV)
    assert result.returncode == 1 and "1 failed" in result.stdout
    assert ("05_ensembles needs 01_data_preview, 02_custom_cnn, 03_vgg16, 04_mobilenet to run "
            "first, and this session does not run them") in result.stdout
    assert "pytest notebooks/05_ensembles.ipynb" in result.stdout
    assert "NameError" not in result.stdout
