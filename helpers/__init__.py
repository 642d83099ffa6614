"""Helpers for the notebook series *Ensembling neural networks with TensorFlow / Keras 3*.

Import what a notebook needs, e.g. ``from helpers import config, data, plotting``. The package
holds the plumbing (settings, data and the split, the run folder, the runner, callbacks, plotting,
reports) and, in ``helpers.lesson``, the code the notebooks teach, exported from their cells.

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


#: Command-line tools of the package that never need TensorFlow: the runner only starts kernels
#: (it would hold about 700 MB while every notebook runs), the exporter and the Colab tool only
#: read and write notebooks and text (the exporter must run even when a lesson module is broken).
_TOOLS_WITHOUT_TENSORFLOW = ("helpers.run", "helpers.export", "helpers.colab")


def _started_as_a_tool() -> bool:
    """True in ``python -m helpers.run`` (or another of ``_TOOLS_WITHOUT_TENSORFLOW``)."""
    import sys

    argv = list(getattr(sys, "orig_argv", []))
    if "-m" not in argv or argv.index("-m") + 1 >= len(argv):
        return False
    return argv[argv.index("-m") + 1] in _TOOLS_WITHOUT_TENSORFLOW


if not _started_as_a_tool():
    _import_tensorflow_quietly()
    # registers the custom objects
    from helpers import models  # noqa: F401
    from helpers.lesson import combiners, distillation  # noqa: F401

# Keras warns on every fit() with a tf.data pipeline that its own shuffle flag is ignored. The
# series' training pipelines shuffle themselves (``data.make_dataset``), so the warning is noise.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed, but will be ignored")

__version__ = "0.1.0"
