"""Temperature scaling: one number per model that makes its probabilities honest.

A model is *over-confident* when it says 90% and is right less often than that. Dividing its
log-probabilities by a temperature ``T > 1`` softens them (``T < 1`` sharpens them) and never
changes which class is most probable, so accuracy stays the same. ``T`` is fitted by minimising
the log-loss on validation predictions the model was not fitted on (Guo et al. 2017, "On
Calibration of Modern Neural Networks"). Comparing models after it is the fair comparison of
their probabilities (Ashukha et al. 2020): otherwise an ensemble can win only because its
members were over-confident and averaging softened them.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

#: The temperatures searched (on a log scale): wide enough for any model of the series.
TEMPERATURE_BOUNDS = (0.05, 20.0)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / temperature)``: the same ranking of classes, softer or sharper."""
    log_probs = np.log(np.clip(np.asarray(probs, dtype="float64"), 1e-12, 1.0))
    return special.softmax(log_probs / temperature, axis=1).astype("float32")


def _nll(log_probs: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = log_probs / temperature
    return float(np.mean(special.logsumexp(scaled, axis=1) - scaled[np.arange(len(labels)), labels]))


def fit_temperature(labels: np.ndarray, probs: np.ndarray) -> float:
    """The temperature that minimises the log-loss of ``probs`` on ``labels`` (scipy's bounded
    scalar search over log T). Fit it on predictions the model was not fitted on."""
    labels = np.asarray(labels)
    if len(labels) != len(probs) or len(labels) == 0:
        raise ValueError(f"fit_temperature needs one label per prediction (got {len(labels)} labels "
                         f"for {len(probs)} predictions).")
    log_probs = np.log(np.clip(np.asarray(probs, dtype="float64"), 1e-12, 1.0))
    low, high = np.log(TEMPERATURE_BOUNDS)
    result = optimize.minimize_scalar(lambda log_t: _nll(log_probs, labels, np.exp(log_t)),
                                      bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def validation_temperatures(settings, names) -> dict[str, float]:
    """The temperature of every model in ``names``, fitted on its cached validation
    predictions: for members their predictions of the validation split, for ensembles their
    out-of-fold predictions from notebook 05. The same numbers in every notebook that asks."""
    from helpers import models

    temperatures = {}
    for name in names:
        cached = models.load_predictions(settings, name)
        temperatures[name] = fit_temperature(cached["val_labels"], cached["val_probs"])
    return temperatures
