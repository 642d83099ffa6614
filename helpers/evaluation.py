"""Predictions and the numbers that judge them: running a model over images, the leaderboard's
scores, choosing by log-loss, diversity and latency.

The techniques notebooks 05 and 06 teach (log-loss, temperature scaling, the calibration error, the
paired bootstrap, McNemar's test) are written out in those notebooks and exported to
``helpers.lesson``; this module applies them to every model.
"""

from __future__ import annotations

import time
import weakref

import numpy as np
from sklearn import metrics as skm

from helpers import artifacts
from helpers.lesson.combiners import apply_temperature, fit_temperature, log_loss, per_image_nll
from helpers.lesson.judging import expected_calibration_error, paired_difference


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


_WITH_FEATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def with_features(model):
    """``model`` with two outputs, its penultimate features (the input of its last layer) and
    its probabilities, sharing its weights. Made once per model, so its compiled inference
    function is reused for every call."""
    import keras

    if model not in _WITH_FEATURES:
        _WITH_FEATURES[model] = keras.Model(model.inputs,
                                            [model.layers[-1].input, model.outputs[0]],
                                            name=f"{model.name}_features_and_probs")
    return _WITH_FEATURES[model]


def predict_with_features(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and penultimate features of every image, from one pass (see ``predict``)."""
    features, probs = predict(with_features(model), dataset)
    return probs, features


def report(labels: np.ndarray, probs: np.ndarray, class_names: list[str]) -> str:
    """scikit-learn's per-class precision / recall / F1 table."""
    return skm.classification_report(labels, probs.argmax(1), labels=range(len(class_names)),
                                     target_names=class_names, digits=3, zero_division=0)


def brier_score(labels: np.ndarray, probs: np.ndarray) -> float:
    """Multi-class Brier score: mean squared distance to the one-hot label (0 perfect, 2 worst)."""
    onehot = np.eye(probs.shape[1])[labels]
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def accuracy(labels: np.ndarray, probs: np.ndarray) -> float:
    return float(np.mean(np.asarray(probs).argmax(1) == labels))


def scores(labels: np.ndarray, probs: np.ndarray, temperature: float | None = None) -> dict:
    """The leaderboard's quality columns for one model; with ``temperature`` (fitted on
    validation data) also its log-loss and ECE after temperature scaling."""
    k = probs.shape[1]
    row = {
        "accuracy": accuracy(labels, probs),
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


def validation_temperatures(settings, names) -> dict[str, float]:
    """The temperature of every model in ``names``, fitted on its cached validation
    predictions: for members their predictions of the validation split, for ensembles their
    out-of-fold predictions from notebook 05. The same numbers in every notebook that asks."""
    temperatures = {}
    for name in names:
        cached = artifacts.load_predictions(settings, name)
        temperatures[name] = fit_temperature(cached["val_labels"], cached["val_probs"])
    return temperatures


def best_by_log_loss(rows: dict[str, dict], key: str = "nll") -> str:
    """The name whose scores have the lowest log-loss (``key``: ``nll``, or ``nll_ts`` after
    temperature scaling); ties go to the higher accuracy."""
    if not rows:
        raise ValueError("No models to choose from.")
    return min(rows, key=lambda name: (rows[name][key], -rows[name]["accuracy"]))


def per_class_f1(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return skm.f1_score(labels, probs.argmax(1), labels=range(probs.shape[1]), average=None,
                        zero_division=0)


def paired_accuracy(labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray,
                    seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Accuracy of A minus accuracy of B on the same images, with a 95% bootstrap interval."""
    right = [(p.argmax(1) == labels).astype(float) for p in (probs_a, probs_b)]
    return paired_difference(right[0], right[1], seed=seed)


def paired_log_loss(labels: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray,
                    seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Log-loss of A minus log-loss of B on the same images (negative: A is better), with a 95%
    bootstrap interval."""
    return paired_difference(per_image_nll(labels, probs_a), per_image_nll(labels, probs_b),
                             seed=seed)


def disagreement(probs_a: np.ndarray, probs_b: np.ndarray) -> float:
    """Share of images on which two models predict different classes."""
    return float(np.mean(probs_a.argmax(1) != probs_b.argmax(1)))


def oracle_accuracy(labels: np.ndarray, member_probs: list[np.ndarray]) -> float:
    """Share of images that at least one member classifies correctly: an upper bound for
    any ensemble that picks one member's answer."""
    right = np.stack([p.argmax(1) == labels for p in member_probs])
    return float(right.any(axis=0).mean())


def closest_member(ensemble_probs: np.ndarray, member_probs: dict[str, np.ndarray]) -> dict:
    """The member whose probabilities the ensemble's are closest to, and the mean total
    variation distance between them (0: the ensemble *is* that member on these images)."""
    distance = {name: float(np.mean(0.5 * np.abs(ensemble_probs - probs).sum(axis=1)))
                for name, probs in member_probs.items()}
    name = min(distance, key=distance.get)
    return {"member": name, "mean_total_variation": round(distance[name], 4)}


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


def latency_ms(model, image_size: int, batch_size: int, repeats: int = 5, warmup: int = 1) -> float:
    """Median milliseconds per image of one inference call on a batch of random images, after
    ``warmup`` untimed calls. The preset's ``latency_calls`` is the usual ``repeats``."""
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
