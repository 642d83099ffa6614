"""Model plumbing shared by the notebooks: preprocessing layers, ImageNet backbones that
fail clearly offline, freezing, saving, loading, and the cached predictions of members.

The architectures themselves live in the notebooks: they are the lesson.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import keras
import numpy as np

from helpers.config import Settings

#: Which notebook makes each member; used to tell a learner what to run first.
MEMBER_NOTEBOOKS = {
    "custom_cnn": "02_custom_cnn.ipynb",
    "vgg16": "03_vgg16.ipynb",
    "mobilenet": "04_mobilenet.ipynb",
}
MEMBER_NAMES = tuple(MEMBER_NOTEBOOKS)
_BACKBONES = {"vgg16": keras.applications.vgg16, "mobilenet": keras.applications.mobilenet}
_WEIGHT_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "mobilenet": "mobilenet_1_0_{size}_tf_no_top.h5",
}


class MissingArtifactError(FileNotFoundError):
    """An artifact a notebook needs does not exist yet; the message says what to run."""


@keras.saving.register_keras_serializable(package="helpers")
class BackbonePreprocess(keras.layers.Layer):
    """Applies a backbone's own ``preprocess_input`` inside the model (no Lambda layer,
    so the model loads in Keras' safe mode). Input: raw RGB values in 0-255."""

    def __init__(self, backbone: str, **kwargs):
        super().__init__(**kwargs)
        if backbone not in _BACKBONES:
            raise ValueError(f"Unknown backbone {backbone!r}; choose one of {sorted(_BACKBONES)}.")
        self.backbone = backbone

    def call(self, inputs):
        return _BACKBONES[self.backbone].preprocess_input(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone}


def image_input(settings: Settings, name: str = "image") -> keras.KerasTensor:
    """The one input every model shares: raw 0-255 RGB images of the configured size."""
    return keras.Input(shape=settings.image_shape, name=name)


def _keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _can_reach(host: str, timeout: float = 5.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def backbone(name: str, settings: Settings) -> keras.Model:
    """``keras.applications.VGG16`` or ``MobileNet`` without its top, with ImageNet weights
    when the settings ask for them. Offline and without a cached file it fails at once
    with what to download and where to put it, instead of a ``URL fetch failure``."""
    constructors = {"vgg16": keras.applications.VGG16, "mobilenet": keras.applications.MobileNet}
    if name not in constructors:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {sorted(constructors)}.")
    weights = settings.keras_weights
    if weights == "imagenet":
        file_name = _WEIGHT_FILES[name].format(size=settings.image_size)
        cached = _keras_cache_dir() / file_name
        if not cached.exists() and not _can_reach("storage.googleapis.com"):
            raise RuntimeError(
                f"The ImageNet weights of {name} are not cached and the internet cannot be "
                f"reached. Download '{file_name}' (keras.applications' weights, from "
                f"https://storage.googleapis.com/tensorflow/keras-applications/) on a machine that "
                f"is online and put it in {cached.parent} (set KERAS_HOME to use another folder), "
                f"or train from scratch with ENSEMBLE_WEIGHTS=none.")
    return constructors[name](include_top=False, weights=weights, input_shape=settings.image_shape,
                              name=f"{name}_backbone")


def freeze_all_but_last(model: keras.Model, trainable_layers: int) -> keras.Model:
    """Freeze every layer of ``model`` except the last ``trainable_layers``."""
    model.trainable = True
    for layer in model.layers[:-trainable_layers]:
        layer.trainable = False
    return model


def count_params(model: keras.Model) -> dict[str, int]:
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"trainable": trainable, "total": int(model.count_params())}


# --------------------------------------------------------------------------- saving / loading
def model_path(settings: Settings, name: str) -> Path:
    return settings.path("models", f"{name}.keras")


def predictions_path(settings: Settings, name: str) -> Path:
    return settings.path("predictions", f"{name}.npz")


def save_model(model: keras.Model, path: Path) -> None:
    """Save to a temporary file, then rename, so an interrupted save never leaves half a model."""
    tmp = path.with_name(path.stem + ".partial.keras")
    model.save(tmp)
    os.replace(tmp, path)


def load_model(settings: Settings, name: str) -> keras.Model:
    """Load ``<artifacts>/models/<name>.keras`` in safe mode, or say which notebook makes it."""
    path = model_path(settings, name)
    if not path.exists():
        made_by = MEMBER_NOTEBOOKS.get(name, "05_ensembles.ipynb")
        raise MissingArtifactError(f"Model '{name}' not found at {path}. Run {made_by} first "
                                   f"(with the same settings: {settings.run_name}).")
    return keras.models.load_model(path, safe_mode=True)


def save_predictions(settings: Settings, name: str, probabilities: dict[str, np.ndarray],
                     data) -> Path:
    """Cache predicted class probabilities of the validation and test splits with their
    labels, file order, class names and the settings that made them."""
    import json

    path = predictions_path(settings, name)
    arrays = {}
    for split, probs in probabilities.items():
        labels = data.labels(split)
        if len(probs) != len(labels):
            raise ValueError(f"{name}: {len(probs)} predictions for {len(labels)} {split} images.")
        arrays[f"{split}_probs"] = probs.astype("float32")
        arrays[f"{split}_labels"] = labels
        arrays[f"{split}_files"] = np.array([str(p.relative_to(data.split.root)) for p in data.files(split)])
    tmp = path.with_name(path.stem + ".partial.npz")
    np.savez(tmp, class_names=np.array(data.class_names),
             fingerprint=json.dumps(settings.fingerprint()), **arrays)
    os.replace(tmp, path)
    return path


def load_predictions(settings: Settings, name: str) -> dict[str, np.ndarray]:
    """The cached predictions of one model, checked against the current settings."""
    import json

    path = predictions_path(settings, name)
    if not path.exists():
        made_by = MEMBER_NOTEBOOKS.get(name, "05_ensembles.ipynb")
        raise MissingArtifactError(f"Predictions of '{name}' not found at {path}. "
                                   f"Run {made_by} first (settings: {settings.run_name}).")
    with np.load(path, allow_pickle=False) as archive:
        cached = {key: archive[key] for key in archive.files}
    recorded = json.loads(str(cached.pop("fingerprint")))
    if recorded != settings.fingerprint():
        differences = {k: (recorded.get(k), v) for k, v in settings.fingerprint().items()
                       if recorded.get(k) != v}
        raise ValueError(f"{path} was made with other settings {differences} (recorded, current). "
                         f"Rerun {MEMBER_NOTEBOOKS.get(name, 'the notebook that made it')}.")
    return cached


def check_members(settings: Settings, names: tuple[str, ...] = MEMBER_NAMES) -> None:
    """Raise one clear error listing every member whose model or predictions are missing."""
    missing = [n for n in names if not model_path(settings, n).exists()
               or not predictions_path(settings, n).exists()]
    if missing:
        notebooks = ", ".join(MEMBER_NOTEBOOKS[n] for n in missing)
        raise MissingArtifactError(
            f"Missing ensemble members for settings {settings.run_name}: {', '.join(missing)}. "
            f"Run {notebooks} first (or `python -m helpers.run`).")

