"""Test set-up shared by the unit tests and the nbval runs of the notebooks.

Every test runs in the ``smoke`` preset (generated data, random weights) with its
artifacts in a temporary folder, whatever ENSEMBLE_* variables the shell has, so the
suite never touches models trained on real data. Notebook kernels inherit this
environment. Set ENSEMBLE_TEST_ARTIFACTS_DIR to keep the artifacts of a test run.
"""

import os
import tempfile


def pytest_configure(config):
    for name in [n for n in os.environ if n.startswith("ENSEMBLE_") and n != "ENSEMBLE_TEST_ARTIFACTS_DIR"]:
        del os.environ[name]
    os.environ["ENSEMBLE_PRESET"] = "smoke"
    artifacts = os.environ.get("ENSEMBLE_TEST_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="ensemble-tests-")
    os.environ["ENSEMBLE_ARTIFACTS_DIR"] = artifacts
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
