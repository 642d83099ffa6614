"""The series' training callbacks: the training schedule, and the standard callbacks of every
member (the schedule, plus writers under the run's folder)."""

from __future__ import annotations

import math

import keras

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
    history = history_path(settings, name)
    history.parent.mkdir(parents=True, exist_ok=True)
    return [*schedule(), BestModelCheckpoint(model_path(settings, name), settings=settings),
            keras.callbacks.CSVLogger(str(history))]
