"""What learners read stays readable: the package passes ruff with lines of at most 100
characters, and every code line of the notebooks is under 100 characters (Colab's editor scrolls
beyond)."""

import json
import subprocess
import sys

import pytest

from helpers.config import project_root


ROOT = project_root()


def test_ruff_passes_on_the_package_tests_benchmarks_and_notebooks():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "helpers", "tests", "benchmarks",
                             "notebooks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    lines = subprocess.run([sys.executable, "-m", "ruff", "check", "helpers", "--select", "E501"],
                           cwd=ROOT, capture_output=True, text=True)
    assert lines.returncode == 0, lines.stdout[-3000:]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").rglob("*.ipynb")),
                         ids=lambda p: p.name)
def test_notebook_code_lines_are_under_100_characters(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    long = [(i, line) for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) >= 100]
    assert not long, f"{path.name}: code lines of 100 characters or more: {long}"
