"""Every sentence and table the notebooks print about their results, in one place apart from the
metrics: the leaderboard, ``results.md``, the verdict on a paired difference, and the conclusions of
notebooks 06, 07 and 08. Each sentence is computed from the numbers it is given, never typed in.
"""

from __future__ import annotations

import numpy as np

from helpers import artifacts
from helpers.config import Settings


LEADERBOARD_COLUMNS = (("accuracy", "accuracy", "{:.3f}"), ("macro_f1", "macro-F1", "{:.3f}"),
                       ("nll", "log-loss", "{:.3f}"), ("brier", "Brier", "{:.3f}"),
                       ("ece", "ECE", "{:.3f}"), ("temperature", "T", "{:.2f}"),
                       ("nll_ts", "log-loss (T)", "{:.3f}"), ("ece_ts", "ECE (T)", "{:.3f}"),
                       ("params", "parameters", "{:,}"), ("size_mb", "MB", "{:.1f}"),
                       ("latency_ms_batch1", "ms/image (batch 1)", "{:.1f}"),
                       ("latency_ms_batch32", "ms/image (batch 32)", "{:.2f}"))
#: Below this mean total variation distance, an ensemble's probabilities are one member's.
SAME_AS_MEMBER = 0.01


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def caveats(settings: Settings) -> list[str]:
    """What a reader must know before trusting the conclusions of this run's data."""
    if settings.uses_demo_data:
        return ["**These numbers test the code, not the method**: this run used the generated "
                "stand-in images (coloured shapes) and members trained from random weights for a "
                "couple of epochs. Run the `cpu` or `gpu` preset on the real data for findings."]
    if settings.weights == "none":
        return ["This run trained the members from random weights (`ENSEMBLE_WEIGHTS=none`): "
                "the findings are about weaker members than the series is designed for."]
    if settings.weights == "random":
        return ["**These numbers time the code, not the method**: `ENSEMBLE_WEIGHTS=random` "
                "freezes random weights where ImageNet weights would be, so the members learn "
                "little."]
    return []


def leaderboard_markdown(models: dict[str, dict]) -> str:
    """The leaderboard as a Markdown table, best accuracy first."""
    columns = [c for c in LEADERBOARD_COLUMNS if any(c[0] in row for row in models.values())]
    lines = ["| model | kind | " + " | ".join(title for _, title, _ in columns) + " |",
             "|" + "---|" * (len(columns) + 2)]
    for name, row in sorted(models.items(), key=lambda item: -item[1]["accuracy"]):
        kind = "member" if name in artifacts.MEMBER_NAMES else "ensemble"
        cells = [fmt.format(row[key]) if row.get(key) is not None else "n/a"
                 for key, _, fmt in columns]
        lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict_on_difference(diff: float, ci95, what: str, lower_is_better: bool = False,
                          subject: str = "the ensemble") -> str:
    """One sentence on a paired difference (``subject`` minus the model it is compared with)
    and its 95% interval: better or worse only when the interval excludes zero."""
    low, high = ci95
    better = (high < 0) if lower_is_better else (low > 0)
    worse = (low > 0) if lower_is_better else (high < 0)
    interval = f"95% interval [{low:+.3f}, {high:+.3f}]"
    if better:
        return f"In {what} {subject} is **better** by {abs(diff):.3f} ({interval}, excludes zero)."
    if worse:
        return f"In {what} {subject} is **worse** by {abs(diff):.3f} ({interval}, excludes zero)."
    return f"In {what} the difference, {diff:+.3f}, cannot be told from zero ({interval})."


def _lower_first(sentence: str) -> str:
    return sentence[0].lower() + sentence[1:]


# --------------------------------------------------------------------------- notebook 06
def conclusions(results: dict) -> list[str]:
    """Plain-language conclusions of notebook 06, derived from ``results.json``'s numbers."""
    member, ensemble = results["best_member"], results["best_ensemble"]
    comparison = results["ensemble_vs_best_member"]
    rows = results["models"]
    acc = {name: row["accuracy"] for name, row in rows.items()}
    lines = [f"Chosen on validation data by calibrated log-loss, before the test split was "
             f"opened: the member **{member}** (test accuracy {acc[member]:.3f}) and the ensemble "
             f"**{ensemble}** ({acc[ensemble]:.3f}), compared on the same {results['test_size']} "
             f"test images."]
    closest = results.get("closest_member") or {}
    same = closest.get("mean_total_variation", 1.0) < SAME_AS_MEMBER
    if same:
        lines.append(f"The ensemble's probabilities are those of **{closest['member']}** (mean "
                     f"total variation distance {closest['mean_total_variation']:.4f}): its "
                     f"combiner put almost all its weight on that member, so it is that member "
                     f"at the cost of all three.")
    lines.append(verdict_on_difference(comparison["accuracy_diff"], comparison["ci95"], "accuracy")
                 + f" McNemar's p = {comparison['mcnemar_p']:.3g}.")
    if "nll_ts_diff" in comparison:
        lines.append(verdict_on_difference(comparison["nll_ts_diff"], comparison["nll_ts_ci95"],
                                           "log-loss after temperature scaling",
                                           lower_is_better=True)
                     + f" Before scaling the log-losses were {rows[ensemble]['nll']:.3f} "
                     f"(ensemble) and {rows[member]['nll']:.3f} (member); after it "
                     f"{rows[ensemble]['nll_ts']:.3f} and {rows[member]['nll_ts']:.3f}, with "
                     f"temperatures {rows[ensemble]['temperature']:.2f} and "
                     f"{rows[member]['temperature']:.2f} fitted on validation predictions.")
        if "ece_ts_diff" in comparison:
            lines.append(verdict_on_difference(comparison["ece_ts_diff"], comparison["ece_ts_ci95"],
                                               "calibration error (ECE) after temperature scaling",
                                               lower_is_better=True))
        gain_raw = rows[member]["nll"] - rows[ensemble]["nll"]
        gain_ts = rows[member]["nll_ts"] - rows[ensemble]["nll_ts"]
        if gain_raw > 0 and not same:
            if gain_ts >= gain_raw:
                meaning = ("calibrating both did not shrink it, so it is not just the member's "
                           "over-confidence.")
            elif gain_ts >= gain_raw / 2:
                meaning = ("most of it survives calibration: the ensemble's probabilities carry "
                           "more information.")
            else:
                meaning = ("most of it was the member's over-confidence, which one temperature "
                           "fixes at no cost.")
            lines.append(f"The ensemble's log-loss advantage over the member is {gain_raw:.3f} "
                         f"before and {gain_ts:.3f} after temperature scaling: {meaning}")
    leaders = results.get("test_leaders", {})
    if leaders and (leaders["member"], leaders["ensemble"]) != (member, ensemble):
        lines.append(f"On the test split itself the lowest log-loss belonged to "
                     f"{leaders['member']} (member) and {leaders['ensemble']} (ensemble). Picking "
                     f"them after seeing these scores would flatter them, so the comparison above "
                     f"keeps to the choice made on validation.")
    oracle = results["oracle_accuracy"]
    line = (f"At least one member is right on {oracle:.1%} of the test images (oracle accuracy): "
            f"an ensemble that always picks one member's predicted class cannot beat "
            f"{oracle:.3f}.")
    above = sorted(name for name, value in acc.items() if value > oracle)
    if above:
        line += (f" {', '.join(above)} did, by combining probabilities or features into answers "
                 f"that no single member gave.")
    lines.append(line)
    latency = {name: row.get("latency_ms_batch32") for name, row in rows.items()}
    if latency.get(ensemble) and latency.get(member):
        lines.append(f"The ensemble costs {latency[ensemble] / latency[member]:.1f}x the latency "
                     f"per image of {member} at batch size 32.")
    return lines


def results_markdown(results: dict) -> str:
    settings = results["settings"]
    head = (f"# Results ({results['preset']} preset)\n\n"
            f"Test images: {results['test_size']}; image size {settings['image_size']}, "
            f"weights {settings['weights']}, seed {settings['seed']}, "
            f"data {settings['data_dir']}.\n\n")
    return head + leaderboard_markdown(results["models"]) + "\n\n" + bullets(
        conclusions(results)) + "\n"


def write_results(settings: Settings, results: dict):
    """Write ``results.json`` and ``results.md`` atomically into the run's folder."""
    json_path = artifacts.write_json(artifacts.results_path(settings), results)
    md_path = artifacts.write_text(json_path.with_suffix(".md"), results_markdown(results))
    return json_path, md_path


# --------------------------------------------------------------------------- notebook 07
def mean_curves(results: dict, metrics=("accuracy", "ece")) -> dict[str, dict[str, list]]:
    """Per model and metric: the clean value, then the mean over corruption types at each
    severity (the layout of ``results_shift.json``)."""
    curves = {}
    for name, by_corruption in results["models"].items():
        curves[name] = {m: [results["clean"][name][m]] + [
            float(np.mean([by_corruption[c][str(s)][m] for c in results["corruptions"]]))
            for s in results["severities"]] for m in metrics}
    return curves


def corruption_table(results: dict, corruption: str) -> str:
    """Markdown: accuracy and calibrated log-loss of every model at each severity of one
    corruption, beside its clean scores."""
    severities = results["severities"]
    header = ("| model | kind | clean accuracy | "
              + " | ".join(f"accuracy s{s}" for s in severities)
              + " | clean log-loss (T) | " + " | ".join(f"log-loss (T) s{s}" for s in severities)
              + " |")
    lines = [header, "|" + "---|" * (4 + 2 * len(severities))]
    for name, by_corruption in results["models"].items():
        cells = by_corruption[corruption]
        clean = results["clean"][name]
        kind = "member" if name in artifacts.MEMBER_NAMES else "ensemble"
        lines.append(f"| {name} | {kind} | {clean['accuracy']:.3f} | "
                     + " | ".join(f"{cells[str(s)]['accuracy']:.3f}" for s in severities)
                     + f" | {clean['nll_ts']:.3f} | "
                     + " | ".join(f"{cells[str(s)]['nll_ts']:.3f}" for s in severities) + " |")
    return "\n".join(lines)


def shift_conclusions(results: dict, comparison: dict[str, dict], ensemble: str, member: str,
                      calibration: dict | None = None) -> list[str]:
    """Plain-language conclusions of notebook 07, derived from the numbers: a difference is
    stated only where its interval excludes zero, and where the data disagree with what the
    literature leads one to expect, they say so."""
    levels = ["clean", *map(str, results["severities"])]
    worst = levels[-1]
    curves = mean_curves(results, metrics=("accuracy", "ece", "nll_ts"))
    lines = [f"Accuracy of the chosen member **{member}** falls from "
             f"{curves[member]['accuracy'][0]:.3f} on clean images to "
             f"{curves[member]['accuracy'][-1]:.3f} at severity {worst} (mean over corruption "
             f"types); the chosen ensemble **{ensemble}** goes from "
             f"{curves[ensemble]['accuracy'][0]:.3f} to {curves[ensemble]['accuracy'][-1]:.3f}."]
    for level in ("clean", worst):
        row = comparison[level]
        where = ("On clean images" if level == "clean"
                 else f"At severity {level}, pooled over corruption types")
        accuracy = verdict_on_difference(row["accuracy_diff"], row["accuracy_ci95"], "accuracy")
        log_loss = verdict_on_difference(row["nll_ts_diff"], row["nll_ts_ci95"],
                                         "calibrated log-loss", lower_is_better=True)
        lines.append(f"{where} ({row['images']} source images): {_lower_first(accuracy)} "
                     f"{log_loss}")
    row = comparison[worst]
    if "gap_growth" in row:
        low, high = row["gap_growth_ci95"]
        interval = (f"{row['gap_growth']:+.3f} from clean to severity {worst}, 95% interval "
                    f"[{low:+.3f}, {high:+.3f}]")
        literature = ("on larger benchmarks Ovadia et al. (2019) found ensembles the most accurate "
                      "and best calibrated models under shift")
        if low > 0:
            lines.append(f"The ensemble's accuracy advantage **grows** under shift ({interval}), "
                         f"in line with that: {literature}.")
        elif high < 0:
            lines.append(f"The ensemble's accuracy advantage **shrinks** under shift ({interval}), "
                         f"although {literature}.")
        else:
            lines.append(f"Whether the ensemble's accuracy advantage grows under shift cannot be "
                         f"told from these images ({interval}); {literature}.")
    if calibration:
        change, (low, high) = calibration["ece_change"], calibration["ece_change_ci95"]
        interval = f"{change:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}]"
        if low > 0:
            lines.append(f"Calibration fitted on clean data does **not** carry over: the mean ECE "
                         f"over all models, each scaled by its clean-validation temperature, rises "
                         f"at severity {worst} ({interval}).")
        elif high < 0:
            lines.append(f"The mean ECE over all models is lower at severity {worst} than on "
                         f"clean images ({interval}).")
        else:
            lines.append(f"Whether calibration carries over to severity {worst} cannot be told "
                         f"from these images (mean ECE change {interval}).")
    return lines


# --------------------------------------------------------------------------- notebook 08
def distillation_conclusions(result: dict) -> list[str]:
    """Plain-language conclusions from ``results_distillation.json``'s numbers: how much of the
    teacher's advantage over the member the student kept, and at what cost."""
    rows, diff = result["models"], result["student_vs_member"]
    student, member, teacher = rows["student"], rows["member"], rows["teacher"]
    lines = [f"Teacher **{result['teacher']}** (ensemble), member and student "
             f"**{result['student_architecture']}**: test accuracy {teacher['accuracy']:.3f}, "
             f"{member['accuracy']:.3f} and {student['accuracy']:.3f}; calibrated log-loss "
             f"{teacher['nll_ts']:.3f}, {member['nll_ts']:.3f} and {student['nll_ts']:.3f}."]
    for key, what, lower in (("accuracy", "accuracy", False),
                             ("nll_ts", "calibrated log-loss", True)):
        sentence = verdict_on_difference(diff[f"{key}_diff"], diff[f"{key}_ci95"], what,
                                         lower_is_better=lower, subject="the student")
        lines.append(f"Student against member: {_lower_first(sentence)}")
    teacher_diff = result.get("teacher_vs_member", {})
    for metric, key, higher_is_better, label in (("accuracy", "accuracy", True, "accuracy"),
                                                 ("nll_ts", "nll_ts", False,
                                                  "calibrated log-loss")):
        sign = 1 if higher_is_better else -1
        gap = sign * (teacher[metric] - member[metric])
        low, high = (sign * v for v in teacher_diff.get(f"{key}_ci95", [gap, gap]))
        if min(low, high) > 0:
            kept = sign * (student[metric] - member[metric]) / gap
            lines.append(f"The teacher's advantage over the member in {label} is {gap:.3f} (its "
                         f"interval excludes zero); the student kept {kept:.0%} of it"
                         + (" (more than all of it)." if kept > 1 else "."))
        else:
            lines.append(f"The teacher's advantage over the member in {label} ({gap:+.3f}) cannot "
                         f"be told from zero on these test images, so how much of it the student "
                         f"kept cannot be measured here.")
    if teacher.get("latency_ms_batch32") and student.get("latency_ms_batch32"):
        ratio = teacher["latency_ms_batch32"] / student["latency_ms_batch32"]
        lines.append(f"The student costs {student['latency_ms_batch32']:.2f} ms per image at batch "
                     f"32, {ratio:.1f}x less than the teacher, with {student['params']:,} "
                     f"parameters against {teacher['params']:,}.")
    return lines


# --------------------------------------------------------------------------- notebook 09
def diversity_sentences(decompositions: dict[str, dict]) -> list[str]:
    """What the ambiguity decomposition says for each averaging family, computed."""
    lines = []
    for family, d in decompositions.items():
        verb = "beats" if d["gain_over_best_member"] > 0 else "does not beat"
        lines.append(f"**{family}**: its members' mean Brier score is {d['mean_member_brier']:.4f} "
                     f"and their ambiguity {d['ambiguity']:.4f}, so the average scores "
                     f"{d['ensemble_brier']:.4f}; it {verb} its best member "
                     f"({d['best_member_brier']:.4f}), with the members disagreeing on "
                     f"{d['disagreement']:.1%} of the images.")
    ranked = sorted(decompositions, key=lambda f: decompositions[f]["ambiguity"])
    if len(ranked) > 1:
        least, most = ranked[0], ranked[-1]
        lines.append(f"The least diverse family here is {least} (ambiguity "
                     f"{decompositions[least]['ambiguity']:.4f}), the most diverse {most} "
                     f"({decompositions[most]['ambiguity']:.4f}): the more the members disagree, "
                     f"the more their average gains over their mean, which is why copies of one "
                     f"architecture need different seeds, cycles or masks to help at all.")
    return lines


SUMMARY_ROWS = ("accuracy", "calibrated log-loss", "ECE", "accuracy under shift, severity 1",
                "accuracy under shift, severity 3", "accuracy under shift, severity 5",
                "latency x", "parameters x", "training cost x")


def _verdict(diff: float, ci95, lower_is_better: bool = False) -> str:
    low, high = ci95
    if (high < 0) if lower_is_better else (low > 0):
        return "pays"
    if (low > 0) if lower_is_better else (high < 0):
        return "costs"
    return "cannot tell"


def _ratio_cell(value: float, reference: float) -> dict:
    """A measured cost as a ratio to the best member's; within 10% of 1 it cannot be told."""
    ratio = float(value) / float(reference) if reference else float("inf")
    verdict = "costs" if ratio > 1.1 else "pays" if ratio < 1 / 1.1 else "cannot tell"
    return {"verdict": verdict, "diff": ratio, "ci95": [ratio, ratio]}


def series_summary(columns: dict[str, dict], best_member_row: dict, best_member: str,
                   family: str | None = None) -> dict:
    """The series' answer: for every column (an ensemble family or the distilled student) and
    row, "pays", "costs" or "cannot tell" against the best single model, from the intervals
    (quality rows) or measured ratios (cost rows). ``family``: the architecture of the
    families' copies, when it is not the best single model's the comparison mixes it in."""
    cells = {}
    for column, row in columns.items():
        vs = row["vs_best_member"]
        cell = {"accuracy": {"verdict": _verdict(vs["accuracy_diff"], vs["accuracy_ci95"]),
                             "diff": vs["accuracy_diff"], "ci95": vs["accuracy_ci95"]},
                "calibrated log-loss": {"verdict": _verdict(vs["nll_ts_diff"], vs["nll_ts_ci95"],
                                                            lower_is_better=True),
                                        "diff": vs["nll_ts_diff"], "ci95": vs["nll_ts_ci95"]},
                "ECE": {"verdict": _verdict(vs["ece_diff"], vs["ece_ci95"], lower_is_better=True),
                        "diff": vs["ece_diff"], "ci95": vs["ece_ci95"]}}
        for severity in ("1", "3", "5"):
            shifted = row["shift"][severity]
            cell[f"accuracy under shift, severity {severity}"] = {
                "verdict": _verdict(shifted["accuracy_diff"], shifted["accuracy_ci95"]),
                "diff": shifted["accuracy_diff"], "ci95": shifted["accuracy_ci95"]}
        cell["latency x"] = _ratio_cell(row["latency_ms_batch32"],
                                        best_member_row["latency_ms_batch32"])
        cell["parameters x"] = _ratio_cell(row["params"], best_member_row["params"])
        cell["training cost x"] = _ratio_cell(row["train_seconds"],
                                              best_member_row["train_seconds"])
        cells[column] = cell
    return {"rows": list(SUMMARY_ROWS), "columns": list(columns), "best_member": best_member,
            "family": family, "cells": cells}


def summary_markdown(summary: dict) -> str:
    """The summary as a Markdown table: one row per question, one column per ensemble."""
    lines = [f"Against the best single model ({summary['best_member']}):", "",
             "| | " + " | ".join(summary["columns"]) + " |",
             "|---|" + "---|" * len(summary["columns"])]
    for row in summary["rows"]:
        cells = []
        for column in summary["columns"]:
            cell = summary["cells"][column][row]
            value = (f"{cell['diff']:.1f}x" if row.endswith(" x")
                     else f"{cell['diff']:+.3f}")
            cells.append(f"{cell['verdict']} ({value})")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_sentences(summary: dict) -> list[str]:
    """What a learner should build when, and where this run agrees with the literature,
    computed from the verdicts."""
    cells, columns = summary["cells"], summary["columns"]

    def paying(row):
        return [c for c in columns if cells[c][row]["verdict"] == "pays"]

    quality = ("accuracy", "calibrated log-loss", "ECE")
    lines = []
    for row in quality + ("accuracy under shift, severity 5",):
        who = paying(row)
        verb = "pays" if len(who) == 1 else "pay"
        lines.append(f"In {row}, " + (f"{', '.join(who)} {verb}" if who else
                                       "no ensemble pays (every interval includes zero or "
                                       "favours the single model)") + ".")
    any_gain = {c: any(cells[c][r]["verdict"] == "pays" for r in quality) for c in columns}
    cheapest = sorted((c for c in columns if any_gain[c]),
                      key=lambda c: cells[c]["latency x"]["diff"])
    if cheapest:
        c = cheapest[0]
        ratio = cells[c]["latency x"]["diff"]
        lines.append(f"On this run, the cheapest ensemble at inference whose gain could be told "
                     f"from zero is **{c}** ({ratio:.1f}x the best member's latency): build it "
                     f"when that gain is wanted, and confirm the choice on your own validation "
                     f"data.")
    else:
        lines.append("On this run no ensemble bought a measurable gain in accuracy, log-loss or "
                     "calibration: build the best single model, or measure on more images.")
    expectations = (
        ("deep_ensemble", "calibrated log-loss", "a deep ensemble improves log-loss "
         "(uncertainty-baselines, CIFAR-10: NLL 0.159 for one model, 0.114 for four seeds)"),
        ("deep_ensemble", "ECE", "a deep ensemble is better calibrated (ECE 0.023 to 0.010)"),
        ("tta", "calibrated log-loss", "test-time augmentation improves almost every method "
         "(Ashukha et al. 2020)"),
        ("mc_dropout", "accuracy under shift, severity 5", "MC dropout helps less under shift "
         "than a deep ensemble (Ovadia et al. 2019)"))
    for column, row, claim in expectations:
        if column not in cells:
            continue
        verdict = cells[column][row]["verdict"]
        agreement = ("agrees" if verdict == "pays" else "cannot confirm it"
                     if verdict == "cannot tell" else "disagrees")
        if column == "mc_dropout":  # the claim compares two verdicts, each from its interval
            deep = cells.get("deep_ensemble", {}).get(row, {}).get("verdict")
            agreement = ("agrees" if deep == "pays" and verdict != "pays" else "disagrees"
                         if verdict == "pays" and deep != "pays" else "cannot confirm it")
            verdict = f"MC dropout {verdict}, deep ensemble {deep}"
        family, best = summary.get("family"), summary["best_member"]
        if agreement == "disagrees" and family and family != best:
            agreement = (f"cannot test it: {column} is built from {family} models and the best "
                         f"single model is {best}, so the comparison is of architectures too")
        lines.append(f"The literature reports that {claim}; this run {agreement} "
                     f"({column}, {row}: {verdict}).")
    lines.append(f"These verdicts come from {len(columns)} columns and {len(summary['rows'])} rows "
                 f"of 95% intervals on one test split: a few of them can land on the wrong side of "
                 f"zero by chance, so read a lone 'pays' or 'costs' as a lead, not a result.")
    return lines


def write_summary(settings: Settings, summary: dict):
    """``results_summary.json`` and ``results_summary.md`` in the run folder."""
    json_path = artifacts.write_json(artifacts.results_path(settings, "summary"), summary)
    md_path = artifacts.write_text(json_path.with_suffix(".md"),
                                   "# When does an ensemble pay?\n\n" + summary_markdown(summary)
                                   + "\n\n" + bullets(summary_sentences(summary)) + "\n")
    return json_path, md_path
