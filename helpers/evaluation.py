"""Predictions and what the notebooks measure beside the lesson: running a model over images,
the end of a member's notebook, choosing by log-loss, and cost (weights and latency).

The scores, the calibration error and the paired comparisons are taught in notebooks 05 and 06
and exported to ``helpers.lesson``; this module applies them to every model.
"""

from __future__ import annotations

import time
import weakref

import keras
import numpy as np
from sklearn import metrics as skm

from helpers import artifacts, plotting
from helpers.lesson.combiners import fit_temperature
from helpers.lesson.judging import scores


_WARM: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # batch sizes each model ran


def predict(model, dataset, batch_size: int = 32):
    """Class probabilities (or whatever ``model`` outputs) for every image of an
    *unshuffled* pipeline of ``(images, labels)`` batches, or of an array of images, in
    order. A model with several outputs gives a list of arrays. Uses the model's compiled
    inference function, shared with ``timed_calls``, which then needs no warm-up call at the
    batch sizes run here."""
    run = inference_function(model)
    inputs = ((dataset[i:i + batch_size].astype("float32") for i in range(0, len(dataset),
                                                                       batch_size))
              if isinstance(dataset, np.ndarray) else (images for images, _ in dataset))
    batches = []
    for images in inputs:
        batches.append(run(images))
        _WARM[model] = _WARM.get(model, set()) | {len(images)}
    if isinstance(batches[0], list | tuple):
        return [np.concatenate([np.asarray(b[i]) for b in batches]) for i in range(len(batches[0]))]
    return np.concatenate([np.asarray(b) for b in batches])


_WITH_FEATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_with_features(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and penultimate features (the input of the model's last layer) of every
    image, from one pass (see ``predict``)."""
    import keras

    if model not in _WITH_FEATURES:  # made once per model, so its compiled function is reused
        _WITH_FEATURES[model] = keras.Model(model.inputs,
                                            [model.layers[-1].input, model.outputs[0]],
                                            name=f"{model.name}_features_and_probs")
    features, probs = predict(_WITH_FEATURES[model], dataset)
    return probs, features


def review_and_cache(settings, name: str, data, val: tuple, test: tuple) -> dict:
    """The end of notebooks 02-04: a member's per-class report and confusion matrix on the
    validation split, then its validation and test probabilities and penultimate features
    (``val`` and ``test`` are ``(probabilities, features)``) cached for notebook 05. Returns its
    validation scores."""
    labels = data.labels("val")
    print(skm.classification_report(labels, val[0].argmax(1), labels=range(len(data.class_names)),
                                    target_names=data.class_names, digits=3, zero_division=0))
    plotting.confusion_matrix(labels, val[0].argmax(1), data.class_names,
                              title=f"{name}: validation")
    artifacts.save_predictions(settings, name, {"val": val[0], "test": test[0]}, data,
                               features={"val": val[1], "test": test[1]})
    return scores(labels, val[0])


def accuracy(labels: np.ndarray, probs: np.ndarray) -> float:
    return float(np.mean(np.asarray(probs).argmax(1) == labels))


def validation_temperatures(settings, names) -> dict[str, float]:
    """The temperature of every model in ``names``, fitted on its cached validation
    predictions: for members their predictions of the validation split, for ensembles and
    controls their out-of-fold predictions from notebook 05."""
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


_INFERENCE_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Inference:
    """Calls a model in inference mode. A callable object rather than a closure: TensorFlow
    counts the traces of every closure made from one function together and, past five models,
    warns of "excessive retracing" although each model is traced once."""

    def __init__(self, model):
        self.model = weakref.ref(model)  # the cache must not keep the model alive

    def __call__(self, images):
        return self.model()(images, training=False)


def inference_function(model):
    """``model`` in inference mode as one compiled TensorFlow function for any batch size.

    ``predict_on_batch`` compiles (traces) the model again for each new batch size, which
    for an ensemble of three networks costs about half a second; this function is compiled
    once per model and reused for every batch size and every timing."""
    import tensorflow as tf

    if model not in _INFERENCE_FUNCTIONS:
        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        _INFERENCE_FUNCTIONS[model] = tf.function(_Inference(model), input_signature=[spec],
                                                  autograph=False)
    return _INFERENCE_FUNCTIONS[model]


def timed_calls(models: dict, image_size: int, batch_size: int, calls: int = 5,
                warmup: int = 1) -> dict[str, np.ndarray]:
    """Milliseconds per image of ``calls`` inference calls of every model on one batch of random
    images, after ``warmup`` untimed calls (none for a model that ``predict`` already ran at
    this batch size). The calls are interleaved, one per model in each round, so a machine that
    slows down during the timing slows every model alike."""
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3))
    batch = batch.astype("float32")
    runs = {name: inference_function(model) for name, model in models.items()}
    for name, run in runs.items():
        for _ in range(0 if batch_size in _WARM.get(models[name], ()) else warmup):
            np.asarray(run(batch))
    timings = {name: [] for name in runs}
    for _ in range(calls):
        for name, run in runs.items():
            start = time.perf_counter()
            np.asarray(run(batch))
            timings[name].append((time.perf_counter() - start) * 1000 / batch_size)
    return {name: np.array(values) for name, values in timings.items()}


#: The fewest timed calls per model and batch size: a single call cannot show how much one
#: model's timings spread.
MIN_LATENCY_CALLS = 2


def weights_mb(model) -> float:
    """Megabytes of the weights a deployer ships: every weight (shared ones once) times the
    bytes of its type, without the optimizer's state that a training checkpoint adds."""
    return sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights) / 1e6


def costs_of(models: dict, settings, latency: bool = True) -> dict[str, dict]:
    """What each model costs: its parameters (shared weights once), the megabytes of its
    weights, and (unless ``latency=False``) its time per image at batch sizes 1 and 32: the
    median and the range (fastest, slowest) of at least ``MIN_LATENCY_CALLS`` timed calls (the
    preset's ``latency_calls`` when more), interleaved across ``models``."""
    rows = {name: {"params": int(model.count_params()), "weights_mb": weights_mb(model)}
            for name, model in models.items()}
    calls = max(settings.latency_calls, MIN_LATENCY_CALLS)
    for batch in (1, 32) if latency else ():
        for name, timings in timed_calls(models, settings.image_size, batch, calls).items():
            rows[name] |= {f"latency_ms_batch{batch}": float(np.median(timings)),
                           f"latency_ms_batch{batch}_range": [float(timings.min()),
                                                             float(timings.max())],
                           "latency_calls": calls}
    return rows


def latency_ratio(row_a: dict, row_b: dict, batch: int = 32) -> tuple[float, tuple[float, float]]:
    """Model A's time per image over model B's (rows of ``costs_of``): the ratio of the medians
    and the range the timings allow, from A's fastest over B's slowest to A's slowest over B's
    fastest."""
    key = f"latency_ms_batch{batch}"
    (fast_a, slow_a), (fast_b, slow_b) = row_a[f"{key}_range"], row_b[f"{key}_range"]
    return row_a[key] / row_b[key], (fast_a / slow_b, slow_a / fast_b)


#: Two timings closer than this factor are a tie: with the few timed calls a notebook affords,
#: the spread of a handful of calls understates how much a machine's speed wanders.
LATENCY_TIE = 1.1


def cost_verdict(ratio_range) -> str:
    """'costs' when even the most favourable timings make A slower than B by more than
    ``LATENCY_TIE``, 'pays' when even the least favourable make it faster by as much, else
    'cannot tell': a ratio inside the timings' spread, or within 10% of 1, is no evidence."""
    low, high = ratio_range
    return ("costs" if low > LATENCY_TIE else "pays" if high < 1 / LATENCY_TIE
            else "cannot tell")


def averaging_model(parts: list, image_shape: tuple, name: str, bottom=None):
    """One Keras model from raw images to the mean of ``parts``' probabilities, for timing a
    family as it would be deployed: a shared ``bottom`` (a frozen feature extractor) runs once,
    and a part used several times is one shared sub-model."""
    pixels = keras.Input(shape=image_shape)
    x = bottom(pixels) if bottom is not None else pixels
    named = {}
    for i, part in enumerate(parts):
        if id(part) not in named:
            named[id(part)] = keras.Model(part.inputs[0], part.outputs[0], name=f"{name}_{i}")
    outputs = [named[id(part)](x) for part in parts]
    average = keras.layers.Average()(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(pixels, average, name=name)


def logistic_model(members: list, logistic, image_shape: tuple, name: str):
    """A fitted scikit-learn ``LogisticRegression`` on ``members``' probabilities side by side, as
    one Keras model from raw images (a softmax layer with its weights), for timing it."""
    pixels = keras.Input(shape=image_shape)
    used = [member(pixels, training=False) for member in members]
    dense = keras.layers.Dense(len(logistic.classes_), activation="softmax")
    out = dense(keras.layers.Concatenate()(used) if len(used) > 1 else used[0])
    dense.set_weights([logistic.coef_.T, logistic.intercept_])
    return keras.Model(pixels, out, name=name)
