"""``helpers.members`` builds exactly what notebooks 02-04 build: their own model-building cells
are run here and compared layer by layer, with and without ImageNet weights."""

import json
import os

import keras
import numpy as np
import pytest

from helpers import artifacts, callbacks, config, data, evaluation, members, models, plotting
from helpers.config import project_root
from helpers.lesson import features
from tests.conftest import with_settings


NOTEBOOKS = {"custom_cnn": "02_custom_cnn", "vgg16": "03_vgg16", "mobilenet": "04_mobilenet"}


def cells_by_id(notebook: str) -> dict[str, str]:
    cells = json.loads((project_root() / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    return {c["id"]: "".join(c["source"]) for c in cells if c["cell_type"] == "code"}


def fake_features(namespace):
    """What the notebooks' feature cells give the head cell: only the stored tensors' shape."""
    shape = namespace["bottom"].output.shape[1:]
    namespace["features"] = {"train": np.zeros((1, *shape), "float16")}


def notebook_member(name: str, settings, ds) -> tuple[keras.Model, keras.Model]:
    """The member built by its notebook's own cells (data-heavy cells replaced by their shapes),
    and the part of it that trains (itself, or its head on stored features)."""
    cells = cells_by_id(NOTEBOOKS[name])
    ns = {"settings": settings, "ds": ds, "keras": keras, "np": np, "config": config, "data": data,
          "models": models, "callbacks": callbacks, "evaluation": evaluation,
          "plotting": plotting, "artifacts": artifacts, "split_at": features.split_at,
          "feature_extractor": features.feature_extractor,
          "assemble_member": features.assemble_member}
    if name == "custom_cnn":
        exec(cells["c5c02a8c"], ns)
        return ns["model"], ns["model"]
    if name == "vgg16":
        for cell in ("80e3e1f8", "split-show"):
            exec(cells[cell], ns)
        fake_features(ns)
        exec(cells["6f254c72"], ns)
        member = features.assemble_member(ns["bottom"], ns["head"], "vgg16", settings, "vgg16")
        return member, ns["head"]
    exec(cells["8a870ed0"], ns)
    if ns["FROZEN"]:
        ns["bottom"], ns["top"] = features.split_at(ns["backbone"], ns["TRAINABLE_LAYERS"])
        fake_features(ns)
    exec(cells["calib-code"], ns)
    exec(cells["21e00e2e"], ns)
    if ns["FROZEN"]:
        return features.assemble_member(ns["bottom"], ns["model"], "mobilenet", settings,
                                        "mobilenet"), ns["model"]
    return ns["model"], ns["model"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    # the tests' smoke preset (random weights, 48 px), in a folder of its own: the notebooks may
    # be running in the shared one at the same time
    settings = config.load({**os.environ,
                            "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path_factory.mktemp("members"))})
    return settings, data.load_data(settings)


@pytest.mark.parametrize("weights", ["none", "imagenet"])
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_members_module_builds_what_the_notebook_builds(name, weights, smoke, monkeypatch):
    settings, ds = smoke
    settings = with_settings(settings, weights=weights)
    if weights == "imagenet":  # offline: random weights stand in, the freezing is what is compared
        random = with_settings(settings, weights="none")
        original = models.backbone
        monkeypatch.setattr(models, "backbone", lambda n, s: original(n, random))
    member, trained = notebook_member(name, settings, ds)
    built = members.build(name, settings, len(ds.class_names), train_data=ds.train)
    assert members.architecture(member) == members.architecture(built)
    if members.is_frozen(name, settings):
        _, head = members.frozen_parts(name, settings, len(ds.class_names))
        assert members.architecture(trained) == members.architecture(head)  # optimizer included
    else:
        assert trained is member


def test_frozen_members_are_one_chain_from_pixels_sharing_the_head(smoke):
    settings, _ = smoke
    assert members.is_frozen("vgg16", settings)
    assert not members.is_frozen("mobilenet", with_settings(settings, weights="none"))
    bottom, head = members.frozen_parts("vgg16", settings)
    assert head.optimizer is not None and not bottom.trainable_weights
    # the head's top: VGG16's last two convolutions (and the pooling, which has no weights)
    top = head.get_layer("vgg16_backbone_top")
    assert [layer.name for layer in top.layers[1:]] == ["block5_conv2", "block5_conv3", "block5_pool"]
    vgg = features.assemble_member(bottom, head, "vgg16", settings, "vgg16")
    assert vgg.input_shape == (None, *settings.image_shape)
    assert {id(w) for w in head.weights} <= {id(w) for w in vgg.weights}  # shared, not copied
    # one chain: the member's last layer is the head's, so its input is the penultimate features
    assert vgg.layers[-1] is head.layers[-1]


def test_a_member_assembled_from_its_parts_equals_its_head_on_the_stored_features(smoke):
    settings, ds = smoke
    bottom, head = members.frozen_parts("vgg16", settings)
    vgg = features.assemble_member(bottom, head, "vgg16", settings, "vgg16")
    extractor = features.feature_extractor(bottom, "vgg16", settings)
    images = ds.images("val")[:6]
    assert features.stored_features(extractor, images, "float16").dtype == np.float16
    stored = features.stored_features(extractor, images)
    np.testing.assert_allclose(evaluation.predict(vgg, images), head.predict(stored, verbose=0),
                               atol=1e-5)


def test_without_weights_mobilenet_learns_whole(smoke):
    settings, ds = smoke
    settings = with_settings(settings, weights="none")
    mobilenet = members.build("mobilenet", settings, train_data=ds.train)
    backbone = mobilenet.get_layer("mobilenet_backbone")
    assert all(layer.trainable for layer in backbone.layers)
    assert {layer.momentum for layer in backbone.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    _, head = members.frozen_parts("mobilenet", settings, as_with_imagenet=True)  # like ImageNet
    top = head.get_layer("mobilenet_backbone_top")
    # its last pointwise convolution learns; its BatchNormalization layers stay frozen
    assert [w.path.split("/")[0] for w in top.trainable_weights] == ["conv_pw_13"]


def test_train_whole_undoes_freezing_layer_by_layer(smoke):
    settings, _ = smoke
    backbone = models.freeze_all_but_last(models.backbone("vgg16", settings), 3)
    models.train_whole(backbone)
    assert all(layer.trainable for layer in backbone.layers)
