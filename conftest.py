"""Test set-up shared by the unit tests and the runs of the notebooks.

Every test runs in the ``smoke`` preset (generated data, random weights) with its artifacts in a
temporary folder, whatever ENSEMBLE_* variables the shell has, so the suite never touches models
trained on real data. Notebook kernels inherit this environment. Set ENSEMBLE_TEST_ARTIFACTS_DIR
to keep the artifacts of a test run.

**A notebook is one test.** ``NotebookItem`` runs all the cells of a notebook in one fresh kernel,
in order, with nbclient (the runner's own ``helpers.run.execute``); a failing cell fails the test
with the notebook, the heading above the cell and its error, and the executed notebook is kept in
``<artifacts>/executed-tests/``. ``pytest`` runs the series and the solutions;
``pytest notebooks/05_ensembles.ipynb`` runs notebook 05 and, first, every notebook it needs
(``helpers.catalogue.plan``); ``pytest -m "not notebooks"`` runs the unit tests alone.

**Two workers, whatever the plugin versions.** The suite runs on two workers (pytest-xdist,
``-n 2 --dist loadfile``; ``-n 0`` runs it in one process). ``loadfile`` sends every test of one
file to one worker, in order. All the series notebooks of a session are collected under one file,
so one worker runs them in order, while the other runs the unit tests; the solutions notebooks are
collected under another file. Whatever order the scheduler gives the files, a notebook waits until
the notebooks it reads have passed (each leaves a marker file), and fails at once, with one
message, when one of them failed or is not part of the session.
"""

import os
import tempfile
import time
from pathlib import Path

import pytest

from helpers import catalogue


ARTIFACTS_VARIABLE = "ENSEMBLE_TEST_ARTIFACTS_DIR"
#: How long a notebook waits for the notebooks it reads before it fails.
WAIT_S = 1800
#: The most one cell of a notebook may take in a test (a hung cell must not hang CI).
CELL_TIMEOUT_S = 900


def pytest_configure(config):
    is_worker = hasattr(config, "workerinput")
    if not is_worker and not os.environ.get(ARTIFACTS_VARIABLE):
        # made once, by the main process: the workers inherit it and share the notebooks' folder
        os.environ[ARTIFACTS_VARIABLE] = tempfile.mkdtemp(prefix="ensemble-tests-")
    for name in [n for n in os.environ if n.startswith("ENSEMBLE_") and n != ARTIFACTS_VARIABLE]:
        del os.environ[name]
    os.environ["ENSEMBLE_PRESET"] = "smoke"
    os.environ["ENSEMBLE_ARTIFACTS_DIR"] = os.environ[ARTIFACTS_VARIABLE]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if not is_worker:  # markers of an earlier run in a kept folder must not count
        for marker in _markers_dir().glob("*"):
            marker.unlink()


def _markers_dir() -> Path:
    folder = Path(os.environ["ENSEMBLE_ARTIFACTS_DIR"]) / ".finished-notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ------------------------------------------------------------------------- collecting notebooks
def _requested(config) -> list[str]:
    """The catalogue's notebooks that this session's arguments (or ``testpaths``) name: a
    notebook file, or every notebook in a named folder."""
    names = []
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        for notebook in catalogue.EVERY:
            if notebook.path == path or path in notebook.path.parents:
                names.append(notebook.name)
    return names


_FIRST_FILE = pytest.StashKey[dict]()


class NotebookFile(pytest.File):
    """A notebook file named on the command line (or found under ``testpaths``). The whole plan
    of the session (the notebooks asked for and those they need) is collected under the first
    such file: its series notebooks as one group, its solutions notebooks as another, so that
    ``--dist loadfile`` keeps each group on one worker, in order."""

    def collect(self):
        first = self.config.stash.setdefault(_FIRST_FILE, {})
        notebook = catalogue.by_path(self.path)
        plan = catalogue.plan(_requested(self.config))
        series = [name for name in plan if not catalogue.BY_NAME[name].solutions]
        solutions = [name for name in plan if catalogue.BY_NAME[name].solutions]
        names = []
        if "series" not in first:  # the first notebook file of any kind takes the series
            first["series"] = self.path
            names += series
        if "solutions" not in first and (notebook.solutions or not solutions):
            first["solutions"] = self.path
            names += solutions
        for name in names:
            yield NotebookItem.from_parent(self, name=name)


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".ipynb" and catalogue.by_path(file_path) is not None:
        return NotebookFile.from_parent(parent, path=file_path)
    return None


class NotebookFailed(Exception):
    """A notebook's cell failed, or a notebook it reads did not pass."""


class NotebookItem(pytest.Item):
    """One notebook, run whole in one kernel (see the module's docstring)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_marker(pytest.mark.notebooks)

    def runtest(self):
        from helpers import run

        marker = _markers_dir() / self.name
        try:
            wait_for(self.session, catalogue.needs(self.name), self.name)
            run.execute(self.name, Path(os.environ["ENSEMBLE_ARTIFACTS_DIR"]) / "executed-tests",
                        env=dict(os.environ), timeout=CELL_TIMEOUT_S)
        except run.RunError as error:
            marker.write_text("failed")
            raise NotebookFailed(f"{error}\n\n{error.details}") from None
        except BaseException:  # a notebook it needs failed, a timeout, an interruption
            marker.write_text("failed")
            raise
        marker.write_text("passed")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return catalogue.BY_NAME[self.name].path, None, f"notebook {self.name}"


def wait_for(session, names: list[str], who: str) -> None:
    """Wait until the notebooks ``names`` have passed in this session. Fail at once, with one
    message, when one of them failed, or when this session does not run it."""
    in_session = {item.name for item in session.items if isinstance(item, NotebookItem)}
    absent = [name for name in names if name not in in_session]
    if absent:
        raise NotebookFailed(
            f"{who} needs {', '.join(absent)} to run first, and this session does not run "
            f"{'it' if len(absent) == 1 else 'them'} (deselected with -k or -m?). Run "
            f"`pytest {catalogue.BY_NAME[who].path.relative_to(catalogue.FOLDER.parent)}`, "
            f"which runs every notebook it needs first.")
    deadline = time.monotonic() + WAIT_S
    while missing := [name for name in names if not (_markers_dir() / name).exists()]:
        if time.monotonic() > deadline:
            raise NotebookFailed(f"{who} waited {WAIT_S} s for {', '.join(missing)}, which did "
                                 f"not finish.")
        time.sleep(0.5)
    failed = [name for name in names if (_markers_dir() / name).read_text() != "passed"]
    if failed:
        raise NotebookFailed(f"{who} needs {', '.join(failed)} to run first, which failed: see "
                             f"{'its' if len(failed) == 1 else 'their'} failure above.")


@pytest.fixture
def notebook_passed(request):
    """``notebook_passed("02_custom_cnn")``: True once notebook 02 has passed in this session's
    shared artifacts folder, False when this session does not run it."""
    def check(name: str) -> bool:
        runs = any(isinstance(item, NotebookItem) and item.name == name
                   for item in request.session.items)
        if runs:
            wait_for(request.session, [name], request.node.name)
        return runs
    return check


def pytest_collection_modifyitems(config, items):
    """The series notebooks first, then the unit tests, then the solutions notebooks: the order
    in which one process (``-n 0``) runs them, so nothing ever waits there."""
    def rank(item):
        if not isinstance(item, NotebookItem):
            return 1
        return 2 if catalogue.BY_NAME[item.name].solutions else 0
    items.sort(key=rank)  # stable: the order within each kind is kept
