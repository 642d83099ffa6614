"""The README says what is true: its commands are CI's, its notebook table is the catalogue's, and
its performance summary is the benchmarks' own output, never typed in."""

import re
import runpy

from helpers import catalogue
from helpers.config import project_root


ROOT = project_root()
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_short_enough_to_read():
    assert len(README.splitlines()) <= 250


def test_the_performance_summary_is_the_benchmark_report():
    report = runpy.run_path(str(ROOT / "benchmarks" / "report.py"))
    lines = report["summary"]()
    assert lines, "benchmarks/results/ is empty"
    missing = [line for line in lines if line not in README]
    assert not missing, ("README.md's Performance section differs from `summary()` in "
                         f"benchmarks/report.py; paste its lines. Missing: {missing}")


def test_the_notebook_table_lists_the_catalogue():
    rows = re.findall(r"^\| `(\d\d_\w+)` \|", README, re.M)
    assert tuple(rows) == catalogue.NOTEBOOKS


def test_ci_runs_the_readmes_commands_in_a_fresh_environment():
    """CI must see what a newcomer sees: the README's commands, in a new virtual environment."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("python3 -m venv ") for line in ci)
    for command in ("pip install -r requirements.txt", "pytest"):
        assert command in ci, f".ci/run does not run `{command}`"
        assert re.search(rf"^{re.escape(command)}(\s|$)", README, re.M), (
            f"the README does not show `{command}`")
