"""The series' training callbacks: the standard ones of every member (writing under the run's
folder) and the cheap holdout early stopping of the combiners."""

from __future__ import annotations

import math

import keras
import numpy as np

from helpers.artifacts import history_path, model_path, save_model
from helpers.config import Settings


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the whole model as ``.keras`` whenever ``val_loss`` improves.

    Unlike ``keras.callbacks.ModelCheckpoint`` it writes to a temporary file and renames it,
    so a kernel killed mid-save keeps the previous best checkpoint intact. With ``settings``
    it records beside the model what it was made from (see ``artifacts.provenance``).
    """

    def __init__(self, filepath, monitor: str = "val_loss", settings: Settings | None = None):
        super().__init__()
        self.filepath = filepath
        self.settings = settings
        self.monitor = monitor
        self.best = math.inf
        self.best_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            save_model(self.model, self.filepath, self.settings)


def schedule(verbose: int = 1) -> list[keras.callbacks.Callback]:
    """The series' training schedule, the original tutorial's, written once: every member, 09's
    copies, the solutions and the benchmarks train with it.

    - ReduceLROnPlateau: divide the learning rate by 5 after 3 epochs without a better val_loss;
    - EarlyStopping: stop after 5 such epochs and restore the best weights.
    """
    return [
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=3, factor=0.2,
                                          min_lr=1e-6, verbose=verbose),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True,
                                      verbose=verbose),
    ]


def standard(settings: Settings, name: str) -> list[keras.callbacks.Callback]:
    """The members' callbacks: the training ``schedule()``, plus

    - BestModelCheckpoint: the best model as ``<artifacts>/models/<name>.keras``;
    - CSVLogger: every epoch's metrics in ``<artifacts>/history/<name>.csv``.
    """
    return [
        *schedule(),
        BestModelCheckpoint(model_path(settings, name), settings=settings),
        _csv_logger(history_path(settings, name)),
    ]


def _csv_logger(path) -> keras.callbacks.CSVLogger:
    path.parent.mkdir(parents=True, exist_ok=True)
    return keras.callbacks.CSVLogger(str(path))


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
        import tensorflow as tf

        model, labels = self.model, tf.constant(self.labels)
        inputs = ([tf.constant(x) for x in self.inputs] if isinstance(self.inputs, list | tuple)
                  else tf.constant(self.inputs))

        @tf.function
        def holdout_loss():
            probs = model(inputs, training=False)
            return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(labels, probs))

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

