"""benchmarks/README.md is what ``benchmarks/report.py`` makes from benchmarks/results/*.json, so
its figures are the benchmarks' own output, never typed in: when a benchmark is rerun (or the
report changes), this test fails until the file is written again."""

import difflib
import runpy

from helpers.config import project_root


ROOT = project_root()
PATH = ROOT / "benchmarks" / "README.md"


def test_benchmarks_readme_is_the_report():
    report = runpy.run_path(str(ROOT / "benchmarks" / "report.py"))
    expected = report["readme"]()
    written = PATH.read_text(encoding="utf-8") if PATH.exists() else ""
    if written != expected:
        diff = "\n".join(list(difflib.unified_diff(
            written.splitlines(), expected.splitlines(), "benchmarks/README.md (written)",
            "benchmarks/report.py (generated)", lineterm=""))[:40])
        raise AssertionError("benchmarks/README.md differs from what benchmarks/report.py "
                             "generates; run `python benchmarks/report.py --write`.\n" + diff)
