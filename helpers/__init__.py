"""Helpers for the notebook series *Ensembling neural networks with TensorFlow / Keras 3*.

Import what a notebook needs, e.g. ``from helpers import config, data, plotting``.
Importing the package registers the project's custom Keras objects (the layers
``BackbonePreprocess`` and ``WeightedAverage``, the student's ``DistillationLoss`` and
``label_accuracy``), so saved models load in Keras' safe mode after ``import helpers``.
"""

import os
import warnings

# Quiet TensorFlow's C++ start-up messages; must happen before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr muted: recent versions print start-up
    lines (oneDNN, CUDA probing) from C++ before any log level applies. Python errors
    still raise as usual."""
    import sys

    if "tensorflow" in sys.modules or os.environ.get("ENSEMBLE_VERBOSE_TF"):
        return
    try:
        saved = os.dup(2)
    except OSError:
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401

            tensorflow.config.list_physical_devices("GPU")  # the CUDA probe logs here
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _started_as_the_runner() -> bool:
    """True in ``python -m helpers.run``: the runner only starts kernels, so it skips
    TensorFlow (about 3 s and 700 MB it would hold while every notebook runs)."""
    import sys

    argv = list(getattr(sys, "orig_argv", []))
    return "-m" in argv and argv.index("-m") + 1 < len(argv) and argv[argv.index("-m") + 1] == "helpers.run"


if not _started_as_the_runner():
    _import_tensorflow_quietly()
    from helpers import distillation, ensembles, models  # noqa: F401  (registers the custom objects)

# Keras warns on every fit() with a tf.data pipeline that its own shuffle flag is ignored. The
# series' training pipelines shuffle themselves (``data.make_dataset``), so the warning is noise.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed, but will be ignored")

__version__ = "0.1.0"
