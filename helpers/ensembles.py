"""Ensembles of the three members: the weighted-average layer, the combiners, and fitting
combiners on the members' cached outputs.

A *combiner* is a small Keras model that maps the members' class probabilities (one
``(classes,)`` input per member) to the ensemble's class probabilities. An *ensemble* is
one Keras model from raw images to probabilities: the frozen members, then a combiner.
Because frozen members give the same outputs every epoch, a combiner is fitted on their
cached outputs and then placed on top of them unchanged.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy import optimize

from helpers.config import Settings


@keras.saving.register_keras_serializable(package="helpers")
class WeightedAverage(keras.layers.Layer):
    """Weighted **sum** of member probabilities, with one trainable logit per member.

    The weights are ``softmax(logits)``: positive and summing to one, so the output of
    probability vectors is again a probability vector. The original tutorial took the
    *mean* of the weighted inputs, dividing by the member count a second time (its outputs
    summed to 1/3), and then needed an extra Dense layer to repair that.
    """

    def __init__(self, initial_logits=(1.0, 2.0, 3.0), **kwargs):
        super().__init__(**kwargs)
        self.initial_logits = [float(v) for v in initial_logits]

    def build(self, input_shape):
        if len(input_shape) != len(self.initial_logits):
            raise ValueError(f"WeightedAverage got {len(input_shape)} inputs but "
                             f"{len(self.initial_logits)} initial logits.")
        self.logits = self.add_weight(
            name="logits", shape=(len(self.initial_logits),),
            initializer=keras.initializers.Constant(self.initial_logits), trainable=True)

    def call(self, inputs):
        stacked = ops.stack(inputs, axis=-1)  # (batch, classes, members)
        return ops.sum(stacked * ops.softmax(self.logits), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def member_weights(self) -> np.ndarray:
        """The normalised weights, one per member."""
        return np.asarray(ops.convert_to_numpy(ops.softmax(self.logits)))

    def get_config(self):
        return {**super().get_config(), "initial_logits": self.initial_logits}


# --------------------------------------------------------------------------- combiners
def _member_inputs(n_members: int, n_classes: int) -> list:
    return [keras.Input(shape=(n_classes,), name=f"member_{i}") for i in range(n_members)]


def concatenation_combiner(n_members: int, n_classes: int, name: str = "concatenation_head"):
    """The original's concatenation: member outputs side by side, Dropout 0.5, Dense softmax."""
    inputs = _member_inputs(n_members, n_classes)
    x = keras.layers.Concatenate()(inputs)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x), name=name)


def average_combiner(n_members: int, n_classes: int, name: str = "average_head"):
    """Soft voting: the plain mean of member probabilities. Nothing to train."""
    inputs = _member_inputs(n_members, n_classes)
    return keras.Model(inputs, keras.layers.Average()(inputs), name=name)


def average_dense_combiner(n_members: int, n_classes: int, name: str = "average_dense_head"):
    """The original's 'average' variant: mean, Dense(16, relu), Dropout 0.3, Dense softmax."""
    inputs = _member_inputs(n_members, n_classes)
    x = keras.layers.Average()(inputs)
    x = keras.layers.Dense(16, activation="relu")(x)
    x = keras.layers.Dropout(0.3)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x), name=name)


def weighted_average_combiner(n_classes: int, initial_logits=(1.0, 2.0, 3.0),
                              name: str = "weighted_average_head"):
    """The learned weighted average, starting from the original's weights 1, 2, 3."""
    inputs = _member_inputs(len(initial_logits), n_classes)
    layer = WeightedAverage(initial_logits, name="weighted_average")
    return keras.Model(inputs, layer(inputs), name=name)


def ensemble_model(members: list, combiner: keras.Model, settings: Settings, name: str):
    """One model from raw images to probabilities: frozen members, then the combiner."""
    from helpers.models import image_input

    for member in members:
        member.trainable = False
    images = image_input(settings)
    outputs = [member(images, training=False) for member in members]
    return keras.Model(images, combiner(outputs), name=name)


def penultimate_features(member: keras.Model) -> keras.Model:
    """The member up to the input of its final (softmax) layer: what it knows about an image
    before it commits to class probabilities. Shares the member's layers and weights."""
    return keras.Model(member.inputs, member.layers[-1].input, name=f"{member.name}_features")


def feature_concatenation_combiner(feature_sizes: list[int], n_classes: int,
                                   name: str = "feature_concatenation_head"):
    """The original text's idea of concatenation taken literally: the members' penultimate
    features side by side, Dropout 0.5, a new Dense softmax. Its size grows with the
    members' feature sizes (VGG16's flattened maps dominate), so it overfits easily."""
    inputs = [keras.Input(shape=(size,), name=f"member_{i}_features")
              for i, size in enumerate(feature_sizes)]
    x = keras.layers.Concatenate()(inputs)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x), name=name)


_WITH_FEATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def with_features(member: keras.Model) -> keras.Model:
    """The member with two outputs, its penultimate features and its probabilities, so that
    one pass over some images gives what every ensemble needs (shares the member's weights).
    Made once per member, so its compiled inference function is reused for every call."""
    if member not in _WITH_FEATURES:
        _WITH_FEATURES[member] = keras.Model(member.inputs, [member.layers[-1].input, member.outputs[0]],
                                             name=f"{member.name}_features_and_probs")
    return _WITH_FEATURES[member]


def ensemble_probabilities(combiners: dict[str, keras.Model], member_probs: list[np.ndarray],
                           member_features: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Every ensemble's probabilities from the members' outputs: the combiners over
    probabilities take ``member_probs``, the feature combiners ``member_features``."""
    return {name: combine(combiner, member_features if name in FEATURE_ENSEMBLE_NAMES else member_probs)
            for name, combiner in combiners.items()}


def all_probabilities(members: dict[str, keras.Model], combiners: dict[str, keras.Model],
                      images) -> dict[str, np.ndarray]:
    """Every member's and every ensemble's probabilities for ``images`` (an array, or an
    unshuffled pipeline), running each member **once**: one pass gives its features and its
    probabilities, and the ensembles' combiners take those. This equals running each
    ensemble as a full model, at a third of the cost of running the members again for each."""
    from helpers.evaluation import predict

    outputs = [predict(with_features(member), images) for member in members.values()]
    features, probs = [o[0] for o in outputs], [o[1] for o in outputs]
    return {**dict(zip(members, probs)), **ensemble_probabilities(combiners, probs, features)}


def feature_ensemble_model(members: list, combiner: keras.Model, settings: Settings, name: str):
    """One model from raw images to probabilities over the frozen members' penultimate features."""
    return ensemble_model([penultimate_features(m) for m in members], combiner, settings, name)


# --------------------------------------------------------------------------- fitting
#: The share of the fitting images that a combiner leaves out to stop its training early.
HOLDOUT_FRACTION = 0.25
#: Folds of the validation split for cross-fitting (fewer when a class has fewer images).
DEFAULT_FOLDS = 5


def stratified_holdout(labels: np.ndarray, fraction: float = HOLDOUT_FRACTION,
                       seed: int = 0) -> np.ndarray:
    """Boolean mask of a stratified holdout (at least one image per class when possible).
    The same seed gives the same mask. A combiner's fit uses it to stop early."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        index = rng.permutation(np.flatnonzero(labels == cls))
        if len(index) >= 2:
            mask[index[:max(1, int(round(len(index) * fraction)))]] = True
    return mask


def fold_count(labels: np.ndarray, folds: int = DEFAULT_FOLDS) -> int:
    """How many stratified folds the validation split allows: ``folds``, or fewer when the
    smallest class has fewer images, because every fold must hold one image of every class
    (the rule: ``min(folds, images in the smallest class)``, and at least 2)."""
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    if smallest < 2:
        raise ValueError(f"A class has only {smallest} validation image(s); cross-fitting needs at least "
                         f"2 per class. Use more images per class (ENSEMBLE_MAX_PER_CLASS) or more data.")
    return min(folds, smallest)


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """The fold (0 to ``folds`` - 1) of every image: scikit-learn's ``StratifiedKFold``,
    shuffled with the seed, so each fold has about the same share of every class."""
    from sklearn.model_selection import StratifiedKFold

    assignment = np.empty(len(labels), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, index) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assignment[index] = fold
    return assignment


def array_pipeline(inputs: list[np.ndarray], labels: np.ndarray, batch_size: int = 32,
                   shuffle_seed: int | None = None):
    """A ``tf.data`` pipeline over in-memory arrays (one per model input), built once.

    Given NumPy arrays, Keras rebuilds its input pipeline at every epoch, which costs
    several times more than an epoch of a combiner with a few hundred parameters."""
    features = inputs[0] if len(inputs) == 1 else tuple(inputs)
    pipeline = tf.data.Dataset.from_tensor_slices((features, np.asarray(labels, "int32"))).cache()
    if shuffle_seed is not None:
        pipeline = pipeline.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    return pipeline.batch(batch_size)


class HoldoutEarlyStopping(keras.callbacks.Callback):
    """Stop when the loss on a small holdout has not improved for ``patience`` epochs, then
    restore the best weights. Like ``keras.callbacks.EarlyStopping`` on ``val_loss``, but the
    holdout is scored by one compiled call per epoch: for a combiner with a few hundred
    parameters, Keras' validation pass costs more than the training epoch itself."""

    def __init__(self, inputs, labels: np.ndarray, patience: int):
        super().__init__()
        self.inputs, self.labels, self.patience = inputs, labels, patience
        self.best, self.best_epoch, self.best_weights = np.inf, 0, None
        self._holdout_loss = None

    def on_train_begin(self, logs=None):
        model, labels = self.model, tf.constant(self.labels)
        inputs = ([tf.constant(x) for x in self.inputs] if isinstance(self.inputs, (list, tuple))
                  else tf.constant(self.inputs))

        @tf.function
        def holdout_loss():
            probs = model(inputs, training=False)
            return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, probs))

        self._holdout_loss = holdout_loss

    def on_epoch_end(self, epoch, logs=None):
        loss = float(self._holdout_loss())
        if logs is not None:
            logs["val_loss"] = loss  # recorded in the history like Keras' own validation loss
        if loss < self.best:
            self.best, self.best_epoch, self.best_weights = loss, epoch, self.model.get_weights()
        elif epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def fit_combiner(combiner: keras.Model, member_probs: list[np.ndarray], labels: np.ndarray,
                 seed: int = 0, learning_rate: float = 2e-2, max_epochs: int = 100,
                 patience: int = 10, epochs: int | None = None, verbose: int = 0):
    """Fit a combiner on cached member outputs (or features) of validation images.

    With ``epochs=None`` a stratified quarter of the given images is held out to stop early,
    and the best weights are kept; with ``epochs=N`` it trains on all of them for exactly N
    epochs. Returns the Keras history (``None`` for combiners with nothing to train).
    """
    if not combiner.trainable_weights:
        return None
    combiner.compile(optimizer=keras.optimizers.Adam(learning_rate),
                     loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if epochs is not None:
        train = array_pipeline(member_probs, labels, shuffle_seed=seed)
        return combiner.fit(train, epochs=epochs, verbose=verbose)
    holdout = stratified_holdout(labels, seed=seed)
    stop = HoldoutEarlyStopping([p[holdout] for p in member_probs], labels[holdout], patience)
    train = array_pipeline([p[~holdout] for p in member_probs], labels[~holdout], shuffle_seed=seed)
    return combiner.fit(train, epochs=max_epochs, callbacks=[stop], verbose=verbose)


def best_epoch_count(history) -> int | None:
    """How many epochs gave the best holdout loss in an early-stopped fit (None: no training)."""
    return None if history is None else int(np.argmin(history.history["val_loss"])) + 1


#: A fitter fits one kind of combiner: ``(inputs, labels, epochs) -> (combiner, epochs)``.
#: With ``epochs=None`` it stops early and returns the best epoch count (None if it has none).
Fitter = Callable[[list[np.ndarray], np.ndarray, "int | None"], "tuple[keras.Model, int | None]"]


def keras_fitter(build: Callable[[], keras.Model], seed: int = 0, learning_rate: float = 2e-2) -> Fitter:
    """A fitter for a Keras combiner made by ``build()`` (see ``fit_combiner``)."""
    def fit(inputs, labels, epochs=None):
        combiner = build()
        history = fit_combiner(combiner, inputs, labels, seed=seed, learning_rate=learning_rate,
                               epochs=epochs)
        return combiner, (best_epoch_count(history) if epochs is None else epochs)
    return fit


def simplex_fitter(n_classes: int, name: str = "weighted_average_scipy_head") -> Fitter:
    """A fitter for the weighted average whose weights scipy finds (``fit_simplex_weights``);
    it has no epochs. The weights become the logits of a ``WeightedAverage`` layer."""
    def fit(inputs, labels, epochs=None):
        weights = fit_simplex_weights(inputs, labels)
        logits = np.log(np.clip(weights, 1e-6, None))
        return weighted_average_combiner(n_classes, initial_logits=logits, name=name), None
    return fit


@dataclass
class CrossFit:
    """What cross-fitting one ensemble gives: an out-of-fold prediction for every validation
    image, the epochs each fold's early stopping chose, and the final combiner."""

    out_of_fold: np.ndarray
    fold_epochs: list[int]
    final_epochs: int | None
    combiner: keras.Model
    seconds: float

    def summary(self, labels: np.ndarray) -> dict:
        """What a notebook shows of it: epochs, out-of-fold scores and the time taken."""
        from helpers.evaluation import log_loss

        return {"epochs per fold": self.fold_epochs or "nothing to train",
                "final epochs": self.final_epochs,
                "out-of-fold log-loss": round(log_loss(labels, self.out_of_fold), 4),
                "out-of-fold accuracy": round(float(np.mean(self.out_of_fold.argmax(1) == labels)), 4),
                "seconds": round(self.seconds, 2)}


def cross_fit(fitter: Fitter, inputs: list[np.ndarray], labels: np.ndarray,
              folds: np.ndarray) -> CrossFit:
    """Fit a combiner once per fold on the other folds and predict the fold it never saw, so
    that every validation image gets exactly one out-of-fold prediction; then fit the final
    combiner on the whole validation split for the median of the folds' best epoch counts."""
    import time

    start = time.perf_counter()
    parts, fold_epochs = [], []
    for fold in np.unique(folds):
        fit_on, predict_on = folds != fold, folds == fold
        combiner, epochs = fitter([x[fit_on] for x in inputs], labels[fit_on], None)
        parts.append((predict_on, combine(combiner, [x[predict_on] for x in inputs])))
        if epochs is not None:
            fold_epochs.append(epochs)
    n_classes = parts[0][1].shape[1]
    out_of_fold = np.zeros((len(labels), n_classes), "float32")
    for where, probs in parts:
        out_of_fold[where] = probs
    final_epochs = int(np.median(fold_epochs)) if fold_epochs else None
    final, _ = fitter(inputs, labels, final_epochs)
    return CrossFit(out_of_fold, fold_epochs, final_epochs, final, time.perf_counter() - start)


def combine(combiner: keras.Model, inputs: list[np.ndarray]) -> np.ndarray:
    """A fitted combiner's output for cached member outputs (or features), in one direct
    call. ``combiner.predict`` would compile a graph for every combiner it sees, which costs
    more than the combining itself and makes TensorFlow warn about retracing."""
    return np.asarray(combiner([np.asarray(x, dtype="float32") for x in inputs], training=False))


def fit_simplex_weights(member_probs: list[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """Member weights on the simplex (non-negative, summing to one) that minimise the
    log-loss of the weighted sum, found with scipy's SLSQP."""
    stacked = np.stack(member_probs, axis=-1)  # (n, classes, members)
    picked = stacked[np.arange(len(labels)), labels]  # (n, members): prob of the true class

    def nll(w):
        return -np.mean(np.log(np.clip(picked @ w, 1e-12, None)))

    m = stacked.shape[-1]
    result = optimize.minimize(nll, np.full(m, 1.0 / m), method="SLSQP", bounds=[(0.0, 1.0)] * m,
                               constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}])
    weights = np.clip(result.x, 0.0, None)
    return weights / weights.sum()


# --------------------------------------------------------------------------- artifacts
#: The ensembles notebook 05 makes; the first three are the original's methods. Their
#: combiners take the members' class probabilities.
ENSEMBLE_NAMES = ("average", "concatenation", "weighted_average", "average_dense",
                  "weighted_average_scipy")
#: Ensembles whose combiners take the members' penultimate features instead.
FEATURE_ENSEMBLE_NAMES = ("feature_concatenation",)
ALL_ENSEMBLE_NAMES = ENSEMBLE_NAMES + FEATURE_ENSEMBLE_NAMES


def member_outputs(cached: dict[str, dict], split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The members' cached probabilities of one split, in member order, with the labels.

    Raises ``ValueError`` when the members were not made from the same files in the same
    order (for instance one of them was trained on another split)."""
    names = list(cached)
    reference = cached[names[0]]
    for name in names[1:]:
        for key in (f"{split}_files", "class_names"):
            if not np.array_equal(cached[name][key], reference[key]):
                raise ValueError(f"Members '{names[0]}' and '{name}' disagree on {key}: they were made "
                                 f"from different splits. Rerun notebooks 02-04 with the same settings.")
    return [cached[n][f"{split}_probs"] for n in names], reference[f"{split}_labels"]


def combiner_path(settings: Settings, name: str):
    return settings.path("models", "combiners", f"{name}.keras")


def save_ensemble(settings: Settings, name: str, ensemble: keras.Model, combiner: keras.Model):
    """Save the full image-to-probabilities model and, separately, its small combiner
    (which notebook 06 applies to the cached member outputs)."""
    from helpers.models import model_path, save_model

    save_model(combiner, combiner_path(settings, name), settings)
    save_model(ensemble, model_path(settings, name), settings)
    return model_path(settings, name)


def load_combiner(settings: Settings, name: str) -> keras.Model:
    """The saved combiner of ensemble ``name``, checked like a model (settings and split)."""
    from helpers.models import MissingArtifactError, load_checked

    path = combiner_path(settings, name)
    if not path.exists():
        raise MissingArtifactError(f"Ensemble '{name}' not found at {path}. Run 05_ensembles.ipynb "
                                   f"first (settings: {settings.run_name}).")
    return load_checked(path, settings, name)


def build_ensemble(name: str, members: list, combiner: keras.Model, settings: Settings) -> keras.Model:
    """The full model of ensemble ``name``: over member probabilities or member features."""
    build = feature_ensemble_model if name in FEATURE_ENSEMBLE_NAMES else ensemble_model
    return build(members, combiner, settings, name=name)


def assemble(settings: Settings, name: str, members: list) -> keras.Model:
    """Rebuild a saved ensemble from already loaded members and its saved combiner, so a
    notebook holds one copy of each member however many ensembles it evaluates."""
    return build_ensemble(name, members, load_combiner(settings, name), settings)


def epoch_seconds(model: keras.Model, x, y=None, batch_size: int = 32) -> float:
    """Seconds for one training epoch, after one untimed epoch that builds the graph.
    ``x`` is a ``tf.data`` pipeline, or a list of arrays (one per input) with labels ``y``."""
    import time

    if y is not None:
        x = array_pipeline(list(x) if isinstance(x, (list, tuple)) else [x], y, batch_size)
    model.fit(x, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, epochs=1, verbose=0)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- choosing what to test
def selection_path(settings: Settings):
    return settings.path("validation_choice.json")


def save_selection(settings: Settings, member: str, ensemble: str, scores: dict[str, dict],
                   criterion: str, **details) -> dict:
    """Record, before the test split is opened, which member and which ensemble notebook 06
    compares, the criterion and every validation score they were chosen by, and what made
    them (settings and split). ``details`` (e.g. the number of folds) are recorded too."""
    from helpers.config import write_json_atomic
    from helpers.models import provenance

    choice = {"member": member, "ensemble": ensemble, "criterion": criterion, **details,
              "validation_scores": scores, "provenance": provenance(settings)}
    write_json_atomic(selection_path(settings), choice)
    return choice


def load_selection(settings: Settings) -> dict:
    """The choice notebook 05 recorded, checked against the current settings and split."""
    import json

    from helpers.models import MissingArtifactError, check_provenance

    path = selection_path(settings)
    if not path.exists():
        raise MissingArtifactError(f"No record of the ensemble chosen on validation at {path}. Run "
                                   f"05_ensembles.ipynb first (settings: {settings.run_name}).")
    choice = json.loads(path.read_text(encoding="utf-8"))
    check_provenance(choice.pop("provenance", {}), settings, path, "validation_choice")
    return choice
