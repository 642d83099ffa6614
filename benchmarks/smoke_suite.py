"""Benchmark 4: wall time of the series' notebooks in the ``smoke`` preset, as the test suite
runs them (``pytest --nbval-lax notebooks/[0-9]*.ipynb``), against its floor, as many fresh
kernels that only import TensorFlow, and the ratio; also the slowest cells.

Runs nbval in a temporary artifacts folder (so the generated dataset and every model are made
from scratch, as in CI), then the series once more with ``python -m helpers.run`` for the timing
of each cell, then one one-cell notebook per notebook.
Writes ``benchmarks/results/smoke_suite.json`` (or ``--out``). Usage::

    python benchmarks/smoke_suite.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
import stand_ins
from nbclient import NotebookClient

from helpers import catalogue, config
from helpers.catalogue import NOTEBOOKS


GOAL_RATIO = 3.0


def kernel_with_tensorflow_import() -> float:
    """Seconds to start a fresh kernel and import TensorFlow in it, as each notebook does."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tensorflow")])
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    return time.perf_counter() - start


def cell_seconds(path: Path) -> list[tuple[float, str]]:
    """(seconds, first line) of every executed cell, from the timing nbclient records."""
    out = []
    for cell in nbformat.read(path, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                          for k in ("iopub.execute_input", "shell.execute_reply"))
            out.append(((end - start).total_seconds(), cell.source.splitlines()[0][:60]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "smoke_suite.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as artifacts:
        env = {**os.environ, "ENSEMBLE_TEST_ARTIFACTS_DIR": str(Path(artifacts) / "nbval")}
        series = [str(catalogue.BY_NAME[name].path) for name in NOTEBOOKS]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", *series],
                       env=env, check=True, stdout=subprocess.DEVNULL, cwd=config.project_root())
        suite = time.perf_counter() - start
        env = {**os.environ, "ENSEMBLE_ARTIFACTS_DIR": artifacts}
        subprocess.run([sys.executable, "-m", "helpers.run", "--preset", "smoke"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        executed = config.load({"ENSEMBLE_PRESET": "smoke",
                                "ENSEMBLE_ARTIFACTS_DIR": artifacts}).run_dir / "executed"
        per_notebook = json.loads((executed / "timings.json").read_text())["seconds"]
        cells = sorted(((s, f"{name}: {line}") for name in NOTEBOOKS
                        for s, line in cell_seconds(executed / f"{name}.ipynb")), reverse=True)
    floor_runs = [kernel_with_tensorflow_import() for _ in NOTEBOOKS]
    floor = sum(floor_runs)
    ratio = suite / floor
    print(f"smoke suite (pytest --nbval-lax on the series, fresh artifacts): {suite:6.1f} s")
    print(f"floor ({len(NOTEBOOKS)} fresh kernels importing TensorFlow): {floor:6.1f} s "
          f"({floor / len(NOTEBOOKS):.1f} s each)")
    print(f"ratio: {ratio:.2f}x (goal: within {GOAL_RATIO:.0f}x)")
    print("\nper notebook, helpers.run (kernel start included): " + ", ".join(
        f"{name[:2]} {seconds:.1f} s" for name, seconds in per_notebook.items()))
    print("\nslowest cells:")
    for seconds, where in cells[:8]:
        print(f"  {seconds:6.2f} s  {where}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"suite_s": suite, "per_notebook_s": per_notebook,
                                    "floor_s": floor, "floor_runs_s": floor_runs,
                                    "ratio": ratio, "goal_ratio": GOAL_RATIO,
                                    "machine": stand_ins.machine(),
                                    "slowest_cells": [{"seconds": s, "cell": c}
                                                      for s, c in cells[:8]]}, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
