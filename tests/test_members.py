"""The members as notebooks 02-04 build them, with the code those notebooks export
(``helpers.lesson.custom_cnn``, ``vgg16`` and ``mobilenet``): the same code builds the students
of notebook 08 and the copies of notebook 09."""

import os

import keras
import numpy as np
import pytest

from helpers import config, data, evaluation, models
from helpers.lesson import mobilenet, vgg16
from helpers.lesson.custom_cnn import custom_cnn
from helpers.lesson.data_prep import stratified_split
from tests.builders import with_settings


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    # the tests' smoke preset (random weights, 48 px), in a folder of its own: the notebooks may
    # be running in the shared one at the same time
    settings = config.load({**os.environ,
                            "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path_factory.mktemp("members"))})
    return settings, data.load_data(settings, split_with=stratified_split)


def vgg16_parts(settings):
    backbone = vgg16.freeze_all_but_last(models.backbone("vgg16", settings),
                                         vgg16.VGG16_TRAINABLE)
    bottom, top = vgg16.split_at(backbone, vgg16.VGG16_TRAINABLE)
    return bottom, vgg16.vgg16_head(top, 8)


def test_the_custom_cnn_takes_raw_pixels_and_augments_inside(smoke):
    settings, _ = smoke
    model = custom_cnn(settings, 8)
    assert model.input_shape == (None, *settings.image_shape) and model.optimizer is not None
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[1:3] == ["Sequential", "Rescaling"]  # augmentation, then the scale, inside
    images = np.random.default_rng(0).uniform(0, 255, (2, *settings.image_shape)).astype("float32")
    np.testing.assert_allclose(model(images, training=False), model(images, training=False))


def test_frozen_members_are_one_chain_from_pixels_sharing_the_head(smoke):
    settings, _ = smoke
    bottom, head = vgg16_parts(settings)
    assert head.optimizer is not None and not bottom.trainable_weights
    # the head's top: VGG16's last two convolutions (and the pooling, which has no weights)
    top = head.get_layer("vgg16_backbone_top")
    assert [layer.name for layer in top.layers[1:]] == ["block5_conv2", "block5_conv3",
                                                         "block5_pool"]
    vgg = vgg16.assemble_member(bottom, head, "vgg16", settings, "vgg16")
    assert vgg.input_shape == (None, *settings.image_shape)
    assert {id(w) for w in head.weights} <= {id(w) for w in vgg.weights}  # shared, not copied
    # one chain: the member's last layer is the head's, so its input is the penultimate features
    assert vgg.layers[-1] is head.layers[-1]


def test_a_member_assembled_from_its_parts_equals_its_head_on_the_stored_features(smoke):
    settings, ds = smoke
    bottom, head = vgg16_parts(settings)
    vgg = vgg16.assemble_member(bottom, head, "vgg16", settings, "vgg16")
    extractor = vgg16.feature_extractor(bottom, "vgg16", settings)
    images = ds.images("val")[:6]
    assert vgg16.stored_features(extractor, images, "float16").dtype == np.float16
    stored = vgg16.stored_features(extractor, images)
    np.testing.assert_allclose(evaluation.predict(vgg, images), head.predict(stored, verbose=0),
                               atol=1e-5)


def test_mobilenet_is_frozen_with_imagenet_weights_and_learns_whole_without(smoke):
    settings, ds = smoke
    assert mobilenet.is_bottom_frozen(settings)  # the smoke preset's frozen random weights
    _, head = mobilenet.mobilenet_parts(settings, 8)
    top = head.get_layer("mobilenet_backbone_top")
    # its last pointwise convolution learns; its BatchNormalization layers stay frozen
    assert [w.path.split("/")[0] for w in top.trainable_weights] == ["conv_pw_13"]
    scratch = with_settings(settings, weights="none")
    assert not mobilenet.is_bottom_frozen(scratch)
    whole = mobilenet.mobilenet_from_scratch(scratch, 8, train_data=ds.train)
    backbone = whole.get_layer("mobilenet_backbone")
    assert all(layer.trainable for layer in backbone.layers)
    assert {layer.momentum for layer in backbone.layers
            if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    assert isinstance(whole.optimizer, keras.optimizers.Adam)


def test_train_whole_undoes_freezing_layer_by_layer(smoke):
    settings, _ = smoke
    backbone = vgg16.freeze_all_but_last(models.backbone("vgg16", settings), 3)
    mobilenet.train_whole(backbone)
    assert all(layer.trainable for layer in backbone.layers)
