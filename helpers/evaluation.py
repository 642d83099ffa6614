"""Predictions and the numbers that judge them: accuracy, macro-F1, log-loss, Brier score,
calibration error, paired comparisons, diversity and latency."""

from __future__ import annotations

import time
import weakref

import numpy as np
from scipy import stats
from sklearn import metrics as skm


def predict(model, dataset) -> np.ndarray:
    """Class probabilities (or whatever ``model`` outputs) for every image of an
    *unshuffled* pipeline of ``(images, labels)`` batches, in file order. Uses the model's
    compiled inference function, shared with ``latency_ms``."""
    run = inference_function(model)
    return np.concatenate([np.asarray(run(images)) for images, _ in dataset])


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


def scores(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """The leaderboard's quality columns for one model."""
    k = probs.shape[1]
    return {
        "accuracy": float(skm.accuracy_score(labels, probs.argmax(1))),
        "macro_f1": float(skm.f1_score(labels, probs.argmax(1), labels=range(k), average="macro",
                                       zero_division=0)),
        "nll": float(skm.log_loss(labels, np.clip(probs, 1e-7, 1.0), labels=range(k))),
        "brier": brier_score(labels, probs),
        "ece": expected_calibration_error(labels, probs),
    }


def best_by_accuracy(rows: dict[str, dict]) -> str:
    """The name whose scores have the highest accuracy; ties go to the lower log-loss
    (on a few dozen images several models often share one accuracy)."""
    if not rows:
        raise ValueError("No models to choose from.")
    return max(rows, key=lambda name: (rows[name]["accuracy"], -rows[name]["nll"]))


def per_class_f1(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return skm.f1_score(labels, probs.argmax(1), labels=range(probs.shape[1]), average=None,
                        zero_division=0)


def paired_bootstrap(labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray,
                     n_resamples: int = 2000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Accuracy of A minus accuracy of B on the same images, with a 95% bootstrap interval
    (scipy's BCa-free percentile method over resampled images, pairs kept together)."""
    diff = (probs_a.argmax(1) == labels).astype(float) - (probs_b.argmax(1) == labels)
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
                       ("brier", "{:.3f}"), ("ece", "{:.3f}"), ("params", "{:,}"),
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


def conclusions(results: dict) -> list[str]:
    """Plain-language conclusions derived from the numbers in ``results`` (nothing typed in)."""
    member, ensemble = results["best_member"], results["best_ensemble"]
    comparison = results["ensemble_vs_best_member"]
    diff, (low, high), p = comparison["accuracy_diff"], comparison["ci95"], comparison["mcnemar_p"]
    acc = {name: row["accuracy"] for name, row in results["models"].items()}
    lines = [f"Chosen on validation data, before the test split was opened: the member **{member}** "
             f"(test accuracy {acc[member]:.3f}) and the ensemble **{ensemble}** ({acc[ensemble]:.3f})."]
    if low > 0:
        lines.append(f"The ensemble is better by {diff:+.3f} accuracy, and the 95% interval "
                     f"[{low:+.3f}, {high:+.3f}] excludes zero (McNemar p = {p:.3g}).")
    elif high < 0:
        lines.append(f"The ensemble is **worse** than the chosen member by {-diff:.3f} accuracy; the 95% "
                     f"interval [{low:+.3f}, {high:+.3f}] excludes zero (McNemar p = {p:.3g}).")
    else:
        lines.append(f"The difference, {diff:+.3f} accuracy, is not distinguishable from zero on "
                     f"{results['test_size']} test images: the 95% interval is [{low:+.3f}, {high:+.3f}] "
                     f"and McNemar's p = {p:.3g}. This ensemble does **not** clearly beat the chosen member.")
    leaders = results.get("test_leaders", {})
    if leaders and (leaders["member"], leaders["ensemble"]) != (member, ensemble):
        lines.append(f"On the test split itself the top member was {leaders['member']} "
                     f"({acc[leaders['member']]:.3f}) and the top ensemble {leaders['ensemble']} "
                     f"({acc[leaders['ensemble']]:.3f}). Picking them after seeing these scores would "
                     f"flatter them, so the comparison above keeps to the choice made on validation.")
    oracle = results["oracle_accuracy"]
    line = (f"At least one member is right on {oracle:.1%} of the test images (oracle accuracy): an "
            f"ensemble that always picks one member's predicted class cannot beat {oracle:.3f}.")
    above = sorted(name for name, value in acc.items() if value > oracle)
    if above:
        line += (f" {', '.join(above)} did, by combining probabilities or features into answers that "
                 f"no single member gave.")
    lines.append(line)
    latency = {name: row.get("latency_ms_batch32") for name, row in results["models"].items()}
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
