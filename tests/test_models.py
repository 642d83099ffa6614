import json

import keras
import numpy as np
import pytest

import helpers
from helpers import artifacts, callbacks, catalogue, models
from helpers.lesson import combiners, mobilenet, vgg16
from tests.builders import run_python, tiny_member, with_settings


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
    vgg16.freeze_all_but_last(base, 3)
    assert [layer.trainable for layer in base.layers[-4:]] == [False, True, True, True]
    assert not any(layer.trainable for layer in base.layers[:-3])


def test_estimated_batchnorm_statistics_bring_back_the_signal_of_a_random_mobilenet(smoke_settings):
    import tensorflow as tf

    base = vgg16.freeze_all_but_last(models.backbone("mobilenet", smoke_settings), 5)
    images = np.random.default_rng(0).uniform(0, 255, (16, 48, 48, 3)).astype("float32")
    pipeline = tf.data.Dataset.from_tensor_slices((images, np.zeros(16, "int32"))).batch(8)

    def outputs():
        return base(models.BackbonePreprocess("mobilenet")(images), training=False).numpy()

    assert np.abs(outputs()).max() < 1e-6  # mean 0 / variance 1 statistics: the signal vanishes
    assert mobilenet.estimate_batchnorm_statistics(base, "mobilenet", pipeline, max_images=16) == 27
    estimated = outputs()
    assert estimated.std(axis=0).mean() > 0.05  # images now differ from each other
    # the last five layers are unfrozen but for their BatchNormalization (freeze_all_but_last)
    assert [layer.trainable for layer in base.layers[-6:]] == [False, False, True, True, False, True]
    # Estimated in two batches of 8: the first layer's moving mean is the mean over all 16.
    first_conv = base.get_layer("conv1")(models.BackbonePreprocess("mobilenet")(images)).numpy()
    np.testing.assert_allclose(base.get_layer("conv1_bn").moving_mean.numpy(),
                               first_conv.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)
    assert base.get_layer("conv1_bn").momentum == 0.99  # restored


def test_imagenet_weights_offline_fail_fast_with_instructions(smoke_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(helpers, "can_reach", lambda host, timeout=5.0: False)
    settings = with_settings(smoke_settings, weights="imagenet", image_size=128)
    with pytest.raises(RuntimeError) as error:
        models.backbone("mobilenet", settings)
    message = str(error.value)
    assert "mobilenet_1_0_128_tf_no_top.h5" in message
    assert str(tmp_path / "keras" / "models") in message
    assert "ENSEMBLE_WEIGHTS=none" in message
    # Sizes without MobileNet weights of their own use the 224 px file, as Keras does.
    odd_size = with_settings(settings, image_size=96)
    with pytest.raises(RuntimeError, match="mobilenet_1_0_224_tf_no_top.h5"):
        models.backbone("mobilenet", odd_size)


def test_saved_models_reload_in_a_fresh_process_with_the_same_predictions(smoke_settings, tmp_path):
    """A fresh program loads every kind of saved model of the series in Keras' safe mode through
    ``artifacts.load_model``, the lesson's layers registered by importing their module."""
    members = [tiny_member(smoke_settings, n, p) for n, p in
               (("custom_cnn", None), ("vgg16", "vgg16"), ("mobilenet", "mobilenet"))]
    ensemble = combiners.ensemble_model(members, combiners.weighted_average_combiner([8] * 3, 8),
                                        smoke_settings, name="weighted_average")
    features = combiners.ensemble_model(members, combiners.concatenation_combiner([4] * 3, 8),
                                        smoke_settings, "feature_concatenation", features=True)
    images = np.random.default_rng(1).uniform(0, 255, (4, 48, 48, 3)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    expected = {m.name: m.predict_on_batch(images) for m in [*members, ensemble, features]}
    for model in [*members, ensemble, features]:
        artifacts.save_model(model, artifacts.model_path(smoke_settings, model.name),
                             smoke_settings)
    code = f"""
import json, numpy as np
from helpers import artifacts, config
from helpers.lesson import combiners  # noqa: F401  (registers WeightedAverage)
settings, images = config.load(), np.load({str(tmp_path / 'images.npy')!r})
out = {{name: artifacts.load_model(settings, name).predict_on_batch(images).tolist()
        for name in {list(expected)!r}}}
print(json.dumps(out))
"""
    result = run_python(code, env={"ENSEMBLE_PRESET": "smoke",
                                   "ENSEMBLE_ARTIFACTS_DIR": str(smoke_settings.artifacts_root)})
    assert result.returncode == 0, result.stderr
    reloaded = json.loads(result.stdout.strip().splitlines()[-1])
    for name, probs in expected.items():
        np.testing.assert_allclose(reloaded[name], probs, atol=1e-6)


def test_no_partial_files_are_left_after_saving(tmp_path, smoke_settings):
    artifacts.save_model(tiny_member(smoke_settings, "m"), tmp_path / "m.keras")
    artifacts.write_json(tmp_path / "r.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "r.json"]


def test_reading_a_path_creates_no_folder(smoke_settings):
    path = artifacts.model_path(smoke_settings, "custom_cnn")
    assert not path.parent.exists() and not smoke_settings.run_dir.exists()


def test_checkpoint_saves_only_improvements_atomically(smoke_settings):
    model = tiny_member(smoke_settings, "custom_cnn")
    checkpoint = callbacks.BestModelCheckpoint(artifacts.model_path(smoke_settings, "custom_cnn"))
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
        self.class_names = list(catalogue.CLASS_NAMES)
        self._n = n

    def labels(self, split):
        return np.arange(self._n[split]) % 8

    def files(self, split):
        return [self.split.root / "cat" / f"{split}_{i}.jpg" for i in range(self._n[split])]


def test_prediction_cache_round_trip_and_settings_check(smoke_settings, tmp_path):
    fake = _FakeData(tmp_path, {"val": 5, "test": 3})
    probs = {"val": np.full((5, 8), 1 / 8), "test": np.full((3, 8), 1 / 8)}
    artifacts.save_predictions(smoke_settings, "vgg16", probs, fake)
    cached = artifacts.load_predictions(smoke_settings, "vgg16")
    assert cached["val_probs"].shape == (5, 8) and list(cached["test_labels"]) == [0, 1, 2]
    assert cached["test_files"][0] == "cat/test_0.jpg"
    other = with_settings(smoke_settings, seed=1)
    copy = artifacts.predictions_path(other, "vgg16")
    copy.parent.mkdir(parents=True)
    copy.write_bytes(artifacts.predictions_path(smoke_settings, "vgg16").read_bytes())
    with pytest.raises(ValueError, match="made with other settings"):
        artifacts.load_predictions(other, "vgg16")


def test_mismatched_prediction_count_is_refused(smoke_settings, tmp_path):
    fake = _FakeData(tmp_path, {"val": 5, "test": 3})
    with pytest.raises(ValueError, match="4 predictions for 5 val images"):
        artifacts.save_predictions(smoke_settings, "x", {"val": np.ones((4, 8))}, fake)


def test_missing_members_name_the_notebooks_to_run(smoke_settings):
    with pytest.raises(artifacts.MissingArtifactError) as error:
        artifacts.check_members(smoke_settings)
    message = str(error.value)
    assert all(nb in message for nb in ("02_custom_cnn", "03_vgg16", "04_mobilenet"))
    with pytest.raises(artifacts.MissingArtifactError, match="Run 05_ensembles.ipynb"):
        artifacts.load_combiner(smoke_settings, "average")


def test_models_from_other_settings_or_another_split_are_refused(smoke_settings):
    import shutil

    artifacts.write_text(artifacts.split_path(smoke_settings),
                         "path,label,split,bytes\ncat/1.jpg,cat,train,10\n")
    path = artifacts.model_path(smoke_settings, "custom_cnn")
    artifacts.save_model(tiny_member(smoke_settings, "custom_cnn"), path, smoke_settings)
    assert artifacts.load_model(smoke_settings, "custom_cnn").name == "custom_cnn"

    # Copied into a run with another image size: refused, with the difference and the notebook.
    other = with_settings(smoke_settings, image_size=96)
    target = artifacts.model_path(other, "custom_cnn")
    target.parent.mkdir(parents=True)
    for source in (path, path.with_suffix(".settings.json")):
        shutil.copy(source, target.parent / source.name)
    with pytest.raises(ValueError, match=r"image_size: 48 there, 96 now.*rerun 02_custom_cnn"):
        artifacts.load_model(other, "custom_cnn")

    # The split was made again (another class list or other files): refused too.
    artifacts.split_path(smoke_settings).write_text("path,label,split,bytes\ndog/1.jpg,dog,train,10\n")
    with pytest.raises(ValueError, match="split_sha256"):
        artifacts.load_model(smoke_settings, "custom_cnn")

    # No record at all: refused rather than trusted.
    path.with_suffix(".settings.json").unlink()
    with pytest.raises(ValueError, match="no record of the settings"):
        artifacts.load_model(smoke_settings, "custom_cnn")


def test_a_frozen_backbones_batchnorm_keeps_its_statistics_during_fit(smoke_settings):
    """``training=False`` on a nested call is overridden by ``fit`` in Keras 3; frozen
    BatchNormalization layers (``freeze_all_but_last``) keep their statistics anyway."""
    images = np.random.default_rng(0).uniform(0, 255, (16, 48, 48, 3)).astype("float32")
    for freeze in (False, True):
        backbone = models.backbone("mobilenet", smoke_settings)
        if freeze:
            vgg16.freeze_all_but_last(backbone, 5)
        else:  # the pattern that does not work: unfrozen BatchNormalization, training=False
            backbone.trainable = True
        bottom, top = vgg16.split_at(backbone, 5)
        inputs = keras.Input(bottom.output.shape[1:])
        x = keras.layers.GlobalAveragePooling2D()(top(inputs, training=False))
        head = keras.Model(inputs, keras.layers.Dense(8, activation="softmax")(x))
        head.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        stored = vgg16.stored_features(vgg16.feature_extractor(bottom, "mobilenet",
                                                               smoke_settings), images)
        batchnorm = top.get_layer("conv_dw_13_bn")
        before = np.array(batchnorm.moving_mean)
        shifted = stored + np.random.default_rng(1).normal(3, 1, stored.shape).astype("float32")
        head.fit(shifted, np.zeros(16, "int32"), epochs=1, verbose=0)
        moved = not np.allclose(before, np.array(batchnorm.moving_mean))
        assert moved is not freeze


def test_a_saved_model_keeps_its_weights_but_not_its_optimizer(smoke_settings, tmp_path):
    """Later notebooks only predict: the file holds no optimizer state (Adam's would double it)
    and predicts as the trained model does."""
    import zipfile

    model = tiny_member(smoke_settings, "custom_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(0).uniform(0, 255, (8, *smoke_settings.image_shape))
    model.fit(images, np.zeros(8, "int32"), epochs=1, verbose=0)  # builds Adam's state
    path = artifacts.save_model(model, tmp_path / "custom_cnn.keras", smoke_settings)
    with zipfile.ZipFile(path) as saved:
        weights = saved.read("model.weights.h5")
    assert b"optimizer" not in weights
    reloaded = artifacts.load_checked(path, smoke_settings, "custom_cnn")
    np.testing.assert_allclose(reloaded.predict_on_batch(images), model.predict_on_batch(images),
                               atol=1e-6)
