"""Two runs with the same seed make the same split and the same predictions, on a CPU to the
last bit: each run is a fresh process that splits the generated dataset and trains the custom CNN
for one epoch, as notebooks 01 and 02 do."""

import numpy as np
import pytest

from tests.builders import run_python


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
model.fit(ds.train, epochs=1, verbose=0)
np.save(sys.argv[1], model.predict(ds.val, verbose=0))
print(settings.path("split.csv"))
"""


def one_run(folder) -> tuple[bytes, np.ndarray]:
    out = folder / "val_probs.npy"
    env = {"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(folder)}
    result = run_python(RUN, env=env, args=[str(out)], timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    split_csv = result.stdout.strip().splitlines()[-1]
    return open(split_csv, "rb").read(), np.load(out)


@pytest.mark.slow
def test_two_runs_give_the_same_split_and_predictions(tmp_path):
    split_a, probs_a = one_run(tmp_path / "first")
    split_b, probs_b = one_run(tmp_path / "second")
    assert split_a == split_b
    np.testing.assert_array_equal(probs_a, probs_b)
