"""Two runs with the same seed make the same split and the same predictions, on a CPU to the
last bit: each run is a fresh process that splits the generated dataset and trains the custom CNN
for one epoch, as notebooks 01 and 02 do."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


RUN = """
import sys

import numpy as np

from helpers import config, data
from helpers.lesson.custom_cnn import custom_cnn
from helpers.lesson.data_prep import stratified_split

settings = config.load()
config.set_seed(settings.seed)
data.load_split(settings, split_with=stratified_split)
ds = data.load_data(settings)
model = custom_cnn(settings, len(ds.class_names))
model.fit(ds.train, epochs=1, shuffle=False, verbose=0)
np.save(sys.argv[1], model.predict(ds.val, verbose=0))
print(settings.path("split.csv"))
"""


def start_run(folder) -> tuple[subprocess.Popen, Path]:
    """A fresh process that splits and trains in ``folder``, as a user's run would."""
    out = folder / "val_probs.npy"
    env = {**os.environ, "ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(folder)}
    process = subprocess.Popen([sys.executable, "-c", RUN, str(out)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return process, out


@pytest.mark.slow
def test_two_runs_give_the_same_split_and_predictions(tmp_path):
    # Two processes at once: on two cores, the test takes the time of one run.
    runs = [start_run(tmp_path / name) for name in ("first", "second")]
    splits, probs = [], []
    for process, out in runs:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stdout[-2000:] + stderr[-2000:]
        splits.append(Path(stdout.strip().splitlines()[-1]).read_bytes())
        probs.append(np.load(out))
    assert splits[0] == splits[1]
    np.testing.assert_array_equal(probs[0], probs[1])
