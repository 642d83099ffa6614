import json

import keras
import numpy as np
import pytest

from helpers import callbacks, data, ensembles, models
from tests.conftest import run_python


def tiny_member(settings, name: str, preprocess: str | None = "mobilenet"):
    """A small model shaped like the notebooks' members: augmentation and preprocessing inside."""
    inputs = models.image_input(settings)
    x = data.augmentation(seed=0)(inputs)
    x = models.BackbonePreprocess(preprocess)(x) if preprocess else keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(8, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("backbone", ["vgg16", "mobilenet"])
def test_preprocess_layer_matches_keras_applications(backbone):
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    module = getattr(keras.applications, backbone)
    np.testing.assert_allclose(models.BackbonePreprocess(backbone)(x).numpy(),
                               module.preprocess_input(x.copy()), rtol=1e-6)


def test_unknown_backbone_is_a_value_error():
    with pytest.raises(ValueError, match="Unknown backbone"):
        models.BackbonePreprocess("resnet")


def test_freeze_all_but_last(smoke_settings):
    base = models.backbone("vgg16", smoke_settings)
    models.freeze_all_but_last(base, 3)
    assert [layer.trainable for layer in base.layers[-4:]] == [False, True, True, True]
    assert not any(layer.trainable for layer in base.layers[:-3])


def test_batchnorm_calibration_brings_back_the_signal_of_a_random_mobilenet(smoke_settings):
    import tensorflow as tf

    base = models.freeze_all_but_last(models.backbone("mobilenet", smoke_settings), 5)
    images = np.random.default_rng(0).uniform(0, 255, (16, 48, 48, 3)).astype("float32")
    pipeline = tf.data.Dataset.from_tensor_slices((images, np.zeros(16, "int32"))).batch(8)

    def features():
        return base(models.BackbonePreprocess("mobilenet")(images), training=False).numpy()

    assert np.abs(features()).max() < 1e-6  # mean 0 / variance 1 statistics: the signal vanishes
    assert models.calibrate_batchnorm(base, "mobilenet", pipeline, max_images=16) == 27
    calibrated = features()
    assert calibrated.std(axis=0).mean() > 0.05  # images now differ from each other
    assert [layer.trainable for layer in base.layers[-6:]] == [False, True, True, True, True, True]
    # Calibrated in two batches of 8: the first layer's moving mean is the mean over all 16.
    first_conv = base.get_layer("conv1")(models.BackbonePreprocess("mobilenet")(images)).numpy()
    np.testing.assert_allclose(base.get_layer("conv1_bn").moving_mean.numpy(),
                               first_conv.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
    assert base.get_layer("conv1_bn").momentum == 0.99  # restored


def test_imagenet_weights_offline_fail_fast_with_instructions(smoke_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(models, "_can_reach", lambda host, timeout=5.0: False)
    settings = type(smoke_settings)(**{**smoke_settings.__dict__, "weights": "imagenet", "image_size": 128})
    with pytest.raises(RuntimeError) as error:
        models.backbone("mobilenet", settings)
    message = str(error.value)
    assert "mobilenet_1_0_128_tf_no_top.h5" in message and str(tmp_path / "keras" / "models") in message
    assert "ENSEMBLE_WEIGHTS=none" in message
    # Sizes without MobileNet weights of their own use the 224 px file, as Keras does.
    odd_size = type(smoke_settings)(**{**settings.__dict__, "image_size": 96})
    with pytest.raises(RuntimeError, match="mobilenet_1_0_224_tf_no_top.h5"):
        models.backbone("mobilenet", odd_size)


def test_saved_models_reload_in_a_fresh_process_with_the_same_predictions(smoke_settings, tmp_path):
    members = [tiny_member(smoke_settings, n, p) for n, p in
               (("custom_cnn", None), ("vgg16", "vgg16"), ("mobilenet", "mobilenet"))]
    combiner = ensembles.weighted_average_combiner(8)
    ensemble = ensembles.ensemble_model(members, combiner, smoke_settings, name="weighted_average")
    features = ensembles.feature_ensemble_model(
        members, ensembles.feature_concatenation_combiner([4, 4, 4], 8), smoke_settings,
        name="feature_concatenation")
    images = np.random.default_rng(1).uniform(0, 255, (4, 48, 48, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    expected = {m.name: m.predict_on_batch(images) for m in [*members, ensemble, features]}
    for model in [*members, ensemble, features]:
        models.save_model(model, tmp_path / f"{model.name}.keras")
    code = f"""
import json, numpy as np, keras
import helpers  # registers the custom layers: nothing else is imported
images = np.load({str(tmp_path / 'images.npy')!r})
out = {{}}
for name in {list(expected)!r}:
    model = keras.models.load_model({str(tmp_path)!r} + f"/{{name}}.keras", safe_mode=True)
    out[name] = model.predict_on_batch(images).tolist()
print(json.dumps(out))
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    reloaded = json.loads(result.stdout.strip().splitlines()[-1])
    for name, probs in expected.items():
        np.testing.assert_allclose(reloaded[name], probs, atol=1e-6)


def test_no_partial_files_are_left_after_saving(tmp_path, smoke_settings):
    models.save_model(tiny_member(smoke_settings, "m"), tmp_path / "m.keras")
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def test_checkpoint_saves_only_improvements_atomically(smoke_settings):
    model = tiny_member(smoke_settings, "custom_cnn")
    checkpoint = callbacks.BestModelCheckpoint(models.model_path(smoke_settings, "custom_cnn"))
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"val_loss": 1.0})
    first = checkpoint.filepath.stat().st_mtime_ns
    checkpoint.on_epoch_end(1, {"val_loss": 2.0})
    assert checkpoint.filepath.stat().st_mtime_ns == first and checkpoint.best_epoch == 1
    checkpoint.on_epoch_end(2, {"val_loss": 0.5})
    assert checkpoint.best_epoch == 3
    assert not list(checkpoint.filepath.parent.glob("*.partial*"))


def test_standard_callbacks_write_under_the_run_folder(smoke_settings):
    found = callbacks.standard(smoke_settings, "custom_cnn")
    kinds = [type(c).__name__ for c in found]
    assert kinds == ["ReduceLROnPlateau", "EarlyStopping", "BestModelCheckpoint", "CSVLogger"]
    assert str(found[2].filepath).startswith(str(smoke_settings.run_dir))


class _FakeData:
    """The part of ``data.Data`` that ``save_predictions`` reads."""

    def __init__(self, root, n):
        self.split = type("S", (), {"root": root})()
        self.class_names = list(data.CLASS_NAMES)
        self._n = n

    def labels(self, split):
        return np.arange(self._n[split]) % 8

    def files(self, split):
        return [self.split.root / "cat" / f"{split}_{i}.jpg" for i in range(self._n[split])]


def test_prediction_cache_round_trip_and_settings_check(smoke_settings, tmp_path):
    fake = _FakeData(tmp_path, {"val": 5, "test": 3})
    probs = {"val": np.full((5, 8), 1 / 8), "test": np.full((3, 8), 1 / 8)}
    models.save_predictions(smoke_settings, "vgg16", probs, fake)
    cached = models.load_predictions(smoke_settings, "vgg16")
    assert cached["val_probs"].shape == (5, 8) and list(cached["test_labels"]) == [0, 1, 2]
    assert cached["test_files"][0] == "cat/test_0.jpg"
    other = type(smoke_settings)(**{**smoke_settings.__dict__, "seed": 1})
    other.path("predictions", "x").parent.mkdir(parents=True, exist_ok=True)
    (other.run_dir / "predictions" / "vgg16.npz").write_bytes(
        models.predictions_path(smoke_settings, "vgg16").read_bytes())
    with pytest.raises(ValueError, match="made with other settings"):
        models.load_predictions(other, "vgg16")


def test_mismatched_prediction_count_is_refused(smoke_settings, tmp_path):
    fake = _FakeData(tmp_path, {"val": 5, "test": 3})
    with pytest.raises(ValueError, match="4 predictions for 5 val images"):
        models.save_predictions(smoke_settings, "x", {"val": np.ones((4, 8))}, fake)


def test_missing_members_name_the_notebooks_to_run(smoke_settings):
    with pytest.raises(models.MissingArtifactError) as error:
        models.check_members(smoke_settings)
    message = str(error.value)
    assert all(nb in message for nb in ("02_custom_cnn", "03_vgg16", "04_mobilenet"))
    with pytest.raises(models.MissingArtifactError, match="Run 05_ensembles.ipynb"):
        ensembles.load_combiner(smoke_settings, "average")


def test_models_from_other_settings_or_another_split_are_refused(smoke_settings):
    import shutil

    smoke_settings.path("split.csv").write_text("path,label,split,bytes\ncat/1.jpg,cat,train,10\n")
    path = models.model_path(smoke_settings, "custom_cnn")
    models.save_model(tiny_member(smoke_settings, "custom_cnn"), path, smoke_settings)
    assert models.load_model(smoke_settings, "custom_cnn").name == "custom_cnn"

    # Copied into a run with another image size: refused, with the difference and the notebook.
    other = type(smoke_settings)(**{**smoke_settings.__dict__, "image_size": 96})
    target = models.model_path(other, "custom_cnn")
    for source in (path, path.with_suffix(".settings.json")):
        shutil.copy(source, target.parent / source.name)
    with pytest.raises(ValueError, match=r"image_size: 48 there, 96 now.*rerun 02_custom_cnn"):
        models.load_model(other, "custom_cnn")

    # The split was made again (another class list or other files): refused too.
    smoke_settings.path("split.csv").write_text("path,label,split,bytes\ndog/1.jpg,dog,train,10\n")
    with pytest.raises(ValueError, match="split_sha256"):
        models.load_model(smoke_settings, "custom_cnn")

    # No record at all: refused rather than trusted.
    path.with_suffix(".settings.json").unlink()
    with pytest.raises(ValueError, match="no record of the settings"):
        models.load_model(smoke_settings, "custom_cnn")
