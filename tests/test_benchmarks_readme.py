"""The benchmarks' tables in benchmarks/README.md and the main README's Performance lines are what
``benchmarks/report.py`` renders from benchmarks/results/*.json, each result names the machine it
ran on."""

import difflib
import json
import runpy

import pytest

from helpers.config import project_root


ROOT = project_root()
REPORT = ROOT / "benchmarks" / "report.py"
RESULTS = sorted((ROOT / "benchmarks" / "results").glob("*.json"))


@pytest.fixture(scope="module")
def report() -> dict:
    return runpy.run_path(str(REPORT))


@pytest.mark.parametrize("path", [ROOT / "benchmarks" / "README.md", ROOT / "README.md",
                                  ROOT / "TEACHING.md"],
                         ids=["benchmarks/README.md", "README.md", "TEACHING.md"])
def test_the_tables_are_the_reports(report, path):
    written = path.read_text(encoding="utf-8")
    assert report["MARKED"].search(written), f"{path.name} has no table from benchmarks/report.py"
    rendered = report["render"](written)
    if written != rendered:
        diff = "\n".join(list(difflib.unified_diff(
            written.splitlines(), rendered.splitlines(), "written", "rendered", lineterm=""))[:40])
        raise AssertionError(f"{path} differs from what benchmarks/report.py renders; run "
                             f"`python benchmarks/report.py --write`.\n{diff}")


def test_every_result_has_a_table(report):
    text = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    shown = {found[2] for found in report["MARKED"].finditer(text)}
    missing = [path.stem for path in RESULTS if path.stem not in shown]
    assert not missing, f"benchmarks/README.md shows no table of {missing}"


@pytest.mark.parametrize("path", RESULTS, ids=[path.name for path in RESULTS])
def test_every_result_names_its_machine(path):
    machine = json.loads(path.read_text(encoding="utf-8")).get("machine")
    assert isinstance(machine, dict), f"{path.name} records no machine"
    keys = {"cpu", "vector_extension", "cores", "python", "numpy", "tensorflow", "keras"}
    assert keys <= machine.keys(), f"{path.name}'s machine lacks {sorted(keys - machine.keys())}"


def test_an_unknown_table_name_is_a_clear_error(report):
    with pytest.raises(ValueError, match="names no table"):
        report["render"]("<!-- report.py: no_such_benchmark -->\n<!-- /report.py -->")
