"""Model plumbing shared by the notebooks: the shared image input, each backbone's own
preprocessing as a layer, ImageNet backbones that fail clearly offline, freezing, and the
BatchNormalization set-up of backbones without pre-trained weights.

The architectures themselves live in the notebooks: they are the lesson. Saving and loading
are in ``helpers.artifacts``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import keras
import numpy as np

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


def estimate_batchnorm_statistics(backbone_model: keras.Model, name: str, dataset,
                                  max_images: int = 256) -> int:
    """Set the moving mean and variance of every BatchNormalization layer of a backbone to
    their average over up to ``max_images`` images (raw 0-255 RGB) from ``dataset``, a
    pipeline of ``(images, labels)`` batches. Returns the number of layers set.

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
        return 0  # nothing to estimate (VGG16 has no BatchNormalization): no pass over the data
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
    """Freeze every layer of ``model`` except the last ``trainable_layers``, and keep every
    BatchNormalization layer frozen too, so it always normalises with its stored statistics.

    Calling a backbone with ``training=False`` inside a functional model does *not* keep its
    BatchNormalization in inference mode during ``fit`` in Keras 3: ``fit`` calls the outer model
    with ``training=True``, which the inner call inherits (``tests/test_models.py`` shows it).
    A BatchNormalization layer with ``trainable = False`` runs in inference mode whatever the
    call says, so freezing it is what protects the pre-trained statistics."""
    model.trainable = True
    for layer in model.layers[:-trainable_layers]:
        layer.trainable = False
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return model


def count_params(model: keras.Model) -> dict[str, int]:
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"trainable": trainable, "total": int(model.count_params())}
