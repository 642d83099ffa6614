"""The rendered answer key: a run's executed notebooks as static HTML pages, with an index.

``python -m helpers.run --html`` runs the series, then calls ``build``; ``python -m helpers.site``
renders a run already made (the settings come from the ``ENSEMBLE_*`` variables, as for the
runner). The pages are made by nbconvert's ``HTMLExporter`` from ``<run folder>/executed/``
(the solutions too, when they ran), with their figures embedded, into ``<run folder>/site/``: one
folder an instructor can zip and hand out, and that a learner whose machine cannot keep up reads
in a browser. The index gives each notebook's title, how long its cells ran and its headline
numbers, read from the files the notebooks saved.
"""

from __future__ import annotations

import csv
import html
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from helpers import artifacts, catalogue, command_line, config, data, export


def run_seconds(nb: dict) -> float | None:
    """Seconds from the first cell's start to the last cell's end, from the timings nbclient
    records in each executed cell's metadata; None for a notebook not executed that way."""
    times = sorted(datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                   for cell in nb["cells"] if cell["cell_type"] == "code"
                   for key, stamp in cell.get("metadata", {}).get("execution", {}).items()
                   if key in ("iopub.status.busy", "iopub.status.idle"))
    return (times[-1] - times[0]).total_seconds() if times else None


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _best_epoch(path: Path) -> dict | None:
    """The row of a member's training history with the lowest validation loss."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
        return min(rows, key=lambda r: float(r["val_loss"])) if rows else None
    except (OSError, KeyError, ValueError):
        return None


def headline(settings: config.Settings, name: str) -> list[str]:
    """A few numbers that say what ``name`` found in this run, from the files it saved; an
    empty list when there are none (or the notebook has not run)."""
    lines: list[str] = []
    member = {notebook: m for m, notebook in catalogue.MEMBERS.items()}.get(name)
    if name == catalogue.NOTEBOOKS[0]:
        try:
            parts = [row["split"] for row in data.read_manifest(
                artifacts.split_path(settings).read_text(encoding="utf-8"))]
            lines.append("split: " + ", ".join(f"{parts.count(p)} {p}"
                                               for p in ("train", "val", "test")))
        except (OSError, KeyError, ValueError):
            pass
    elif member:
        best = next(filter(None, (_best_epoch(artifacts.history_path(settings, h))
                                  for h in (member, f"{member}_head"))), None)
        seconds = (_read_json(artifacts.training_seconds_path(settings)) or {}).get(member)
        if best:
            lines.append(f"{member}: best validation loss {float(best['val_loss']):.3f}, "
                         f"accuracy {float(best['val_accuracy']):.3f} "
                         f"(epoch {int(best['epoch']) + 1})")
        if isinstance(seconds, int | float):
            lines.append(f"trained in {seconds:.0f} s")
    elif name == "05_ensembles":
        choice = _read_json(artifacts.selection_path(settings)) or {}
        if "ensemble" in choice:
            lines.append(f"chosen on validation: ensemble {choice['ensemble']}, "
                         f"member {choice.get('member')}")
    elif name in catalogue.RESULTS_FILES:
        lines += _results_headline(name, _read_json(artifacts.results_path(settings, name)))
        if name == catalogue.NOTEBOOKS[-1]:
            lines += _results_headline("summary", _read_json(artifacts.summary_path(settings)))
    return lines


def _interval(row: dict, metric: str) -> str:
    """``+0.101 [+0.075, +0.128]``: ``row``'s difference in ``metric`` and its 95% interval."""
    low, high = row[f"{metric}_ci95"]
    return f"{row[f'{metric}_diff']:+.3f} [{low:+.3f}, {high:+.3f}]"


def _results_headline(name: str, results: dict | None) -> list[str]:
    """The headline of a notebook's results file (keys as the notebooks write them); an empty
    list when the file or a key is missing."""
    try:
        if name == "06_evaluation":
            ensemble, member = results["best_ensemble"], results["best_member"]
            models, vs = results["models"], results["ensemble_vs_best_member"]
            return [f"test accuracy: {ensemble} {models[ensemble]['accuracy']:.3f}, "
                    f"{member} {models[member]['accuracy']:.3f} ({results['test_size']} images)",
                    f"{ensemble} minus {member}: accuracy {_interval(vs, 'accuracy')}, "
                    f"calibrated log-loss {_interval(vs, 'nll_ts')}"]
        if name == "07_under_shift":
            chosen, rows = results["chosen"], results["comparison"]
            worst = str(max(int(k) for k in rows if k.isdigit()))
            return [f"{chosen['ensemble']} minus {chosen['single']}, accuracy: clean "
                    f"{_interval(rows['clean'], 'accuracy')}, severity {worst} "
                    f"{_interval(rows[worst], 'accuracy')}"]
        if name == "08_distillation":
            models, vs = results["models"], results["student_vs_member"]
            return [f"test accuracy: student {models['student']['accuracy']:.3f}, member "
                    f"{models['member']['accuracy']:.3f}, teacher "
                    f"{models['teacher']['accuracy']:.3f}",
                    f"student minus member: accuracy {_interval(vs, 'accuracy')}"]
        if name == "summary":
            return [f"recommended on validation: {results['recommendation']['choice']}"]
    except (KeyError, TypeError, ValueError, IndexError):
        return []
    return []


def build(settings: config.Settings, out_dir: Path | None = None) -> Path:
    """Render every executed notebook of the run with ``settings`` into ``out_dir`` (default
    ``<run folder>/site``) and write its ``index.html``; return the index's path. Each page is
    self-contained: nbconvert embeds the figures as data URIs."""
    from nbconvert import HTMLExporter

    executed = artifacts.executed_dir(settings)
    found = [n for n in catalogue.EVERY if (executed / f"{n.name}.ipynb").exists()]
    if not found:
        raise ValueError(f"No executed notebooks in {executed}: run the series first with "
                         f"`python -m helpers.run` (and these ENSEMBLE_* settings).")
    out_dir = out_dir or settings.path("site")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for notebook in found:
        source = executed / f"{notebook.name}.ipynb"
        nb = json.loads(source.read_text(encoding="utf-8"))
        page = out_dir / f"{notebook.name}.html"
        page.write_text(HTMLExporter(template_name="lab").from_filename(str(source))[0],
                        encoding="utf-8")
        numbers = "<br>".join(html.escape(line) for line in headline(settings, notebook.name))
        seconds = run_seconds(nb) or 0
        took = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
        rows.append(f'<tr><td><a href="{page.name}">{html.escape(notebook.name)}</a></td><td>'
                    f"{html.escape(export.title(nb))}</td><td>{took}</td><td>{numbers}</td></tr>")
    heading = f"Executed notebooks of {settings.run_name}"
    index = out_dir / "index.html"
    index.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(heading)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;"
        "border-bottom:1px solid #ddd;vertical-align:top;text-align:left}</style></head><body>"
        f"<h1>{html.escape(heading)}</h1>\n<pre>{html.escape(str(settings))}</pre>\n"
        "<table><tr><th>notebook</th><th>title</th><th>cells ran</th><th>headline</th></tr>\n"
        + "\n".join(rows) + "\n</table></body></html>\n", encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = command_line("site", __doc__)
    parser.add_argument("--out", type=Path, help="the folder to write (default: <run>/site)")
    args = parser.parse_args(argv)
    try:
        index = build(config.load(os.environ), args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Answer key: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
