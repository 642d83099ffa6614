"""The README's measured figures are the benchmarks' own output, never typed in by hand:
when a benchmark is rerun, this test fails until the README is updated from it."""

import json
import re
import runpy

from helpers.catalogue import NOTEBOOKS
from helpers.config import project_root


ROOT = project_root()
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_performance_tables_are_the_benchmark_report():
    report = runpy.run_path(str(ROOT / "benchmarks" / "report.py"))
    lines = [line for table in ("goals", "end_to_end", "training", "stored_views",
                                "distillation_settings",
                                "memory") for line in report[table]()]
    assert lines, "benchmarks/results/ is empty"
    missing = [line for line in lines if line not in README]
    assert not missing, ("README.md differs from `python benchmarks/report.py`; paste its output into the "
                         f"Performance section. Lines not in the README: {missing}")


def test_notebook_table_shows_the_measured_smoke_times():
    measured = json.loads((ROOT / "benchmarks" / "results" / "smoke_suite.json").read_text())
    for name in NOTEBOOKS:
        row = re.search(rf"^\| `{name}` \|.*\| ([0-9.]+) s \|$", README, re.M)
        assert row, f"README.md has no row for {name} in the table of notebooks"
        assert row.group(1) == f"{measured['per_notebook_s'][name]:.1f}", (
            f"{name}: the README says {row.group(1)} s, benchmarks/results/smoke_suite.json says "
            f"{measured['per_notebook_s'][name]:.1f} s")


def test_ci_runs_the_readmes_commands_in_a_fresh_environment():
    """CI must see what a newcomer sees: the README's commands, in a new virtual environment."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("python3 -m venv ") for line in ci)
    for command in ("pip install -r requirements.txt", "pytest"):
        assert command in ci, f".ci/run does not run `{command}`"
        assert re.search(rf"^{re.escape(command)}(\s|$)", README, re.M), (
            f"the README does not show `{command}`")
