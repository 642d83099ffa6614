"""The standard training callbacks of the series, all writing under the run's artifacts."""

from __future__ import annotations

import math

import keras

from helpers.config import Settings
from helpers.models import model_path, save_model


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the whole model as ``.keras`` whenever ``val_loss`` improves.

    Unlike ``keras.callbacks.ModelCheckpoint`` it writes to a temporary file and renames it,
    so a kernel killed mid-save keeps the previous best checkpoint intact. With ``settings``
    it records beside the model what it was made from (see ``models.provenance``).
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


def standard(settings: Settings, name: str) -> list[keras.callbacks.Callback]:
    """The original tutorial's callbacks, kept, plus a CSV log of the history:

    - ReduceLROnPlateau: divide the learning rate by 5 after 3 epochs without a better val_loss;
    - EarlyStopping: stop after 5 such epochs and restore the best weights;
    - BestModelCheckpoint: the best model as ``<artifacts>/models/<name>.keras``;
    - CSVLogger: every epoch's metrics in ``<artifacts>/history/<name>.csv``.
    """
    return [
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=3, factor=0.2,
                                          min_lr=1e-6, verbose=1),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True,
                                      verbose=1),
        BestModelCheckpoint(model_path(settings, name), settings=settings),
        keras.callbacks.CSVLogger(str(history_path(settings, name))),
    ]


def history_path(settings: Settings, name: str):
    return settings.path("history", f"{name}.csv")
