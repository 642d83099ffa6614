"""Model plumbing shared by the notebooks: the shared image input, each backbone's own
preprocessing as a layer, and ImageNet backbones that fail clearly offline.

The architectures themselves live in the notebooks: they are the lesson. Saving and loading
are in ``helpers.artifacts``.

Command line (the evening before, online: the notebooks then need no network)::

    python -m helpers.models fetch-weights   # both backbones' ImageNet weights into Keras' cache
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import helpers
from helpers import quiet_tensorflow
from helpers.config import Settings


quiet_tensorflow()  # `python -m helpers.models` loads TensorFlow here: mute its start-up lines
import keras  # noqa: E402


#: Each backbone: its constructor, its own preprocessing, and the file name ``keras.applications``
#: gives its ImageNet weights without the top (keras/src/applications/vgg16.py and mobilenet.py,
#: alpha 1.0), downloaded from ``_WEIGHTS_URL``.
_BACKBONES = {
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input,
              "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "mobilenet": (keras.applications.MobileNet, keras.applications.mobilenet.preprocess_input,
                  "mobilenet_1_0_{size}_tf_no_top.h5"),
}
_WEIGHTS_HOST = "storage.googleapis.com"
_WEIGHTS_URL = f"https://{_WEIGHTS_HOST}/tensorflow/keras-applications/{{backbone}}/{{file}}"


def _weights_size(image_size: int) -> int:
    """The image size of the ImageNet weights Keras loads: MobileNet has them for 128, 160, 192
    and 224 px, and Keras loads the 224 px ones for any other size (the convolutions work at any
    size)."""
    return image_size if image_size in (128, 160, 192, 224) else 224


def _known(name: str) -> tuple:
    if name not in _BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {sorted(_BACKBONES)}.")
    return _BACKBONES[name]


@keras.saving.register_keras_serializable(package="helpers")
class BackbonePreprocess(keras.layers.Layer):
    """Applies a backbone's own ``preprocess_input`` inside the model (no Lambda layer,
    so the model loads in Keras' safe mode). Input: raw RGB values in 0-255."""

    def __init__(self, backbone: str, **kwargs):
        super().__init__(**kwargs)
        self.backbone, self._preprocess = backbone, _known(backbone)[1]

    def call(self, inputs):
        return self._preprocess(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone}


def image_input(settings: Settings, name: str = "image") -> keras.KerasTensor:
    """The one input every model shares: raw 0-255 RGB images of the configured size."""
    return keras.Input(shape=settings.image_shape, name=name)


def weight_files(image_size: int) -> dict[str, Path]:
    """Where Keras' cache keeps each backbone's ImageNet weights for this image size."""
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    return {name: cache / pattern.format(size=_weights_size(image_size))
            for name, (_, _, pattern) in _BACKBONES.items()}


def weights_url(name: str, path: Path) -> str:
    """The address ``keras.applications`` downloads a backbone's weights file from."""
    return _WEIGHTS_URL.format(backbone=name, file=Path(path).name)


def missing_weights_message(missing: dict[str, Path]) -> str:
    """What to download and where to put it when weights are not cached and the internet cannot
    be reached (the one message for the notebooks, ``fetch-weights`` and ``helpers.check``)."""
    files = "".join(f"\n  {path.name}  from  {weights_url(name, path)}"
                    for name, path in missing.items())
    folder = next(iter(missing.values())).parent
    return (f"The ImageNet weights of {' and '.join(missing)} are not cached and the internet "
            f"cannot be reached. On a machine that is online, run `python -m helpers.models "
            f"fetch-weights` or download:{files}\nand put the files in {folder} (set KERAS_HOME "
            f"to use another folder), or train from scratch with ENSEMBLE_WEIGHTS=none.")


def backbone(name: str, settings: Settings) -> keras.Model:
    """``keras.applications.VGG16`` or ``MobileNet`` without its top, with ImageNet weights
    when the settings ask for them. Offline and without a cached file it fails at once
    with what to download and where to put it, instead of a ``URL fetch failure``."""
    constructor = _known(name)[0]
    if settings.keras_weights == "imagenet":
        cached = weight_files(settings.image_size)[name]
        if not cached.exists() and not helpers.can_reach(_WEIGHTS_HOST):
            raise RuntimeError(missing_weights_message({name: cached}))
    return constructor(include_top=False, weights=settings.keras_weights,
                       input_shape=settings.image_shape, name=f"{name}_backbone")


def fetch_weights(image_size: int, timeout: float = 5.0) -> dict[str, Path]:
    """Download both backbones' ImageNet weights for this image size into Keras' cache (Keras'
    own download, file names and checks: the applications are built once with them). Offline,
    it fails within ``timeout`` seconds with ``missing_weights_message``."""
    files = weight_files(image_size)
    missing = {name: path for name, path in files.items() if not path.exists()}
    if missing and not helpers.can_reach(_WEIGHTS_HOST, timeout):
        raise RuntimeError(missing_weights_message(missing))
    size = _weights_size(image_size)
    for name in missing:
        _BACKBONES[name][0](include_top=False, weights="imagenet", input_shape=(size, size, 3))
        if not files[name].exists():
            raise RuntimeError(f"Keras downloaded the weights of {name}, but not to "
                               f"{files[name]}: set KERAS_HOME to a folder you can write to.")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fetch-weights"])
    parser.add_argument("--image-size", type=int, default=None,
                        help="MobileNet's weights differ by image size (default: the settings', "
                             "e.g. 128 in the cpu preset)")
    args = parser.parse_args(argv)
    from helpers import config

    try:
        size = args.image_size or config.load().image_size
        start = time.perf_counter()
        files = fetch_weights(size)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, path in files.items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    print(f"ImageNet weights for {size} px images ready ({time.perf_counter() - start:.0f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
