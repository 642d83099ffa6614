"""Helpers for the notebook series *Ensembling neural networks with TensorFlow / Keras 3*.

Import what a notebook needs, e.g. ``from helpers import config, data, plotting``.
Importing the package registers the project's custom Keras layers (``BackbonePreprocess``,
``WeightedAverage``), so saved models load in Keras' safe mode after ``import helpers``.
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


_import_tensorflow_quietly()

# Keras warns on every fit() with a tf.data pipeline that its own shuffle flag is ignored. The
# series' training pipelines shuffle themselves (``data.make_dataset``), so the warning is noise.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed, but will be ignored")

from helpers import ensembles, models  # noqa: E402,F401  (registers the custom layers)

__version__ = "0.1.0"
