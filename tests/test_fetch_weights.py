"""``python -m helpers.models fetch-weights``: both backbones' ImageNet weights into Keras' cache
ahead of the day; offline it fails at once, naming the files, their addresses and the folder."""

import time

import pytest

import helpers
from helpers import models


def test_offline_fetch_fails_fast_with_files_addresses_and_folder(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(helpers, "can_reach", lambda host, timeout=5.0: False)
    start = time.perf_counter()
    assert models.main(["fetch-weights", "--image-size", "128"]) == 2
    assert time.perf_counter() - start < 5
    message = capsys.readouterr().err
    for name, path in models.weight_files(128).items():
        assert path.name in message
        assert models.weights_url(name, path) in message
    assert "mobilenet_1_0_128_tf_no_top.h5" in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/" in message
    assert str(tmp_path / "keras" / "models") in message
    assert "Traceback" not in message
    assert not (tmp_path / "keras" / "models").exists()  # nothing half-downloaded


def test_cached_weights_are_not_fetched_again(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def no_network(host, timeout=5.0):
        raise AssertionError("the cache is complete: no connection needed")

    monkeypatch.setattr(helpers, "can_reach", no_network)
    files = models.weight_files(224)
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"cached")
    assert models.fetch_weights(224) == files


@pytest.mark.parametrize("size, file", [(128, "mobilenet_1_0_128_tf_no_top.h5"),
                                        (160, "mobilenet_1_0_160_tf_no_top.h5"),
                                        (48, "mobilenet_1_0_224_tf_no_top.h5")])
def test_the_files_and_addresses_are_the_ones_keras_uses(size, file):
    """Keras' own constants (keras/src/applications): a renamed file in a new Keras fails here."""
    from keras.src.applications import mobilenet, vgg16

    files = models.weight_files(size)
    assert models.weights_url("vgg16", files["vgg16"]) == vgg16.WEIGHTS_PATH_NO_TOP
    assert files["mobilenet"].name == file
    assert models.weights_url("mobilenet", files["mobilenet"]) == mobilenet.BASE_WEIGHT_PATH + file
