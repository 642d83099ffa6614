"""Corrupted copies of images in the style of ImageNet-C, for testing models under shift.

Hendrycks & Dietterich (2019), "Benchmarking Neural Network Robustness to Common Corruptions
and Perturbations" (ICLR), corrupt test images in 15 ways at five severities. We use six of
them, covering noise, blur and digital changes, with the severity parameters published in the
authors' code (github.com/hendrycks/robustness, ``ImageNet-C/imagenet_c/imagenet_c/corruptions.py``).

The published parameters are for 224-pixel images. Those that are lengths in pixels (the blur's
sigma) are scaled by ``image side / 224``, so a severity blurs away the same share of the
picture at our smaller sizes; the others act per pixel or relative to the image and are used
as published. The maintained package ``imagecorruptions`` would pull in a second OpenCV wheel
(``opencv-python`` beside the project's headless one) and scikit-image, so the six are written
here with NumPy, SciPy, Pillow and matplotlib's colour conversion.

Every function takes a batch of RGB images (``(n, height, width, 3)``, values 0-255, any numeric
dtype), a severity from 1 to 5 and a NumPy random generator, and returns a new batch of the
same shape and dtype, rounded to whole 0-255 values like a saved image.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np

SEVERITIES = (1, 3, 5)
#: The published parameter of each corruption at severities 1 to 5 (224-pixel images).
PARAMETERS = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # noise standard deviation, pixels in 0..1
    "gaussian_blur": (1, 2, 3, 4, 6),  # blur sigma in pixels at 224 px
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # share of the contrast kept
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),  # added to the HSV value channel
    "jpeg_compression": (25, 18, 15, 10, 7),  # JPEG quality
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),  # downscaling factor
}
NAMES = tuple(PARAMETERS)
#: Which family each belongs to, as in the paper.
FAMILIES = {"gaussian_noise": "noise", "gaussian_blur": "blur", "contrast": "digital",
            "brightness": "weather", "jpeg_compression": "digital", "pixelate": "digital"}
#: The ``smoke`` preset runs the same code on two of them (one noise, one blur) to stay fast.
SMOKE_NAMES = ("gaussian_noise", "gaussian_blur")


def names_for(preset: str) -> tuple[str, ...]:
    """The corruptions notebook 07 applies in a preset."""
    return SMOKE_NAMES if preset == "smoke" else NAMES


def _parameter(name: str, severity: int) -> float:
    if severity not in range(1, 6):
        raise ValueError(f"Severity {severity!r} is not allowed; use a whole number from 1 to 5.")
    return PARAMETERS[name][severity - 1]


def _gaussian_noise(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x / 255 + rng.normal(scale=c, size=x.shape), 0, 1) * 255


def _gaussian_blur(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    from scipy import ndimage

    sigma = c * x.shape[1] / 224
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="nearest")


def _contrast(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    means = x.mean(axis=(1, 2), keepdims=True)
    return np.clip((x - means) * c + means, 0, 255)


def _brightness(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

    hsv = rgb_to_hsv(np.clip(x / 255, 0, 1))
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return hsv_to_rgb(hsv) * 255


def _jpeg_compression(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    out = np.empty_like(x)
    for i, image in enumerate(np.clip(np.round(x), 0, 255).astype(np.uint8)):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=int(c))
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[i] = np.asarray(decoded.convert("RGB"))
    return out


def _pixelate(x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    height, width = x.shape[1:3]
    small = (max(1, int(width * c)), max(1, int(height * c)))
    out = np.empty_like(x)
    for i, image in enumerate(np.clip(np.round(x), 0, 255).astype(np.uint8)):
        pixelated = Image.fromarray(image).resize(small, Image.BOX).resize((width, height), Image.BOX)
        out[i] = np.asarray(pixelated)
    return out


_FUNCTIONS: dict[str, Callable] = {
    "gaussian_noise": _gaussian_noise, "gaussian_blur": _gaussian_blur, "contrast": _contrast,
    "brightness": _brightness, "jpeg_compression": _jpeg_compression, "pixelate": _pixelate,
}


def corrupt(images: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """A corrupted copy of a batch of 0-255 RGB images: same shape and dtype, whole values,
    the same result for the same seed."""
    if name not in _FUNCTIONS:
        raise ValueError(f"Unknown corruption {name!r}; choose one of: {', '.join(NAMES)}.")
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"corrupt() takes a batch of RGB images shaped (n, height, width, 3); "
                         f"got shape {images.shape}.")
    rng = np.random.default_rng(seed)
    result = _FUNCTIONS[name](images.astype("float64"), _parameter(name, severity), rng)
    return np.clip(np.round(result), 0, 255).astype(images.dtype)


def stratified_subset(labels: np.ndarray, max_images: int | None, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_images`` images with every class kept in proportion (a seeded
    choice, in file order), so a corrupted copy of a large test split stays affordable."""
    if not max_images or max_images >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    index, _ = train_test_split(np.arange(len(labels)), train_size=max_images, stratify=labels,
                                random_state=seed)
    return np.sort(index)
