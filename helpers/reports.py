"""Tables: the leaderboard, the corruption tables and the series' summary, as Markdown, and the
results files that hold them. Conclusions are not written here: each notebook states its own, in
the cell that computes their numbers.
"""

from __future__ import annotations

from helpers import artifacts, catalogue, evaluation
from helpers.config import Settings
from helpers.lesson.judging import verdict


LEADERBOARD_COLUMNS = (("accuracy", "accuracy", "{:.3f}"), ("macro_f1", "macro-F1", "{:.3f}"),
                       ("nll", "log-loss", "{:.3f}"), ("brier", "Brier", "{:.3f}"),
                       ("ece", "ECE", "{:.3f}"), ("temperature", "T", "{:.2f}"),
                       ("nll_ts", "log-loss (T)", "{:.3f}"), ("ece_ts", "ECE (T)", "{:.3f}"),
                       ("params", "parameters", "{:,}"), ("weights_mb", "weights MB", "{:.1f}"),
                       ("latency_ms_batch1", "ms/image, batch 1 (range)", "{:.1f}"),
                       ("latency_ms_batch32", "ms/image, batch 32 (range)", "{:.2f}"))


def _cell(row: dict, key: str, fmt: str) -> str:
    """One value of the leaderboard; a time with its range of timed calls after it."""
    if row.get(key) is None:
        return "n/a"
    spread = row.get(f"{key}_range")
    return fmt.format(row[key]) + (f" ({fmt.format(spread[0])}-{fmt.format(spread[1])})"
                                   if spread else "")


def leaderboard_markdown(models: dict[str, dict]) -> str:
    """The leaderboard as a Markdown table, best accuracy first."""
    columns = [c for c in LEADERBOARD_COLUMNS if any(c[0] in row for row in models.values())]
    lines = ["| model | kind | " + " | ".join(title for _, title, _ in columns) + " |",
             "|" + "---|" * (len(columns) + 2)]
    for name, row in sorted(models.items(), key=lambda item: -item[1]["accuracy"]):
        kind = "member" if name in catalogue.MEMBER_NAMES else "ensemble"
        cells = [_cell(row, key, fmt) for key, _, fmt in columns]
        lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(settings: Settings, results: dict, comparisons_table: str = ""):
    """``results.json`` and ``results.md`` (the leaderboard and notebook 06's comparisons)."""
    json_path = artifacts.write_json(artifacts.results_path(settings), results)
    head = (f"# Results ({results['preset']} preset)\n\nTest images: {results['test_size']}; "
            f"settings: {results['settings']}.\n\n")
    text = head + leaderboard_markdown(results["models"]) + "\n\n" + comparisons_table + "\n"
    return json_path, artifacts.write_text(json_path.with_suffix(".md"), text)


def corruption_table(results: dict, corruption: str) -> str:
    """Markdown: accuracy and calibrated log-loss of every model at each severity of one
    corruption, beside its clean scores (the layout of ``results_shift.json``)."""
    severities = results["severities"]
    header = ("| model | clean accuracy | " + " | ".join(f"accuracy s{s}" for s in severities)
              + " | clean log-loss (T) | " + " | ".join(f"log-loss (T) s{s}" for s in severities)
              + " |")
    lines = [header, "|" + "---|" * (3 + 2 * len(severities))]
    for name, by_corruption in results["models"].items():
        cells, clean = by_corruption[corruption], results["clean"][name]
        lines.append(f"| {name} | {clean['accuracy']:.3f} | "
                     + " | ".join(f"{cells[str(s)]['accuracy']:.3f}" for s in severities)
                     + f" | {clean['nll_ts']:.3f} | "
                     + " | ".join(f"{cells[str(s)]['nll_ts']:.3f}" for s in severities) + " |")
    return "\n".join(lines)


def signed(difference: float) -> str:
    """A difference with its sign, to three decimals; a tiny one with two significant digits,
    so that a difference told from zero never prints as ``-0.000``."""
    difference = round(difference, 12) or 0.0  # float noise (and -0.0) prints as +0.000
    return f"{difference:+.3f}" if abs(difference) >= 5e-4 or difference == 0 else (
        f"{difference:+.1e}")


def interval(diff: float, ci95, said: str | None = None, lower_is_better: bool = False) -> str:
    """A difference, its 95% interval and its verdict in bold, as every comparison table of the
    series prints them: ``+0.043 [+0.019, +0.067] **better**``. Without ``said``, the verdict is
    notebook 06's ``verdict`` of the interval."""
    said = said or verdict(diff, ci95, lower_is_better)
    return f"{signed(diff)} [{ci95[0]:+.3f}, {ci95[1]:+.3f}] **{said}**"


def compared(result: dict, key: str, lower_is_better: bool = False) -> str:
    """``interval`` of one key of a ``compare`` result (``accuracy``, ``nll_ts``, ...)."""
    return interval(result[f"{key}_diff"], result[f"{key}_ci95"],
                    lower_is_better=lower_is_better)


SAYS = {"better": "pays", "worse": "costs", "cannot tell": "cannot tell",
        "varies by copy": "varies by copy"}


def span(values) -> str:
    """One difference, or the range of several (one per seed), each with its sign."""
    low, high = min(values), max(values)
    return signed(low) if low == high else f"{signed(low)} to {signed(high)}"


def cell_text(cell: dict, ratio: bool = False) -> str:
    """A summary cell as its verdict and its difference (its range over seeds when it has
    one), or its ratio for the cost rows."""
    value = f"{cell['diff']:.2f}x" if ratio else span(cell.get("range") or [cell["diff"]])
    return f"{cell['verdict']} ({value})"


def references(names: list[str]) -> str:
    """The own single models of a summary column: one name, or 'each of the N copies'."""
    if len(names) > 1 and all(name.startswith("copy ") for name in names):
        return f"each of the {len(names)} copies"
    return ", ".join(names)


def summary_cells(results: list[dict], cost: dict, reference_cost: dict, across_seeds,
                  quality: dict, shifted: dict) -> dict:
    """The summary cells of one family against its references: for each ``quality`` title
    (``{title: (key, lower_is_better)}``) and each ``shifted`` one (``{title: (severity, key,
    lower_is_better)}``) the verdict of ``across_seeds`` over ``results`` (one comparison per
    reference), the mean difference, its range and every interval; then the cost ratios
    (latency: a verdict only outside the timings' spread; parameters and training seconds, one
    measurement each: within 10% of 1, cannot tell)."""
    def judged(rows: list[dict], key: str, lower: bool) -> dict:
        said = across_seeds(rows, key, lower)
        return {"verdict": SAYS[said["verdict"]],
                "diff": sum(said["diffs"]) / len(said["diffs"]), "range": said["range"],
                "ci95": [row[f"{key}_ci95"] for row in rows]}

    cells = {title: judged(results, key, lower) for title, (key, lower) in quality.items()}
    for title, (level, key, lower) in shifted.items():
        cells[title] = judged([row["shift"][level] for row in results], key, lower)
    ratio, spread = evaluation.latency_ratio(cost, reference_cost)
    cells["latency x"] = {"verdict": evaluation.cost_verdict(spread), "diff": ratio,
                          "ci95": list(spread)}
    for title, key in (("parameters x", "params"), ("training cost x", "train_seconds")):
        ratio = cost[key] / reference_cost[key]
        cells[title] = {"verdict": "costs" if ratio > 1.1 else "pays" if ratio < 1 / 1.1
                        else "cannot tell", "diff": ratio, "ci95": [ratio, ratio]}
    return cells


def answer_table(summary: dict, titles: dict[str, str]) -> str:
    """The answer table: a row per family against its own single models, a column per summary
    row in ``titles`` (``{summary row: column title}``)."""
    lines = ["| family | against | " + " | ".join(titles.values()) + " |",
             "|---|---|" + "---|" * len(titles)]
    for column in summary["columns"]:  # a column may repeat a family: "... (vs control)"
        cells = [cell_text(summary["cells_vs_own"][column][row], row.endswith(" x"))
                 for row in titles]
        lines.append(f"| {column.split(' (vs ')[0]} | {summary['own_single'][column]} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(summary: dict, key: str = "cells") -> str:
    """One of the summary's tables (``cells``: against the best single model; ``cells_vs_own``:
    each column against its own single models): a row per question, a column per family."""
    columns = summary["columns"]
    own = "; ".join(f"{c}: {summary['own_single'][c]}" for c in columns)
    against = (f"own single models ({own})" if key == "cells_vs_own"
               else f"best single model ({summary['best_member']})")
    lines = [f"Against the {against}.", "", "| | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row in summary["rows"]:
        lines.append(f"| {row} | " + " | ".join(
            cell_text(summary[key][column][row], row.endswith(" x")) for column in columns)
            + " |")
    return "\n".join(lines)


def write_summary(settings: Settings, summary: dict):
    """``results_summary.json`` and ``results_summary.md``: the answer table (when the summary
    has one), both grids and the recommendation."""
    json_path = artifacts.write_json(artifacts.summary_path(settings), summary)
    recommendation = summary.get("recommendation", {})
    answer = summary.get("answer_table")
    text = ("# When does an ensemble pay?\n\n" + (f"{answer}\n\n" if answer else "")
            + summary_markdown(summary, "cells_vs_own")
            + "\n\n" + summary_markdown(summary, "cells") + "\n\n"
            + (f"Recommended on validation ({recommendation['rule']}): "
               f"**{recommendation['choice']}**.\n" if recommendation else ""))
    return json_path, artifacts.write_text(json_path.with_suffix(".md"), text)
