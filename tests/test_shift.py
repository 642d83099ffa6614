import numpy as np

from helpers import shift
from tests.test_ensembles import random_probs


def confident(labels, right: np.ndarray, k=8, p=0.9):
    """Probabilities that give ``p`` to the true class where ``right``, else to the next class."""
    predicted = np.where(right, labels, (labels + 1) % k)
    return (np.eye(k)[predicted] * (p - (1 - p) / (k - 1)) + (1 - p) / (k - 1)).astype("float32")


def test_results_layout_and_pooled_comparison():
    labels = np.arange(40) % 8
    rng = np.random.default_rng(0)
    clean = {"m": confident(labels, rng.random(40) < 0.8), "e": confident(labels, rng.random(40) < 0.9)}
    corrupted = {(c, s): {"m": confident(labels, rng.random(40) < 0.8 - 0.1 * s),
                          "e": random_probs(40, seed=s)} for c in ("noise", "blur") for s in (1, 3, 5)}
    temperatures = {"m": 1.0, "e": 1.0}
    results = shift.results_layout(labels, clean, corrupted, temperatures)
    assert results["corruptions"] == ["noise", "blur"] and results["severities"] == [1, 3, 5]
    assert set(results["models"]["m"]["blur"]) == {"1", "3", "5"}
    assert set(results["models"]["e"]["noise"]["5"]) == set(shift.METRICS) == set(results["clean"]["m"])
    comparison = shift.pooled_comparison(labels, clean, corrupted, "e", "m", temperatures)
    assert comparison["clean"]["images"] == 40 and comparison["5"]["images"] == 80  # two copies pooled
    expected = np.mean([(corrupted[(c, 5)]["e"].argmax(1) == labels).mean()
                        - (corrupted[(c, 5)]["m"].argmax(1) == labels).mean() for c in ("noise", "blur")])
    assert abs(comparison["5"]["accuracy_diff"] - expected) < 1e-9
    curves = shift.mean_curves(results)
    assert len(curves["m"]["accuracy"]) == 4 and curves["m"]["accuracy"][0] == results["clean"]["m"]["accuracy"]
    text = " ".join(shift.conclusions(results, comparison, "e", "m"))
    # the "ensemble" here is random under shift: the conclusions must not claim the literature's result
    assert "does **not** grow under shift" in text
