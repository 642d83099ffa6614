import numpy as np
import pytest

from helpers import corruptions


def natural_images(n=4, size=48, seed=0):
    """Random pictures with detail at several scales and mid-range values: like photos
    (whose pixels are correlated), unlike white noise or blocks aligned to a pixel grid."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    layers = [ndimage.gaussian_filter(rng.normal(size=(n, size, size, 3)), sigma=(0, s, s, 0)) for s in (1, 3, 8)]
    images = sum(layer / layer.std() for layer in layers)
    return np.clip(128 + 30 * images, 0, 255).round()


@pytest.mark.parametrize("name", corruptions.NAMES)
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_same_shape_and_dtype_and_whole_values(name, dtype):
    images = natural_images().astype(dtype)
    out = corruptions.corrupt(images, name, 3, seed=0)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.min() >= 0 and out.max() <= 255 and np.array_equal(out, np.round(out))


@pytest.mark.parametrize("name", corruptions.NAMES)
def test_deterministic_for_a_seed(name):
    images = natural_images()
    assert np.array_equal(corruptions.corrupt(images, name, 5, seed=7), corruptions.corrupt(images, name, 5, seed=7))


def test_noise_differs_between_seeds():
    images = natural_images()
    assert not np.array_equal(corruptions.corrupt(images, "gaussian_noise", 1, seed=1),
                              corruptions.corrupt(images, "gaussian_noise", 1, seed=2))


@pytest.mark.parametrize("name", corruptions.NAMES)
def test_larger_severity_changes_the_pixels_more(name):
    images = natural_images(size=96)
    change = [np.abs(corruptions.corrupt(images, name, s, seed=0) - images).mean() for s in (1, 3, 5)]
    assert 0 < change[0] < change[1] < change[2], change


def test_bad_arguments_are_clear_errors():
    images = natural_images()
    with pytest.raises(ValueError, match="Unknown corruption 'fog'"):
        corruptions.corrupt(images, "fog", 1)
    with pytest.raises(ValueError, match="from 1 to 5"):
        corruptions.corrupt(images, "contrast", 6)
    with pytest.raises(ValueError, match=r"\(n, height, width, 3\)"):
        corruptions.corrupt(images[0], "contrast", 1)


def test_smoke_preset_uses_fewer_corruptions():
    assert set(corruptions.names_for("smoke")) < set(corruptions.names_for("cpu")) == set(corruptions.NAMES)
    assert len(corruptions.NAMES) >= 5 and {"noise", "blur", "digital"} <= set(corruptions.FAMILIES.values())


def test_stratified_subset_keeps_classes_in_proportion():
    labels = np.repeat(np.arange(8), 22)
    index = corruptions.stratified_subset(labels, 96, seed=0)
    assert len(index) == 96 and np.all(np.bincount(labels[index]) == 12) and np.all(np.diff(index) > 0)
    assert np.array_equal(index, corruptions.stratified_subset(labels, 96, seed=0))
    assert np.array_equal(corruptions.stratified_subset(labels, None), np.arange(len(labels)))
