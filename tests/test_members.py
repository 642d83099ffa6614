"""``helpers.members`` builds exactly what notebooks 02-04 build: their own model-building cells
are run here and compared layer by layer, with and without ImageNet weights."""

import json

import keras
import pytest

from helpers import artifacts, callbacks, config, data, evaluation, members, models, plotting
from helpers.config import project_root
from tests.conftest import with_settings


NOTEBOOKS = {"custom_cnn": "02_custom_cnn", "vgg16": "03_vgg16", "mobilenet": "04_mobilenet"}


def build_cells(notebook: str) -> list[str]:
    """The notebook's code cells that prepare the backbone and build and compile the model."""
    cells = json.loads((project_root() / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return [s for s in sources if "get_strategy().scope()" in s or s.startswith("if settings.weights")]


@pytest.fixture(scope="module")
def smoke():
    settings = config.load()  # the tests' smoke preset (random weights, 48 px)
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
    namespace = {"settings": settings, "ds": ds, "keras": keras, "config": config, "data": data,
                 "models": models, "callbacks": callbacks, "evaluation": evaluation,
                 "plotting": plotting, "artifacts": artifacts}
    cells = build_cells(NOTEBOOKS[name])
    assert cells, f"no model-building cells found in {NOTEBOOKS[name]}"
    for source in cells:
        exec(source, namespace)
    from_notebook = members.architecture(namespace["model"])
    from_helpers = members.architecture(members.build(name, settings, len(ds.class_names), train_data=ds.train))
    assert from_notebook == from_helpers


def test_without_weights_mobilenet_learns_whole_and_vgg16_keeps_its_frozen_layers(smoke):
    settings, ds = smoke
    mobilenet, mobilenet_training = members.prepared_backbone("mobilenet", settings, ds.train)
    assert all(layer.trainable for layer in mobilenet.layers) and mobilenet_training is None
    assert {layer.momentum for layer in mobilenet.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    vgg, vgg_training = members.prepared_backbone("vgg16", settings)
    assert [layer.trainable for layer in vgg.layers[-4:]] == [False, True, True, True] and vgg_training is False
    # timed like ImageNet weights (the benchmarks): MobileNet frozen but for its last five layers
    timed, timed_training = members.prepared_backbone("mobilenet", settings, as_with_imagenet=True)
    assert sum(layer.trainable for layer in timed.layers) == 5 and timed_training is False


def test_train_whole_undoes_freezing_layer_by_layer(smoke):
    settings, _ = smoke
    backbone = models.freeze_all_but_last(models.backbone("vgg16", settings), 3)
    models.train_whole(backbone)
    assert all(layer.trainable for layer in backbone.layers)
