"""The workshop's afternoon (notebooks 05-09) and the whole series, in the ``cpu`` preset on a
generated dataset of the real size (6,899 images, the real class counts), for both weight paths:
``random`` (random weights frozen where ImageNet's would be: the day's compute) and ``none`` (no
ImageNet weights: every member trains whole, as for a learner offline). With ``--before REF`` the
code of git commit REF runs 05-09 too, in the same run on the same machine, so the change is a
ratio measured once (hosts differ up to 1.5x in speed).

Each code runs from its own git worktree (a checkout of its commit under ``--target``, imported
first through ``PYTHONPATH``), so edits made meanwhile change nothing. Per weight path: notebooks
01-04 run once with the code of ``--after`` (both codes read the same members; the comparison is
of 05-09), the run folder is copied, then 05-09 run with REF's code and with ``--after``'s, one
after the other, each in its own copy. Records each notebook's seconds and its heaviest cells
(nbclient's timings in the executed notebooks). The worktrees are removed at the end. Usage::

    python benchmarks/afternoon.py --target /tmp/afternoon [--before 6d75720] [--after HEAD]
        [--weights random none] [--out FILE]

Writes ``benchmarks/results/afternoon.json``. A step whose outputs exist in ``--target`` is not
run again, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import stand_ins

from helpers import catalogue, generated_dataset


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MORNING, AFTERNOON = "01,02,03,04", "05,06,07,08,09"
GOALS_MINUTES = {"afternoon": {"random": 8.0, "none": 12.0}, "series": {"random": 15.0}}
HEAVIEST = 4  # cells listed per notebook
#: What the heavy cells of 05-09 do, by cell id (in the code measured as ``--after``). Every
#: other cell (imports, loading, scoring, figures, saving) and each kernel's start are "the rest":
#: what a reorganisation could still cut.
WORK = {"training the lesson needs": ("fit-concat", "04bef3a4", "wa-fit", "feature-fit",
                                      "e2553169", "deep-code", "snapshot-run", "one-network-run"),
        "predicting the images the lesson scores": (
            "check-code", "466c45b9", "6ce48e26", "78230d66", "families-store", "predict-saved",
            "predict-shift", "student-code"),
        "timings (latency; 05's epoch both ways)": ("3da31abf", "dd668693", "student-predict",
                                                    "cost-run")}


def cell_seconds(executed: Path) -> list[tuple[float, str]]:
    """Each code cell's seconds in an executed notebook, heaviest first, with the heading of
    its section and its id (nbclient records when each cell started and finished)."""
    out, heading = [], ""
    for cell in nbformat.read(executed, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("#"):
            heading = cell.source.splitlines()[0].lstrip("# ")
        timing = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type != "code" or "shell.execute_reply" not in timing:
            continue
        begin, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                      for key in ("iopub.execute_input", "shell.execute_reply"))
        out.append(((end - begin).total_seconds(), f"{heading} ({cell.get('id')})"))
    return sorted(out, reverse=True)


def work_minutes(folder: Path, notebooks: dict) -> dict[str, float]:
    """Minutes of the run in ``folder`` (its notebooks' seconds: ``notebooks``) by what the cells
    do (``WORK``); "the rest" is everything else."""
    executed = max(folder.rglob("executed/timings.json"), key=lambda p: p.stat().st_mtime).parent
    out = dict.fromkeys(WORK, 0.0)
    for name in notebooks:
        for seconds, label in cell_seconds(executed / f"{name}.ipynb"):
            cell = label.rsplit("(", 1)[-1].rstrip(")")
            kind = next((k for k, ids in WORK.items() if cell in ids), None)
            if kind:
                out[kind] += seconds
    out["the rest"] = sum(row["seconds"] for row in notebooks.values()) - sum(out.values())
    return {kind: round(seconds / 60, 2) for kind, seconds in out.items()}


def run_series(only: str, artifacts: Path, env: dict, code: Path) -> dict:
    """Run notebooks ``only`` with the code in ``code`` on the run folder under ``artifacts``;
    return each notebook's seconds and heaviest cells."""
    env = {**env, "ENSEMBLE_ARTIFACTS_DIR": str(artifacts),  # this code's package first
           "PYTHONPATH": os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))}
    found = subprocess.run([sys.executable, "-c", "import helpers; print(helpers.__file__)"],
                           env=env, cwd=code, check=True, capture_output=True, text=True)
    if not Path(found.stdout.strip()).is_relative_to(code):
        raise RuntimeError(f"{code}: imported {found.stdout.strip()} instead of its helpers")
    subprocess.run([sys.executable, "-m", "helpers.run", "--only", only], env=env, cwd=code,
                   check=True)
    timings = max(artifacts.rglob("executed/timings.json"), key=lambda p: p.stat().st_mtime)
    seconds = json.loads(timings.read_text())["seconds"]
    return {name: {"seconds": round(value, 1),
                   "heaviest_cells": [[round(s, 1), label] for s, label in cell_seconds(
                       timings.parent / f"{name}.ipynb")[:HEAVIEST]]}
            for name, value in seconds.items()}


def worktree(ref: str, target: Path) -> tuple[str, Path]:
    """``ref``'s short commit and a checkout of it (a detached git worktree under ``target``),
    made once."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", ref], check=True,
                            capture_output=True, text=True).stdout.strip()
    path = target / f"code_{commit}"
    if not path.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref],
                       check=True)
    return commit, path


def minutes(notebooks: dict) -> float:
    return round(sum(row["seconds"] for row in notebooks.values()) / 60, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--before", help="a git commit whose code runs 05-09 beside --after's")
    parser.add_argument("--after", default="HEAD", help="the code measured (default: HEAD)")
    parser.add_argument("--weights", nargs="+", default=["random", "none"],
                        choices=["random", "none"])
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "afternoon.json")
    args = parser.parse_args()
    target = args.target.resolve()
    root = generated_dataset.ensure_generated_dataset(target / "generated_real_size",
                                                      images_per_class=catalogue.CLASS_COUNTS)
    commits, codes = {}, {}
    for label, ref in (("before", args.before), ("after", args.after)):
        if ref:
            commits[label], codes[label] = worktree(ref, target)
    steps = target / "steps.json"  # what has run, so an interrupted run resumes
    done = json.loads(steps.read_text()) if steps.exists() else {}
    base_env = {**os.environ, "ENSEMBLE_DATA_DIR": str(root), "ENSEMBLE_PRESET": "cpu"}
    for weights in args.weights:
        env = {**base_env, "ENSEMBLE_WEIGHTS": weights}
        morning = target / weights / "morning"
        if f"{weights}/morning" not in done:  # reused by a later --after while 01-04 are the same
            shutil.rmtree(morning, ignore_errors=True)
            done[f"{weights}/morning"] = {"code": commits["after"], "notebooks": run_series(
                MORNING, morning, env, codes["after"])}
            steps.write_text(json.dumps(done, indent=2))
        for label, code in codes.items():
            key = f"{weights}/{commits[label]}"
            if key in done:
                continue
            folder = target / weights / commits[label]
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(morning, folder, symlinks=True)
            done[key] = run_series(AFTERNOON, folder, env, code)
            steps.write_text(json.dumps(done, indent=2))
    result = {"images": sum(catalogue.CLASS_COUNTS.values()), "preset": "cpu",
              "machine": stand_ins.machine(), "code": commits,
              "goals_minutes": GOALS_MINUTES, "paths": {}}
    for weights in args.weights:
        morning = done[f"{weights}/morning"]
        path = {"morning_minutes": minutes(morning["notebooks"]), "morning_code": morning["code"],
                "notebooks": {label: done[f"{weights}/{commits[label]}"] for label in codes}}
        for label in codes:
            path[f"afternoon_minutes_{label}"] = minutes(path["notebooks"][label])
            path[f"series_minutes_{label}"] = round(
                path["morning_minutes"] + path[f"afternoon_minutes_{label}"], 2)
        path["morning"] = morning["notebooks"]
        path["work_minutes_after"] = work_minutes(target / weights / commits["after"],
                                                  path["notebooks"]["after"])
        result["paths"][weights] = path
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for path in codes.values():  # made again by a later run if it needs them
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                       check=True)
    for weights, path in result["paths"].items():
        print(weights, {k: v for k, v in path.items() if k.endswith("minutes")
                        or "_minutes_" in k})


if __name__ == "__main__":
    main()
