"""The generated dataset: a tiny dataset shaped like Natural Images, for the ``smoke`` preset and
the tests, wherever the real dataset is not needed (it cannot be downloaded everywhere).

Same eight class folders and file names as the real dataset (``cat/cat_0001.jpg``), a
few dozen small JPEGs per class of varying size. Each class has its own colour and
shape, drawn with noise, position and size jitter, so a small CNN separates them well
above chance within two epochs while the task is not a lookup of one pixel value.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from helpers import catalogue


IMAGES_PER_CLASS = 24
_MARKER = ".complete"
#: One base colour (RGB) and one shape per class of Natural Images, in the catalogue's order.
STYLES = dict(zip(catalogue.CLASS_NAMES, (
    ((70, 130, 220), "cross"), ((200, 40, 40), "box"), ((230, 160, 60), "triangle"),
    ((120, 80, 40), "disc"), ((220, 60, 200), "ring"), ((240, 220, 40), "disc"),
    ((40, 40, 40), "stripes"), ((60, 180, 90), "bar"))))


def _draw(name: str, rng: np.random.Generator) -> np.ndarray:
    height, width = rng.integers(56, 100, size=2)
    yy, xx = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    colour, shape = STYLES[name]
    # The background leans towards the class colour too, so even a tiny model finds a signal.
    image = np.ones((height, width, 3)) * (0.5 * np.array(colour) + rng.uniform(30, 130, size=3))
    cy, cx = rng.uniform(0.35, 0.65, size=2)
    r = rng.uniform(0.18, 0.3)
    dy, dx = yy - cy, xx - cx
    masks = {
        "cross": ((np.abs(dy) < r / 4) & (np.abs(dx) < r * 1.5)
                  | (np.abs(dx) < r / 4) & (np.abs(dy) < r)),
        "box": (np.abs(dy) < r * 0.7) & (np.abs(dx) < r * 1.3),
        "triangle": (dy > -r) & (dy < r) & (np.abs(dx) < (dy + r) / 2),
        "disc": dy ** 2 + dx ** 2 < r ** 2,
        "ring": np.abs(np.sqrt(dy ** 2 + dx ** 2) - r) < r / 3,
        "stripes": (np.sin(xx * 40 + rng.uniform(0, 6)) > 0) & (np.abs(dy) < r * 1.5),
        "bar": (np.abs(dx) < r / 2.5) & (np.abs(dy) < r * 1.6),
    }
    image[masks[shape]] = np.clip(np.array(colour) + rng.normal(0, 18, size=3), 0, 255)
    image += rng.normal(0, 12, size=image.shape)
    return np.clip(image, 0, 255).astype("uint8")


def ensure_generated_dataset(target: Path, seed: int = 42,
                             images_per_class: int | dict[str, int] = IMAGES_PER_CLASS) -> Path:
    """Generate the dataset into ``target`` unless it is already complete; return it.

    ``images_per_class`` is one count for every class, or a count per class (e.g. the real
    dataset's, for a timing run of its size). Deterministic for a seed. Written to a temporary
    folder and renamed at the end, so an interrupted run never leaves a half-made dataset behind.
    """
    from PIL import Image

    target = Path(target)
    if (target / _MARKER).exists():
        return target
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    rng = np.random.default_rng(seed)
    counts = (images_per_class if isinstance(images_per_class, dict)
              else dict.fromkeys(STYLES, images_per_class))
    for name in STYLES:
        folder = tmp / name
        folder.mkdir(parents=True)
        for i in range(1, counts[name] + 1):
            Image.fromarray(_draw(name, rng)).save(folder / f"{name}_{i:04d}.jpg", quality=90)
    (tmp / _MARKER).write_text(f"seed={seed} images_per_class={images_per_class}\n")
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)  # tmp is beside target: its folder exists
    return target
