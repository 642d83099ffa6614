"""Tables: the leaderboard, the corruption tables and the series' summary, as Markdown, and the
results files that hold them. Conclusions are not written here: each notebook states its own, in
the cell that computes their numbers.
"""

from __future__ import annotations

from helpers import artifacts, catalogue
from helpers.config import Settings


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
    return f"{difference:+.3f}" if abs(difference) >= 5e-4 or difference == 0 else (
        f"{difference:+.1e}")


def summary_markdown(summary: dict, key: str = "cells") -> str:
    """One of the summary's tables (``cells``: against the best single model; ``cells_vs_own``:
    each column against its own single model): a row per question, a column per ensemble."""
    columns = summary["columns"]
    own = ", ".join(f"{c}: {summary['own_single'][c]}" for c in columns)
    against = (f"own single model ({own})" if key == "cells_vs_own"
               else f"best single model ({summary['best_member']})")
    lines = [f"Against the {against}.", "", "| | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row in summary["rows"]:
        cells = []
        for column in columns:
            cell = summary[key][column][row]
            value = f"{cell['diff']:.1f}x" if row.endswith(" x") else signed(cell["diff"])
            cells.append(f"{cell['verdict']} ({value})")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_summary(settings: Settings, summary: dict):
    """``results_summary.json`` and ``results_summary.md``: the answer table (when the summary
    has one), both grids and the recommendation."""
    json_path = artifacts.write_json(artifacts.results_path(settings, "summary"), summary)
    recommendation = summary.get("recommendation", {})
    answer = summary.get("answer_table")
    text = ("# When does an ensemble pay?\n\n" + (f"{answer}\n\n" if answer else "")
            + summary_markdown(summary, "cells_vs_own")
            + "\n\n" + summary_markdown(summary, "cells") + "\n\n"
            + (f"Recommended on validation ({recommendation['rule']}): "
               f"**{recommendation['choice']}**.\n" if recommendation else ""))
    return json_path, artifacts.write_text(json_path.with_suffix(".md"), text)
