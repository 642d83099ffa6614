"""Predictions and the numbers that judge them: accuracy, macro-F1, log-loss, Brier score,
calibration error, paired comparisons, diversity and latency."""

from __future__ import annotations

import time
import weakref

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from helpers.calibration import apply_temperature


def predict(model, dataset, batch_size: int = 32):
    """Class probabilities (or whatever ``model`` outputs) for every image of an
    *unshuffled* pipeline of ``(images, labels)`` batches, or of an array of images, in
    order. A model with several outputs gives a list of arrays. Uses the model's compiled
    inference function, shared with ``latency_ms``."""
    run = inference_function(model)
    if isinstance(dataset, np.ndarray):
        batches = [run(dataset[i:i + batch_size].astype("float32"))
                   for i in range(0, len(dataset), batch_size)]
    else:
        batches = [run(images) for images, _ in dataset]
    if isinstance(batches[0], (list, tuple)):
        return [np.concatenate([np.asarray(b[i]) for b in batches]) for i in range(len(batches[0]))]
    return np.concatenate([np.asarray(b) for b in batches])


def report(labels: np.ndarray, probs: np.ndarray, class_names: list[str]) -> str:
    """scikit-learn's per-class precision / recall / F1 table."""
    return skm.classification_report(labels, probs.argmax(1), labels=range(len(class_names)),
                                     target_names=class_names, digits=3, zero_division=0)


def brier_score(labels: np.ndarray, probs: np.ndarray) -> float:
    """Multi-class Brier score: mean squared distance to the one-hot label (0 is perfect, 2 worst)."""
    onehot = np.eye(probs.shape[1])[labels]
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = 15) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins
    weighted by how many predictions fall in each."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def reliability(labels: np.ndarray, probs: np.ndarray, bins: int = 15):
    """Per-bin (mean confidence, accuracy, count) for a reliability diagram."""
    confidence = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = [(confidence[which == b].mean(), correct[which == b].mean(), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]
    return np.array(rows).reshape(-1, 3)


def log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-probability of the true class (scikit-learn's, probabilities clipped)."""
    return float(skm.log_loss(labels, np.clip(probs, 1e-7, 1.0), labels=range(probs.shape[1])))


def per_image_nll(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """-log(probability of the true class) of every image; its mean is the log-loss (``log_loss``
    also renormalises after clipping, so the two can differ for probabilities below 1e-7)."""
    return -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0))


def scores(labels: np.ndarray, probs: np.ndarray, temperature: float | None = None) -> dict[str, float]:
    """The leaderboard's quality columns for one model; with ``temperature`` (fitted on
    validation data) also its log-loss and ECE after temperature scaling."""
    k = probs.shape[1]
    row = {
        "accuracy": float(skm.accuracy_score(labels, probs.argmax(1))),
        "macro_f1": float(skm.f1_score(labels, probs.argmax(1), labels=range(k), average="macro",
                                       zero_division=0)),
        "nll": log_loss(labels, probs),
        "brier": brier_score(labels, probs),
        "ece": expected_calibration_error(labels, probs),
    }
    if temperature is not None:
        scaled = apply_temperature(probs, temperature)
        row.update(temperature=float(temperature), nll_ts=log_loss(labels, scaled),
                   ece_ts=expected_calibration_error(labels, scaled))
    return row


def best_by_log_loss(rows: dict[str, dict]) -> str:
    """The name whose scores have the lowest log-loss; ties go to the higher accuracy.
    Log-loss is a proper scoring rule: on a few dozen images it separates models far better
    than accuracy, which moves in steps of one image and often ties."""
    if not rows:
        raise ValueError("No models to choose from.")
    return min(rows, key=lambda name: (rows[name]["nll"], -rows[name]["accuracy"]))


def per_class_f1(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return skm.f1_score(labels, probs.argmax(1), labels=range(probs.shape[1]), average=None,
                        zero_division=0)


def paired_bootstrap(labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray,
                     n_resamples: int = 2000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Accuracy of A minus accuracy of B on the same images, with a 95% bootstrap interval."""
    correct_a = (probs_a.argmax(1) == labels).astype(float)
    return paired_difference(correct_a, (probs_b.argmax(1) == labels).astype(float), n_resamples, seed)


def paired_nll_bootstrap(labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray,
                         n_resamples: int = 2000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Log-loss of A minus log-loss of B on the same images (negative: A is better), with a
    95% bootstrap interval."""
    return paired_difference(per_image_nll(labels, probs_a), per_image_nll(labels, probs_b),
                             n_resamples, seed)


def paired_difference(values_a: np.ndarray, values_b: np.ndarray, n_resamples: int = 2000,
                      seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Mean of ``values_a - values_b`` (one value per image for each model) with a 95% interval
    from scipy's percentile bootstrap over resampled images, pairs kept together."""
    diff = np.asarray(values_a, dtype=float) - np.asarray(values_b, dtype=float)
    result = stats.bootstrap((diff,), np.mean, n_resamples=n_resamples, method="percentile",
                             random_state=np.random.default_rng(seed))
    low, high = result.confidence_interval
    low = float(np.nan_to_num(low, nan=diff.mean()))
    high = float(np.nan_to_num(high, nan=diff.mean()))
    return float(diff.mean()), (low, high)


def mcnemar(labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray) -> dict:
    """McNemar's exact test: do A and B err on different images more often than chance says?
    Uses the images exactly one of them gets right; p = 1 when there are none."""
    right_a = probs_a.argmax(1) == labels
    right_b = probs_b.argmax(1) == labels
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(~right_a & right_b))
    n = only_a + only_b
    p = 1.0 if n == 0 else float(stats.binomtest(only_a, n, 0.5).pvalue)
    return {"only_a_right": only_a, "only_b_right": only_b, "p_value": p}


def disagreement(probs_a: np.ndarray, probs_b: np.ndarray) -> float:
    """Share of images on which two models predict different classes."""
    return float(np.mean(probs_a.argmax(1) != probs_b.argmax(1)))


def oracle_accuracy(labels: np.ndarray, member_probs: list[np.ndarray]) -> float:
    """Share of images that at least one member classifies correctly: an upper bound for
    any ensemble that picks one member's answer."""
    right = np.stack([p.argmax(1) == labels for p in member_probs])
    return float(right.any(axis=0).mean())


_INFERENCE_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def inference_function(model):
    """``model`` in inference mode as one compiled TensorFlow function for any batch size.

    ``predict_on_batch`` compiles (traces) the model again for each new batch size, which
    for an ensemble of three networks costs about half a second; this function is compiled
    once per model and reused for every batch size and every timing."""
    import tensorflow as tf

    if model not in _INFERENCE_FUNCTIONS:
        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        weak_model = weakref.ref(model)  # the cache must not keep the model alive

        @tf.function(input_signature=[spec])
        def run(images):
            return weak_model()(images, training=False)

        _INFERENCE_FUNCTIONS[model] = run
    return _INFERENCE_FUNCTIONS[model]


def latency_timing(preset: str) -> dict[str, int]:
    """How many calls notebook 06 times per model and batch size (the training-cost benchmark
    counts them too). In the ``smoke`` preset the numbers only check the plumbing, so one
    call after one warm-up; elsewhere the median of five after one warm-up."""
    return {"repeats": 1, "warmup": 1} if preset == "smoke" else {"repeats": 5, "warmup": 1}


def latency_ms(model, image_size: int, batch_size: int, repeats: int = 5, warmup: int = 2) -> float:
    """Median milliseconds per image of one inference call on a batch of random images."""
    run = inference_function(model)
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3))
    batch = batch.astype("float32")
    for _ in range(warmup):
        run(batch)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(run(batch))
        timings.append(time.perf_counter() - start)
    return float(np.median(timings) * 1000 / batch_size)


# --------------------------------------------------------------------------- results
LEADERBOARD_COLUMNS = (("accuracy", "{:.3f}"), ("macro_f1", "{:.3f}"), ("nll", "{:.3f}"),
                       ("brier", "{:.3f}"), ("ece", "{:.3f}"), ("temperature", "{:.2f}"),
                       ("nll_ts", "{:.3f}"), ("ece_ts", "{:.3f}"), ("params", "{:,}"),
                       ("size_mb", "{:.1f}"), ("latency_ms_batch1", "{:.1f}"),
                       ("latency_ms_batch32", "{:.2f}"))


def leaderboard_markdown(models: dict[str, dict], members: tuple[str, ...]) -> str:
    """The leaderboard as a Markdown table, best accuracy first."""
    header = "| model | kind | " + " | ".join(c for c, _ in LEADERBOARD_COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(LEADERBOARD_COLUMNS) + 2)]
    for name, row in sorted(models.items(), key=lambda item: -item[1]["accuracy"]):
        kind = "member" if name in members else "ensemble"
        cells = [fmt.format(row[c]) if row.get(c) is not None else "n/a" for c, fmt in LEADERBOARD_COLUMNS]
        lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict_on_difference(diff: float, ci95, what: str, lower_is_better: bool = False,
                          subject: str = "the ensemble") -> str:
    """One sentence on a paired difference (``subject`` minus the model it is compared with)
    and its 95% interval."""
    low, high = ci95
    better = (high < 0) if lower_is_better else (low > 0)
    worse = (low > 0) if lower_is_better else (high < 0)
    interval = f"95% interval [{low:+.3f}, {high:+.3f}]"
    if better:
        return f"In {what} {subject} is **better** by {abs(diff):.3f} ({interval}, excludes zero)."
    if worse:
        return f"In {what} {subject} is **worse** by {abs(diff):.3f} ({interval}, excludes zero)."
    return f"In {what} the difference, {diff:+.3f}, cannot be told from zero ({interval})."


def conclusions(results: dict) -> list[str]:
    """Plain-language conclusions derived from the numbers in ``results`` (nothing typed in)."""
    member, ensemble = results["best_member"], results["best_ensemble"]
    comparison = results["ensemble_vs_best_member"]
    rows = results["models"]
    acc = {name: row["accuracy"] for name, row in rows.items()}
    lines = [f"Chosen on validation data by log-loss, before the test split was opened: the member "
             f"**{member}** (test accuracy {acc[member]:.3f}) and the ensemble **{ensemble}** "
             f"({acc[ensemble]:.3f}), compared on the same {results['test_size']} test images."]
    lines.append(verdict_on_difference(comparison["accuracy_diff"], comparison["ci95"], "accuracy")
                 + f" McNemar's p = {comparison['mcnemar_p']:.3g}.")
    if "nll_ts_diff" in comparison:
        lines.append(verdict_on_difference(comparison["nll_ts_diff"], comparison["nll_ts_ci95"],
                                           "log-loss after temperature scaling", lower_is_better=True)
                     + f" Before scaling the log-losses were {rows[ensemble]['nll']:.3f} (ensemble) and "
                     f"{rows[member]['nll']:.3f} (member); after it {rows[ensemble]['nll_ts']:.3f} and "
                     f"{rows[member]['nll_ts']:.3f}, with temperatures {rows[ensemble]['temperature']:.2f} "
                     f"and {rows[member]['temperature']:.2f} fitted on validation predictions.")
        gain_raw = rows[member]["nll"] - rows[ensemble]["nll"]
        gain_ts = rows[member]["nll_ts"] - rows[ensemble]["nll_ts"]
        if gain_raw > 0:
            if gain_ts >= gain_raw:
                meaning = "calibrating both did not shrink it, so it is not just the member's over-confidence."
            elif gain_ts >= gain_raw / 2:
                meaning = "most of it survives calibration: the ensemble's probabilities carry more information."
            else:
                meaning = ("most of it was the member's over-confidence, which one temperature fixes at "
                           "no cost.")
            lines.append(f"The ensemble's log-loss advantage over the member is {gain_raw:.3f} before and "
                         f"{gain_ts:.3f} after temperature scaling: {meaning}")
    leaders = results.get("test_leaders", {})
    if leaders and (leaders["member"], leaders["ensemble"]) != (member, ensemble):
        lines.append(f"On the test split itself the lowest log-loss belonged to {leaders['member']} "
                     f"(member) and {leaders['ensemble']} (ensemble). Picking them after seeing these scores "
                     f"would flatter them, so the comparison above keeps to the choice made on validation.")
    oracle = results["oracle_accuracy"]
    line = (f"At least one member is right on {oracle:.1%} of the test images (oracle accuracy): an "
            f"ensemble that always picks one member's predicted class cannot beat {oracle:.3f}.")
    above = sorted(name for name, value in acc.items() if value > oracle)
    if above:
        line += (f" {', '.join(above)} did, by combining probabilities or features into answers that "
                 f"no single member gave.")
    lines.append(line)
    latency = {name: row.get("latency_ms_batch32") for name, row in rows.items()}
    if latency.get(ensemble) and latency.get(member):
        lines.append(f"The ensemble costs {latency[ensemble] / latency[member]:.1f}x the latency per "
                     f"image of {member} at batch size 32.")
    return lines


def results_markdown(results: dict, members: tuple[str, ...]) -> str:
    settings = results["settings"]
    head = (f"# Results ({results['preset']} preset)\n\n"
            f"Test images: {results['test_size']}; image size {settings['image_size']}, "
            f"weights {settings['weights']}, seed {settings['seed']}, data {settings['data_dir']}.\n\n")
    return (head + leaderboard_markdown(results["models"], members) + "\n\n"
            + "\n".join(f"- {line}" for line in conclusions(results)) + "\n")


def write_results(run_dir, results: dict, members: tuple[str, ...]):
    """Write ``results.json`` and ``results.md`` atomically into the run's folder."""
    import os
    from pathlib import Path

    from helpers.config import write_json_atomic

    run_dir = Path(run_dir)
    write_json_atomic(run_dir / "results.json", results)
    tmp = run_dir / "results.md.partial"
    tmp.write_text(results_markdown(results, members), encoding="utf-8")
    os.replace(tmp, run_dir / "results.md")
    return run_dir / "results.json", run_dir / "results.md"
