"""Test set-up shared by the unit tests and the nbval runs of the notebooks.

Every test runs in the ``smoke`` preset (generated data, random weights) with its
artifacts in a temporary folder, whatever ENSEMBLE_* variables the shell has, so the
suite never touches models trained on real data. Notebook kernels inherit this
environment. Set ENSEMBLE_TEST_ARTIFACTS_DIR to keep the artifacts of a test run.

The suite runs on two workers (pytest-xdist, ``-n 2 --dist loadgroup``; ``-n 0`` runs it in
one process): one worker runs the series' notebooks in order while the other runs the unit
tests and then the solutions notebooks; the longest unit tests come last, for whichever worker
is free (xdist hands a worker more work when it is nearly done, so the split is usual, not
guaranteed). A solutions notebook starts only once the series notebooks whose artifacts it
reads have finished (each leaves a marker file saying whether it passed), so every order gives
the same results. Select whole notebooks: a solutions notebook waits only for the series
notebooks the session runs, and fails on the missing artifacts of the others.
"""

import os
import tempfile
import time
from pathlib import Path

import pytest


ARTIFACTS_VARIABLE = "ENSEMBLE_TEST_ARTIFACTS_DIR"
#: How long a solutions notebook waits for the series notebooks it needs before it fails.
WAIT_FOR_SERIES_S = 1800


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


def _notebook(item) -> tuple[str, bool] | None:
    """(name, is a solutions notebook) for a notebook cell's test item, else None."""
    path = Path(str(item.fspath))
    return (path.stem, path.parent.name == "solutions") if path.suffix == ".ipynb" else None


#: The last series notebook whose artifacts each solutions notebook reads: it may start once
#: that notebook has finished (07-09's solutions read only the members and notebook 05's
#: ensembles). A wrong entry fails loudly: the artifact it reads is missing.
SOLUTIONS_READ_UP_TO = {"01-04_solutions": "04_mobilenet", "05-06_solutions": "06_evaluation",
                        "07-09_solutions": "05_ensembles"}
#: Unit tests that take long go last, for the worker that finishes the series to pick up.
#: (This balances the two workers: measured, the series' worker finishes earlier.)
LONG_UNIT_TESTS = ("test_determinism.py", "test_interrupted.py", "test_combiners.py")


_timed_out: set[str] = set()  # notebooks waited for in vain: later cells fail at once


def wait_for_series(session, last: str, who: str) -> bool:
    """Wait until the series notebooks up to ``last`` that this session runs have finished;
    False when this session runs none of them. Fails at once when one of them failed (a solution
    run on its missing or half-made artifacts would only fail in a more confusing way)."""
    needed = {name for name, is_solutions in filter(None, map(_notebook, session.items))
              if not is_solutions and name <= last}
    deadline = time.monotonic() + WAIT_FOR_SERIES_S
    while missing := sorted(n for n in needed if not (_markers_dir() / n).exists()):
        if _timed_out & set(missing) or time.monotonic() > deadline:
            _timed_out.update(missing)
            pytest.fail(f"{who} waited for the series notebooks it reads, and "
                        f"{', '.join(missing)} did not finish within {WAIT_FOR_SERIES_S} s.")
        time.sleep(1)
    failed = sorted(n for n in needed if (_markers_dir() / n).read_text() == "failed")
    if failed:
        pytest.fail(f"{who} reads the artifacts of {', '.join(failed)}, which failed: "
                    f"see its failing cells above.")
    return bool(needed)


@pytest.fixture
def series_finished(request):
    """``series_finished("02_custom_cnn")``: True once the series notebooks up to 02 have run in
    this session's shared artifacts folder, False when this session does not run them."""
    return lambda last: wait_for_series(request.session, last, request.node.name)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the markers
def pytest_collection_modifyitems(config, items):
    """The series' notebooks first, then the unit tests, then the solutions notebooks; each of
    the two notebook groups stays on one xdist worker, cells in order; the longest unit tests
    last."""
    series, units, solutions = [], [], []
    for item in items:
        notebook = _notebook(item)
        if notebook is None:
            units.append(item)
        elif notebook[1]:
            item.add_marker(pytest.mark.xdist_group("solutions"))
            solutions.append(item)
        else:
            item.add_marker(pytest.mark.xdist_group("series"))
            series.append(item)
    long = [item for item in units if Path(str(item.fspath)).name in LONG_UNIT_TESTS]
    units = [item for item in units if item not in long]
    items[:] = series + units + solutions + long


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    notebook = _notebook(item)
    if notebook and notebook[1]:
        wait_for_series(item.session, SOLUTIONS_READ_UP_TO[notebook[0]], notebook[0])


_failed_notebooks: set[str] = set()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    notebook = _notebook(item)
    if notebook and not notebook[1] and report.failed:
        _failed_notebooks.add(notebook[0])
    return report


def pytest_runtest_teardown(item, nextitem):
    """After a series notebook's last cell, leave a marker that it has finished, and how."""
    notebook = _notebook(item)
    if notebook and not notebook[1] and (nextitem is None or _notebook(nextitem) != notebook):
        (_markers_dir() / notebook[0]).write_text(
            "failed" if notebook[0] in _failed_notebooks else "passed")
