"""Stand-ins the benchmarks time instead of what cannot be downloaded here: the three members as
notebooks 02-04 build them (``helpers.members``, checked against the notebooks by
``tests/test_members.py``) with random weights frozen as the ImageNet weights would be, so the
compute is the ``cpu`` preset's; random images; and a preset's settings with random weights."""

# helpers first: importing it quiets TensorFlow's C++ start-up messages.
from helpers import config, members  # noqa: I001


def build(name: str, settings: config.Settings, n_classes: int = 8):
    """``custom_cnn``, ``vgg16`` or ``mobilenet``, compiled as in its notebook with ImageNet
    weights."""
    return members.build(name, settings, n_classes, as_with_imagenet=True)


def random_images(n: int, image_size: int, seed: int = 0):
    """``n`` random 0-255 images and labels: timing does not depend on what the pixels show."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, image_size, image_size, 3), dtype=np.uint8).astype("float32")
    return images, rng.integers(0, 8, n).astype("int32")


def settings_for(preset: str, image_size: int | None = None) -> config.Settings:
    """A preset's settings with random weights (the same compute as ImageNet weights when
    the same layers are frozen, and no download needed)."""
    env = {"ENSEMBLE_PRESET": preset, "ENSEMBLE_WEIGHTS": "none"}
    if image_size:
        env["ENSEMBLE_IMAGE_SIZE"] = str(image_size)
    return config.load(env)
