"""Helpers for the notebook series *Ensembling neural networks with TensorFlow / Keras 3*.

Import what a notebook needs, e.g. ``from helpers import config, data, plotting``. The package
holds the plumbing (the catalogue of the series, settings, data and the split, the run folder,
the runner, callbacks, plotting) and, in ``helpers.lesson``, the code the notebooks teach,
exported from their cells.

``import helpers`` is light: it imports neither TensorFlow nor the lesson modules, so the
command-line tools start fast. Modules that need TensorFlow import it through
``quiet_tensorflow()``; in a Jupyter kernel the package does so at once, before a notebook's own
``import keras`` would print TensorFlow's C++ start-up lines into the notebook.
"""

import os
import socket
import sys


# Quiet TensorFlow's C++ logs; must happen before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def quiet_tensorflow() -> None:
    """Import TensorFlow with the process's stderr muted: recent versions print start-up lines
    (oneDNN, CUDA probing) from C++ before any log level applies. Python errors still raise.
    ``ENSEMBLE_VERBOSE_TF=1`` shows the lines."""
    if "tensorflow" in sys.modules or os.environ.get("ENSEMBLE_VERBOSE_TF"):
        return
    try:
        saved = os.dup(2)
    except OSError:
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")  # the CUDA probe logs here
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def can_reach(host: str, timeout: float = 5.0) -> bool:
    """Whether ``host`` answers on port 443 within ``timeout`` seconds (never hangs offline):
    the downloads of the data and the weights ask first, so that offline they fail at once."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def command_line(name: str, doc: str):
    """The argument parser of ``python -m helpers.<name>``; its help shows ``doc`` as written."""
    import argparse

    return argparse.ArgumentParser(prog=f"python -m helpers.{name}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


if "ipykernel" in sys.modules:  # a notebook: it imports Keras next
    quiet_tensorflow()
