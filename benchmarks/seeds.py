"""Which of the series' headline verdicts hold across training seeds: the whole series
(``python -m helpers.run``) once per seed, each in a fresh artifacts folder, then, for each
headline comparison, the difference and the verdict word of every seed and whether the verdict
was the same in every seed ("held") or not ("varies").

The seed (``ENSEMBLE_SEED``) changes the split, the initialisation and the augmentation. Every
other ``ENSEMBLE_*`` variable of the caller goes through to the runs, so the maintainers' study
of 2026-12-05 on the real photos is::

    ENSEMBLE_DATA_DIR=... ENSEMBLE_PRESET=cpu ENSEMBLE_IMAGE_SIZE=64 ENSEMBLE_MAX_PER_CLASS=80 \\
        ENSEMBLE_EPOCHS=6 ENSEMBLE_WEIGHTS=none python benchmarks/seeds.py

The comparisons (each the first model minus the second on the run's test split, with its 95%
interval over test images and ``helpers.lesson.judging.verdict``'s word): notebook 06's three
questions (``results.json``), 08's student against its member and against the one-member control
(``results_distillation.json``), 09's six families against their own single models
(``results_families.json``), each in accuracy and in calibrated log-loss; also the pairs of
copies of one recipe that 09 tells apart, and 09's recommendation. Where a family is compared with
several own single models (one per copy), the cell gives the range of the differences and the
family's verdict by 09's rule: better or worse only when every comparison says so, cannot tell
when all do, else "varies by copy". A key a run did not save reads "n/a".

Writes ``benchmarks/results/seeds_<data>.json`` (``<data>``: ``generated`` or the data folder's
name; or ``--out``) and, when its block is there, the table in benchmarks/README.md between
``<!-- seeds.py: seeds_<data> -->`` and ``<!-- /seeds.py -->``. Usage::

    python benchmarks/seeds.py [--seeds 123 42 7] [--preset smoke] [--keep DIR] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


HERE = Path(__file__).parent
README = HERE / "README.md"
#: The README block of a result: seeds.py's markers, or report.py's once it renders these.
MARKED = r"(<!-- (?:seeds|report)\.py: {name} -->\n)(.*?)(<!-- /(?:seeds|report)\.py -->)"
SEEDS = (123, 42, 7)
#: Notebook 06's and 08's comparisons: (row, results file, key).
PAIRS = (("06: ensemble − best member", "results", "ensemble_vs_best_member"),
         ("06: control − member", "results", "control_vs_member"),
         ("06: ensemble − control", "results", "ensemble_vs_control"),
         ("08: student − member", "results_distillation", "student_vs_member"),
         ("08: student − control", "results_distillation", "student_vs_control"))
FAMILIES = ("deep_ensemble", "snapshot", "mc_dropout", "tta", "batch_ensemble", "packed", "trio",
            "stacking")
#: The measures: (name in the table, key prefix, lower is better).
MEASURES = (("accuracy", "accuracy", False), ("cal. log-loss", "nll_ts", True))
#: Names each run chose: (row, results file, key).
NAMES = (("06: best member", "results", "best_member"),
         ("06: chosen ensemble", "results", "best_ensemble"),
         ("06: control", "results", "best_control"),
         ("08: control", "results_distillation", "control"))
WORDS = ("better", "worse", "cannot tell")
NA = {"verdict": "n/a", "text": "n/a"}


# --------------------------------------------------------------------------- one run's cells
def signed(x: float) -> str:
    return f"{x:+.3f}"


def as_list(value) -> list:
    """09's ``vs_own_single``/``own_single``: a list, or (the older shape) one item."""
    return [] if value is None else value if isinstance(value, list) else [value]


def across(verdicts: list[str]) -> str:
    """Notebook 09's rule over a family's comparisons with its own single models."""
    if not verdicts:
        return "n/a"
    return verdicts[0] if len(set(verdicts)) == 1 else "varies by copy"


def comparison(compares: list, refs: list, key: str, lower: bool) -> dict:
    """The cell of one or more compare dicts in measure ``key``: difference (or their range),
    95% interval (one comparison), verdict word(s), and its text; n/a when a key is missing."""
    from helpers.lesson.judging import verdict

    if not compares or any(not isinstance(c, dict) or f"{key}_diff" not in c
                           or f"{key}_ci95" not in c for c in compares):
        return dict(NA)
    diffs = [float(c[f"{key}_diff"]) for c in compares]
    cis = [[float(x) for x in c[f"{key}_ci95"]] for c in compares]
    words = [verdict(d, ci, lower) for d, ci in zip(diffs, cis)]
    word = across(words)
    vs = f" (vs {refs[0]})" if len(refs) == 1 else f" (vs each of {len(compares)})" if refs else ""
    if len(diffs) == 1:
        text = f"{signed(diffs[0])} [{signed(cis[0][0])}, {signed(cis[0][1])}] {word}{vs}"
        return {"diff": diffs[0], "ci95": cis[0], "verdict": word, "vs": refs, "text": text}
    text = f"{signed(min(diffs))} to {signed(max(diffs))} {word}{vs}"
    return {"range": [min(diffs), max(diffs)], "diffs": diffs, "ci95s": cis, "verdicts": words,
            "verdict": word, "vs": refs, "text": text}


def pairs_cell(spread: dict | None) -> dict:
    """09's copies of one recipe: how many pairs it told apart, and the largest difference."""
    if not isinstance(spread, dict) or not isinstance(spread.get("pairs"), dict):
        return dict(NA)
    pairs, told = spread["pairs"], list(spread.get("told_apart", []))
    diffs = {name: float(p["accuracy_diff"]) for name, p in pairs.items()
             if "accuracy_diff" in p}
    word = ("none told apart" if not told else "all told apart" if len(told) == len(pairs)
            else "some told apart")
    largest = max((abs(d) for d in diffs.values()), default=0.0)
    return {"told_apart": told, "pairs": len(pairs), "diffs": diffs, "largest": largest,
            "verdict": word, "text": f"{len(told)}/{len(pairs)}, largest {largest:.3f}"}


def name_cell(value) -> dict:
    return dict(NA) if value is None else {"verdict": str(value), "text": f"`{value}`"}


def run_rows(run: dict) -> dict[str, dict]:
    """Every row's cell for one run; ``run``: the JSON files' contents by name (without
    ``.json``; a file the run did not write is absent or empty)."""
    got = {name: run.get(name) or {} for name in
           ("results", "results_distillation", "results_families", "results_summary")}
    cells = {"06: test images": {"verdict": "", "text": str(got["results"].get("test_size",
                                                                             "n/a"))}}
    for row, file, key in NAMES:
        cells[row] = name_cell(got[file].get(key))
    for row, file, key in PAIRS:
        for measure, prefix, lower in MEASURES:
            found = got[file].get(key)
            cells[f"{row}: {measure}"] = comparison(as_list(found), [], prefix, lower)
    families = got["results_families"].get("families") or {}
    for family in FAMILIES:
        row = families.get(family) or {}
        refs = [str(r) for r in as_list(row.get("own_single"))]
        for measure, prefix, lower in MEASURES:
            cells[f"09: {family} − own single: {measure}"] = comparison(
                as_list(row.get("vs_own_single")), refs, prefix, lower)
    cells["09: copies of one recipe told apart"] = pairs_cell(
        got["results_families"].get("seed_spread"))
    choice = (got["results_summary"].get("recommendation") or {}).get("choice")
    cells["09: recommended"] = name_cell(choice)
    return cells


# --------------------------------------------------------------------------- across seeds
def agreement(words: list[str]) -> str:
    """"held" when every seed gave the same verdict (better, worse, cannot tell, or the same
    name), "n/a" when a seed has none, else "varies"."""
    if any(w == "n/a" for w in words):
        return "n/a"
    if words and all(w == "" for w in words):
        return ""
    same = len(set(words)) == 1
    return "held" if same and words[0] not in ("varies by copy",) else "varies"


def build_table(runs: dict) -> dict:
    """``runs``: seed -> the JSON files of that seed's run (see ``run_rows``). The rows in
    order, each with its cell per seed and its agreement, and the rows that held and varied."""
    per_seed = {str(seed): run_rows(run) for seed, run in runs.items()}
    order = list(next(iter(per_seed.values()))) if per_seed else []
    rows = []
    for name in order:
        cells = {seed: cells[name] for seed, cells in per_seed.items()}
        rows.append({"row": name, "cells": cells,
                     "agreement": agreement([c["verdict"] for c in cells.values()])})
    return {"rows": rows, **{word: [r["row"] for r in rows if r["agreement"] == word]
                             for word in ("held", "varies", "n/a")}}


def markdown(result: dict) -> list[str]:
    """The table and the lines that name the data, the settings and the runs (no machine line:
    ``readme_block`` adds it as ``report.py`` does)."""
    seeds = [str(s) for s in result["seeds"]]
    lines = ["| comparison | " + " | ".join(f"seed {s}" for s in seeds) + " | across seeds |",
             "|---" * (len(seeds) + 2) + "|"]
    for row in result["table"]["rows"]:
        texts = [row["cells"].get(s, NA)["text"] for s in seeds]
        lines.append(f"| {row['row']} | " + " | ".join(texts) + f" | {row['agreement']} |")
    lines.append("| run, minutes | " + " | ".join(
        "failed" if result["runs"][s].get("failed") else f"{result['runs'][s]['seconds'] / 60:.1f}"
        for s in seeds) + " | |")
    s = result["settings"]
    data = result["data"]
    named = (f"generated images ({data['images']:,})" if data["generated"] else
             f"`{data['name']}` ({data['images']:,} images)")
    settings = ", ".join(f"{k}={'all' if v is None else v}" for k, v in s.items()
                         if not isinstance(v, list))
    table = result["table"]
    code = result.get("code", {})
    first = {row["row"]: row["cells"][seeds[0]]["verdict"] for row in table["rows"]}
    held = [f"{row} ({first[row].strip('`')})" for row in table["held"]]
    return [*lines, "",
            f"{named}, preset `{s['preset']}`, seeds {', '.join(seeds)}; settings `{settings}`"
            f"; code {code.get('commit', 'unknown')[:7]}"
            + (f" with changes in {', '.join(code['changed'])}" if code.get("changed") else "")
            + ".", "",
            f"Held in every seed: {'; '.join(held) or 'none'}.", "",
            f"Varies: {'; '.join(table['varies']) or 'none'}."
            + (f" Not saved by some run (n/a): {'; '.join(table['n/a'])}." if table["n/a"]
               else "")]


def readme_block(result: dict) -> str:
    from report import machine

    return "\n".join([*markdown(result), "", machine(result)]) + "\n"


def write_readme(name: str, block: str) -> bool:
    """Put ``block`` between this result's markers in benchmarks/README.md; False when the
    README has no such markers (then nothing changes)."""
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(MARKED.format(name=re.escape(name)), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda m: m[1] + block + m[3], text)
    if new != text:
        README.write_text(new, encoding="utf-8")
    return True


# --------------------------------------------------------------------------- running
def read_run(run_dir: Path) -> dict:
    """The JSON files this benchmark reads, from one run folder (absent ones left out)."""
    return {name: json.loads((run_dir / f"{name}.json").read_text()) for name in
            ("results", "results_distillation", "results_families", "results_summary")
            if (run_dir / f"{name}.json").exists()}


def code_version() -> dict:
    """The commit of the code that ran (the project the runs import ``helpers`` from) and its
    changed files under helpers/ and notebooks/, if any."""
    from helpers import config

    root = config.project_root()

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "helpers", "notebooks").splitlines()
    return {"root": str(root), "commit": git("rev-parse", "HEAD") or "unknown",
            "changed": [line[3:] for line in changed]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--preset", default=os.environ.get("ENSEMBLE_PRESET") or "smoke",
                        help="default: ENSEMBLE_PRESET, else smoke")
    parser.add_argument("--keep", type=Path, help="keep each seed's artifacts in DIR/seed<N>")
    parser.add_argument("--reuse", action="store_true",
                        help="read the runs already in --keep DIR instead of running them")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/seeds_<data>.json")
    args = parser.parse_args()
    if len(args.seeds) < 3 or len(set(args.seeds)) < len(args.seeds):
        parser.error("give at least three different seeds")
    if args.reuse and not args.keep:
        parser.error("--reuse reads the runs in --keep DIR")
    import stand_ins

    from helpers import config, data

    temporary = None if args.keep else tempfile.TemporaryDirectory(prefix="seeds-")
    where = args.keep or Path(temporary.name)
    base = {**os.environ, "ENSEMBLE_PRESET": args.preset}
    runs, files = {}, {}
    for seed in args.seeds:
        env = {**base, "ENSEMBLE_SEED": str(seed),
               "ENSEMBLE_ARTIFACTS_DIR": str(where / f"seed{seed}")}
        settings = config.load(env)
        record = settings.artifacts_root / "seeds_run.json"  # this run's seconds
        if args.reuse:
            timings = settings.path("executed", "timings.json")
            runs[str(seed)] = (json.loads(record.read_text()) if record.exists() else {
                "seconds": sum(json.loads(timings.read_text())["seconds"].values())
                if timings.exists() else float("nan"), "run_dir": str(settings.run_dir)})
        else:
            settings.artifacts_root.mkdir(parents=True, exist_ok=True)
            log = settings.artifacts_root / "run.log"
            print(f"seed {seed}: python -m helpers.run --preset {args.preset} (log: {log})",
                  flush=True)
            start = time.perf_counter()
            with log.open("w") as out:
                done = subprocess.run([sys.executable, "-m", "helpers.run", "--preset",
                                       args.preset], env=env, stdout=out, stderr=subprocess.STDOUT,
                                      cwd=config.project_root())  # the helpers imported here
            runs[str(seed)] = {"seconds": time.perf_counter() - start,
                               "run_dir": str(settings.run_dir)}
            if done.returncode:
                runs[str(seed)]["failed"] = f"exit code {done.returncode}"
                print(f"  failed (exit code {done.returncode}); the log ends:\n"
                      + "\n".join(log.read_text().splitlines()[-15:]), flush=True)
            else:
                print(f"  {runs[str(seed)]['seconds']:.0f} s", flush=True)
            record.write_text(json.dumps(runs[str(seed)]))
        files[seed] = read_run(settings.run_dir)
    first = config.load({**base, "ENSEMBLE_SEED": str(args.seeds[0]),
                         "ENSEMBLE_ARTIFACTS_DIR": str(where / f"seed{args.seeds[0]}")})
    data_dir = first.data_dir or first.generated_data_dir
    images = data.scan(data_dir, check=False).total if data_dir.exists() else None
    tag = "generated" if first.data_dir is None else first.data_dir.name.replace(" ", "_")
    keys = ("image_size", "epochs", "batch_size", "weights", "max_per_class", "shift_images",
            "corruptions", "latency_calls", "views", "combiner_epochs", "folds",
            "family_members", "dropout_samples", "val_fraction", "test_fraction")
    value = {k: getattr(first, k) for k in keys}
    result = {"machine": stand_ins.machine(),
              "data": {"generated": first.data_dir is None, "name": tag, "images": images},
              "settings": {"preset": first.preset, **{k: list(v) if isinstance(v, tuple) else v
                                                      for k, v in value.items()}},
              "overrides": sorted(config.VARIABLES[k] for k in first.overrides
                                  if k not in ("seed", "artifacts_root")),
              "seeds": args.seeds, "runs": runs, "code": code_version(),
              "table": build_table(files)}
    if temporary is not None:
        temporary.cleanup()
    name = f"seeds_{tag}"
    out = args.out or stand_ins.RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("\n" + "\n".join(markdown(result)))
    print(f"\nwritten: {out}")
    if args.out is None:
        shown = write_readme(name, readme_block(result))
        print("benchmarks/README.md updated" if shown else
              f"benchmarks/README.md has no block <!-- seeds.py: {name} --> ... "
              "<!-- /seeds.py -->; add one to show this table there")


if __name__ == "__main__":
    main()
