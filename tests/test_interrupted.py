"""A kernel killed during training keeps the last best checkpoint and leaves no half-written
model behind; running the same code again finishes cleanly."""

import signal

import numpy as np

from helpers import artifacts, config
from tests.builders import run_python


TRAIN = """
import os, signal
import numpy as np, keras
from helpers import artifacts, callbacks, config
from tests.builders import tiny_member

settings = config.load()
config.set_seed(0)
rng = np.random.default_rng(0)
images = rng.uniform(0, 255, (32, 48, 48, 3)).astype("float32")
labels = (images.mean(axis=(1, 2, 3)) > 127.5).astype("int32")
model = tiny_member(settings, "custom_cnn")
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
kill_at = int(os.environ.get("KILL_AT_SAVE", "0"))
saves = 0
original_save = keras.Model.save

def save_then_maybe_die(self, path, *args, **kwargs):
    global saves
    saves += 1
    if saves == kill_at:  # die halfway through writing the file, as a killed kernel would
        with open(path, "wb") as handle:
            handle.write(b"half a model")
        os.kill(os.getpid(), signal.SIGKILL)
    original_save(self, path, *args, **kwargs)
    np.save(os.environ["PREDICTIONS_AT_SAVE"], self.predict_on_batch(images))

keras.Model.save = save_then_maybe_die
checkpoint = callbacks.BestModelCheckpoint(artifacts.model_path(settings, "custom_cnn"),
                                           monitor="loss", settings=settings)
model.fit(images, labels, epochs=8, batch_size=8, callbacks=[checkpoint], verbose=0)
print("finished after", saves, "saves")
"""


def test_kill_during_training_keeps_the_last_checkpoint_and_rerun_finishes(tmp_path):
    env = {"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
           "PREDICTIONS_AT_SAVE": str(tmp_path / "last_saved.npy"), "KILL_AT_SAVE": "2"}
    settings = config.load(env)
    killed = run_python(TRAIN, env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    folder = artifacts.model_path(settings, "custom_cnn").parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "custom_cnn.keras", "custom_cnn.partial.keras", "custom_cnn.settings.json"]
    # The checkpoint is the complete model of the first save, not the half-written second one.
    images = np.random.default_rng(0).uniform(0, 255, (32, 48, 48, 3)).astype("float32")
    reloaded = artifacts.load_model(settings, "custom_cnn")
    np.testing.assert_allclose(reloaded.predict_on_batch(images), np.load(tmp_path / "last_saved.npy"),
                               atol=1e-6)

    # Running it again (as `python -m helpers.run --from 02` would) completes and cleans up.
    rerun = run_python(TRAIN, {**env, "KILL_AT_SAVE": "0"})
    assert rerun.returncode == 0 and "finished after" in rerun.stdout, rerun.stderr[-2000:]
    assert sorted(p.name for p in folder.iterdir()) == ["custom_cnn.keras", "custom_cnn.settings.json"]
    np.testing.assert_allclose(artifacts.load_model(settings, "custom_cnn").predict_on_batch(images),
                               np.load(tmp_path / "last_saved.npy"), atol=1e-6)
