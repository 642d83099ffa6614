"""Small things the unit tests build: images, datasets, probabilities, a tiny member."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from helpers import config


def write_image(path: Path, mode: str = "RGB", size=(40, 30), fmt: str = "JPEG", value: int = 120) -> Path:
    """Write a small image with some structure (so JPEG encoders keep it non-trivial)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    channels = {"RGB": 3, "L": 1, "RGBA": 4, "CMYK": 4}[mode]
    array = rng.integers(0, 255, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(array[..., 0] if channels == 1 else array, mode if mode != "L" else None)
    if mode == "L":
        image = image.convert("L")
    image.save(path, fmt)
    return path


def make_image_folder(root: Path, classes=("cat", "dog", "fruit"), per_class: int = 6) -> Path:
    for c, name in enumerate(classes):
        for i in range(per_class):
            write_image(root / name / f"{name}_{i:04d}.jpg", value=c * 100 + i)
    return root


def run_python(code: str, env: dict | None = None, timeout: int = 120,
               args: list[str] = ()) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process (a new TensorFlow runtime), with ``args``. The
    data is the generated dataset unless ``env`` names other: the caller's settings decide it,
    not an ENSEMBLE_DATA_DIR the test session kept."""
    full_env = {**{k: v for k, v in os.environ.items() if k != "ENSEMBLE_DATA_DIR"}, **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


# ---------------------------------------------------------------- shared builders
def random_probs(n: int, k: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` random probability vectors over ``k`` classes."""
    logits = np.random.default_rng(seed).normal(size=(n, k))
    return (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype("float32")


def confident(labels: np.ndarray, right: np.ndarray, k: int = 8, p: float = 0.9) -> np.ndarray:
    """Probabilities that give ``p`` to the true class where ``right``, else to the next class."""
    predicted = np.where(right, labels, (labels + 1) % k)
    return (np.eye(k)[predicted] * (p - (1 - p) / (k - 1)) + (1 - p) / (k - 1)).astype("float32")


def tiny_member(settings, name: str, preprocess: str | None = "mobilenet"):
    """A small model shaped like the notebooks' members: augmentation and preprocessing inside."""
    import keras

    from helpers import models
    from helpers.lesson.data_prep import augmentation

    inputs = models.image_input(settings)
    x = augmentation(seed=0)(inputs)
    x = (models.BackbonePreprocess(preprocess)(x) if preprocess
         else keras.layers.Rescaling(1 / 255)(x))
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(8, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def with_settings(settings: config.Settings, **changes) -> config.Settings:
    """A copy of ``settings`` with some fields changed (e.g. another seed or image size)."""
    return type(settings)(**{**settings.__dict__, **changes})
