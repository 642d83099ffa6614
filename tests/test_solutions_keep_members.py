"""The worked solutions never overwrite what the series saved: after a finished smoke run, running
the three solutions notebooks leaves every file under ``models/`` and ``predictions/`` (the members,
the combiners, the student, their cached predictions) and the results files byte-identical, and
adds none there. A solution that trains a variant keeps it in memory or under its own name.

Slow (the whole series and the solutions in the smoke preset, several minutes): it builds its own
run folder with the runner, so it depends on no other test."""

import hashlib
import os
import subprocess
import sys

import pytest

from helpers import catalogue
from helpers.config import project_root


pytestmark = pytest.mark.slow

KEPT = ("models", "predictions")


def fingerprints(run_dir) -> dict[str, str]:
    """SHA-256 of every file the series keeps: under models/ and predictions/, and the run's
    JSON results and choice at the top of the run folder."""
    files = [p for folder in KEPT for p in (run_dir / folder).rglob("*") if p.is_file()]
    files += [p for p in run_dir.glob("*.json")] + [run_dir / "split.csv"]
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished smoke run of the whole series in a folder of its own: (environment, run
    folder)."""
    root = tmp_path_factory.mktemp("artifacts")
    env = {**os.environ, "ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(root)}
    for variable in ("ENSEMBLE_DATA_DIR", "ENSEMBLE_SEED", "ENSEMBLE_WEIGHTS"):
        env.pop(variable, None)
    done = subprocess.run([sys.executable, "-m", "helpers.run"], env=env, cwd=project_root(),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = [p for p in root.iterdir() if p.name.startswith("smoke-")]
    return env, run_dir


def run_notebook(path, env) -> None:
    """All cells of ``path`` in a fresh kernel inside its folder, as the runner runs them."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)


def test_solutions_leave_the_runs_members_predictions_and_results_as_they_were(finished_run):
    env, run_dir = finished_run
    before = fingerprints(run_dir)
    assert any(name.startswith("models/") for name in before)
    assert any(name.startswith("predictions/") for name in before)
    for notebook in catalogue.SOLUTIONS:
        run_notebook(notebook.path, env)
    after = fingerprints(run_dir)
    changed = sorted(name for name in before if after.get(name) != before[name])
    added = sorted(set(after) - set(before))
    assert not changed, f"the solutions changed {changed}"
    assert not added, f"the solutions wrote {added} into the run folder"
