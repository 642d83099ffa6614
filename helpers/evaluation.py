"""Predictions and the numbers that judge them: accuracy, macro-F1, log-loss, Brier score,
calibration error, paired comparisons, diversity and latency."""

from __future__ import annotations

import time

import numpy as np
from scipy import stats
from sklearn import metrics as skm


def predict(model, dataset) -> np.ndarray:
    """Class probabilities for every image of an *unshuffled* pipeline, in file order."""
    return np.asarray(model.predict(dataset, verbose=0))


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


def latency_ms(model, image_size: int, batch_size: int, repeats: int = 5, warmup: int = 2) -> float:
    """Median milliseconds per image of ``model.predict_on_batch`` on random images."""
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3))
    batch = batch.astype("float32")
    for _ in range(warmup):
        model.predict_on_batch(batch)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        timings.append(time.perf_counter() - start)
    return float(np.median(timings) * 1000 / batch_size)
