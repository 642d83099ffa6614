"""Two runs with the same seed make the same split and the same predictions."""

import os
import subprocess
import sys

import numpy as np

from helpers import artifacts, config


def _run_series_start(artifacts_root) -> config.Settings:
    env = {"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(artifacts_root)}
    # Notebook 02 makes the split itself when 01 has not run, so it alone covers split and training.
    # `python -m helpers.run`, as a user types it (that process does not import TensorFlow).
    result = subprocess.run([sys.executable, "-m", "helpers.run", "--only", "02"], capture_output=True,
                            text=True, env={**os.environ, **env}, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return config.load(env)


def test_two_smoke_runs_give_the_same_split_and_predictions(tmp_path, notebook_passed):
    # The first run is the run of notebook 02 in this session, when it has one (it
    # shares the environment and the seed); else a run of 02 of our own.
    first = (config.load() if notebook_passed("02_custom_cnn")
             else _run_series_start(tmp_path / "first"))
    second = _run_series_start(tmp_path / "second")
    assert first.path("split.csv").read_bytes() == second.path("split.csv").read_bytes()
    a = artifacts.load_predictions(first, "custom_cnn")
    b = artifacts.load_predictions(second, "custom_cnn")
    for key in ("val_files", "test_files", "val_labels", "test_labels"):
        assert np.array_equal(a[key], b[key]), key
    # Training the custom CNN for two epochs on the CPU gives bit-identical probabilities.
    np.testing.assert_array_equal(a["val_probs"], b["val_probs"])
    np.testing.assert_array_equal(a["test_probs"], b["test_probs"])
