"""Stand-ins the benchmarks time instead of what cannot be downloaded here: the three members as
notebooks 02-04 build them, with the code those notebooks export (``helpers.lesson.custom_cnn``,
``.vgg16`` and ``.mobilenet``), and random weights frozen exactly where ImageNet weights would
be (``ENSEMBLE_WEIGHTS=random``), so the compute is the ``cpu`` preset's; random images; a
preset's settings with those weights; and the machine, which every result records."""

from __future__ import annotations

from pathlib import Path

# helpers before TensorFlow (imported lazily here): importing it quiets TensorFlow's C++ logs.
from helpers import config


#: Where the benchmarks write their results (``report.py`` reads them from here).
RESULTS = Path(__file__).parent / "results"


def frozen_parts(name: str, settings: config.Settings, n_classes: int = 8,
                 head_name: str | None = None) -> tuple:
    """The frozen bottom and the compiled head of ``vgg16`` or ``mobilenet`` as notebooks 03
    and 04 build them when their bottom is frozen (ImageNet weights, or the random weights that
    stand in for them): the head trains on the bottom's stored output."""
    from helpers import models
    from helpers.lesson import mobilenet, vgg16

    if name == "vgg16":
        backbone = vgg16.freeze_all_but_last(models.backbone("vgg16", settings),
                                             vgg16.VGG16_TRAINABLE)
        bottom, top = vgg16.split_at(backbone, vgg16.VGG16_TRAINABLE)
        return bottom, vgg16.vgg16_head(top, n_classes, head_name or "vgg16_head")
    if name == "mobilenet":
        return mobilenet.mobilenet_parts(settings, n_classes, head_name or "mobilenet_head")
    raise ValueError(f"{name!r} has no frozen parts; choose vgg16 or mobilenet.")


def build(name: str, settings: config.Settings, n_classes: int = 8):
    """``custom_cnn``, ``vgg16`` or ``mobilenet`` as its notebook builds it. The custom CNN (and
    MobileNet when its bottom is not frozen, ``ENSEMBLE_WEIGHTS=none``) is compiled, raw images
    in, augmentation inside; a member with a frozen bottom is assembled from ``frozen_parts``
    (``vgg16.assemble_member``) as notebooks 03 and 04 save it, not compiled (what trains is
    its head), and given back as loading it gives it back (``reloaded``)."""
    from helpers.lesson import custom_cnn, mobilenet, vgg16

    if name == "custom_cnn":
        return custom_cnn.custom_cnn(settings, n_classes, name=name)
    if name == "mobilenet" and not mobilenet.is_bottom_frozen(settings):
        return mobilenet.mobilenet_from_scratch(settings, n_classes, name=name)
    bottom, head = frozen_parts(name, settings, n_classes)
    return reloaded(vgg16.assemble_member(bottom, head, name, settings, name))


def reloaded(model):
    """``model`` rebuilt from its configuration with its weights, as loading its file rebuilds
    it: every layer then belongs to this model alone. The notebooks reload each member they
    assemble; an assembled member's last layer was first called in its head, so what takes a
    member's penultimate features (``evaluation.predict_with_features``, feature ensembles)
    needs the reloaded one."""
    import keras

    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def random_images(n: int, image_size: int, seed: int = 0):
    """``n`` random 0-255 images and labels: timing does not depend on what the pixels show."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, image_size, image_size, 3), dtype=np.uint8).astype("float32")
    return images, rng.integers(0, 8, n).astype("int32")


def settings_for(preset: str, image_size: int | None = None, **variables: str) -> config.Settings:
    """A preset's settings with random weights frozen where ImageNet weights would be (the same
    compute, and no download needed); ``variables``: more ``ENSEMBLE_*`` variables."""
    env = {"ENSEMBLE_PRESET": preset, "ENSEMBLE_WEIGHTS": "random", **variables}
    if image_size:
        env["ENSEMBLE_IMAGE_SIZE"] = str(image_size)
    return config.load(env)


def machine() -> dict[str, str | int]:
    """What a result was measured on, which every result's JSON records: the processor, its
    widest vector extension (TensorFlow's CPU kernels use it), the cores this process may use, and
    the versions of Python, NumPy, TensorFlow and Keras (read from the installed packages, cheaply:
    nothing is imported)."""
    import os
    import platform
    from importlib import metadata

    cpu, flags = "unknown", None
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.exists() else []:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name" and cpu == "unknown":
            cpu = value
        elif key == "flags" and flags is None:
            flags = set(value.split())
    extension = ("unknown" if flags is None else "AVX-512" if "avx512f" in flags
                 else "AVX2" if "avx2" in flags else "neither AVX2 nor AVX-512")

    def version(package: str) -> str:
        for name in (package, f"{package}-cpu"):  # tensorflow-cpu is TensorFlow too
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
        return "unknown"

    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count() or "unknown")
    return {"cpu": cpu if cpu != "unknown" else platform.processor() or "unknown",
            "vector_extension": extension, "cores": cores, "python": platform.python_version(),
            **{package: version(package) for package in ("numpy", "tensorflow", "keras")}}
