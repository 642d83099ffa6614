"""The test session's environment, for the unit tests and for the notebooks nbval runs.

Every test runs in the ``smoke`` preset (random weights) with its artifacts in a temporary
folder, whatever other ENSEMBLE_* variables the shell has, so the suite never touches models
trained on real data. The data is generated, unless ENSEMBLE_DATA_DIR names real photos: then the
smoke preset takes a small seeded stratified subset of them. nbval's kernels inherit this
environment. Set ENSEMBLE_TEST_ARTIFACTS_DIR to keep the artifacts (and the run's executed state)
of a test session.
"""

import os
import tempfile


def pytest_configure(config):
    kept = os.environ.get("ENSEMBLE_TEST_ARTIFACTS_DIR")
    photos = os.environ.get("ENSEMBLE_DATA_DIR")
    for name in [n for n in os.environ if n.startswith("ENSEMBLE_")]:
        del os.environ[name]
    if photos:
        os.environ["ENSEMBLE_DATA_DIR"] = photos
    os.environ["ENSEMBLE_PRESET"] = "smoke"
    os.environ["ENSEMBLE_ARTIFACTS_DIR"] = kept or tempfile.mkdtemp(prefix="ensemble-tests-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
