"""Model plumbing shared by the notebooks: preprocessing layers, ImageNet backbones that
fail clearly offline, freezing, saving, loading, and the cached predictions of members.

The architectures themselves live in the notebooks: they are the lesson.
"""

from __future__ import annotations

import hashlib
import json
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
#: Which notebook makes any other saved model: the ensembles come from 05, the student from 08.
MADE_BY = {**MEMBER_NOTEBOOKS, "student": "08_distillation.ipynb"}
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
        # MobileNet has ImageNet weights for 128, 160, 192 and 224 px; Keras loads the 224 px
        # ones for any other size (the convolutions work at any size).
        size = settings.image_size if settings.image_size in (128, 160, 192, 224) else 224
        file_name = _WEIGHT_FILES[name].format(size=size)
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


def calibrate_batchnorm(backbone_model: keras.Model, name: str, dataset, max_images: int = 256) -> int:
    """Set the moving mean and variance of every BatchNormalization layer of a backbone to
    their average over up to ``max_images`` images (raw 0-255 RGB) from ``dataset``, a
    pipeline of ``(images, labels)`` batches. Returns the number of layers calibrated.

    Only for randomly initialised backbones (``ENSEMBLE_WEIGHTS=none``): their moving
    statistics start at mean 0 and variance 1, which does not match what the random
    convolutions produce, so a frozen random MobileNet shrinks every image to almost zero
    (about 1e-20) and its head has nothing to learn from. Pretrained weights come with
    statistics that match, so they need no calibration. It runs batch by batch, so its
    memory is that of one batch, whatever ``max_images`` is.
    """
    layers = [layer for layer in backbone_model.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0  # nothing to calibrate (VGG16 has no BatchNormalization): no pass over the data
    saved = [(layer.trainable, layer.momentum) for layer in layers]
    preprocess = BackbonePreprocess(name)
    seen = batches = 0
    for images, _ in dataset:
        batches += 1
        for layer in layers:
            # momentum (k-1)/k after k batches: the moving statistics are the plain average
            layer.trainable, layer.momentum = True, (batches - 1) / batches
        images = np.asarray(images, dtype="float32")[: max_images - seen]
        backbone_model(preprocess(images), training=True)
        seen += len(images)
        if seen >= max_images:
            break
    for layer, (trainable, momentum) in zip(layers, saved):
        layer.trainable, layer.momentum = trainable, momentum
    return len(layers)


def train_whole(backbone_model: keras.Model, batchnorm_momentum: float = 0.9) -> keras.Model:
    """Make every layer of a randomly initialised backbone trainable, for ``ENSEMBLE_WEIGHTS=none``.

    There are no pre-trained weights to protect, so the whole network learns and its
    BatchNormalization layers learn their statistics (call it with ``training`` left to Keras).
    Their momentum is lowered from 0.99 to ``batchnorm_momentum``: a run of a few hundred
    steps would otherwise leave the moving averages, which validation and prediction use,
    far behind the statistics the layers actually see."""
    backbone_model.trainable = True
    for layer in backbone_model.layers:
        layer.trainable = True  # one by one: the model's flag does not undo a layer's own freezing
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = batchnorm_momentum
    return backbone_model


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


def provenance(settings: Settings) -> dict:
    """What an artifact was made from: the settings that matter and a digest of the saved
    split (so a model trained on another split, or another class list, is recognised)."""
    manifest = settings.run_dir / "split.csv"
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.exists() else None
    return {**settings.fingerprint(), "split_sha256": digest}


def check_provenance(recorded: dict, settings: Settings, path: Path, name: str) -> None:
    """Raise a ``ValueError`` naming every difference between what ``path`` was made from
    and the current settings and split, and the notebook that remakes it."""
    current = provenance(settings)
    differences = {key: (recorded.get(key), value) for key, value in current.items()
                   if recorded.get(key) != value}
    if differences:
        remake = MADE_BY.get(name, "05_ensembles.ipynb")
        details = "; ".join(f"{key}: {old!r} there, {new!r} now" for key, (old, new) in differences.items())
        raise ValueError(f"{path} was made with other settings or another split ({details}). "
                         f"It is not mixed into this run: rerun {remake} with the current settings.")


def _record_path(path: Path) -> Path:
    return path.with_suffix(".settings.json")


def save_model(model: keras.Model, path: Path, settings: Settings | None = None) -> None:
    """Save to a temporary file, then rename, so an interrupted save never leaves half a
    model. With ``settings``, what it was made from is recorded beside it first."""
    from helpers.config import write_json_atomic

    if settings is not None:
        write_json_atomic(_record_path(path), provenance(settings))
    tmp = path.with_name(path.stem + ".partial.keras")
    model.save(tmp)
    os.replace(tmp, path)


def load_checked(path: Path, settings: Settings, name: str) -> keras.Model:
    """Load a saved model in safe mode after checking the record beside it against the
    current settings and split; ``name`` picks the notebook named in the error."""
    record = _record_path(path)
    if not record.exists():
        raise ValueError(f"{path} has no record of the settings it was made with ({record.name} is "
                         f"missing), so it cannot be checked against this run. Rerun "
                         f"{MADE_BY.get(name, '05_ensembles.ipynb')}.")
    check_provenance(json.loads(record.read_text(encoding="utf-8")), settings, path, name)
    return keras.models.load_model(path, safe_mode=True)


def load_model(settings: Settings, name: str) -> keras.Model:
    """Load ``<artifacts>/models/<name>.keras`` in safe mode, or say which notebook makes it.
    Refuses a model recorded as made with other settings or another split."""
    path = model_path(settings, name)
    if not path.exists():
        made_by = MADE_BY.get(name, "05_ensembles.ipynb")
        raise MissingArtifactError(f"Model '{name}' not found at {path}. Run {made_by} first "
                                   f"(with the same settings: {settings.run_name}).")
    return load_checked(path, settings, name)


def save_predictions(settings: Settings, name: str, probabilities: dict[str, np.ndarray],
                     data) -> Path:
    """Cache predicted class probabilities of the validation and test splits with their
    labels, file order, class names and the settings and split that made them."""
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
             provenance=json.dumps(provenance(settings)), **arrays)
    os.replace(tmp, path)
    return path


def load_predictions(settings: Settings, name: str) -> dict[str, np.ndarray]:
    """The cached predictions of one model, checked against the current settings and split."""
    path = predictions_path(settings, name)
    if not path.exists():
        made_by = MADE_BY.get(name, "05_ensembles.ipynb")
        raise MissingArtifactError(f"Predictions of '{name}' not found at {path}. "
                                   f"Run {made_by} first (settings: {settings.run_name}).")
    with np.load(path, allow_pickle=False) as archive:
        cached = {key: archive[key] for key in archive.files}
    recorded = json.loads(str(cached.pop("provenance", "{}")))
    check_provenance(recorded, settings, path, name)
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

