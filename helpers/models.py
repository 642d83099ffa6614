"""Model plumbing shared by the notebooks: the shared image input, each backbone's own
preprocessing as a layer, and ImageNet backbones that fail clearly offline.

The architectures themselves live in the notebooks: they are the lesson. Saving and loading
are in ``helpers.artifacts``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import keras

from helpers.config import Settings


_BACKBONES = {"vgg16": keras.applications.vgg16, "mobilenet": keras.applications.mobilenet}
_WEIGHT_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "mobilenet": "mobilenet_1_0_{size}_tf_no_top.h5",
}


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
