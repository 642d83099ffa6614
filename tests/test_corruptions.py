"""Notebook 07's lesson code (``helpers.lesson.corruptions``): the corruptions, the scores on
every copy, and the comparison pooled over source images."""

import numpy as np
import pytest

from helpers import config, data
from helpers.lesson import corruptions
from helpers.lesson.judging import expected_calibration_error, verdict
from tests.builders import confident, random_probs


NAMES = tuple(corruptions.CORRUPTIONS)


def natural_images(n=4, size=48, seed=0):
    """Random pictures with detail at several scales and mid-range values: like photos
    (whose pixels are correlated), unlike white noise or blocks aligned to a pixel grid."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    layers = [ndimage.gaussian_filter(rng.normal(size=(n, size, size, 3)), sigma=(0, s, s, 0))
              for s in (1, 3, 8)]
    images = sum(layer / layer.std() for layer in layers)
    return np.clip(128 + 30 * images, 0, 255).round()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_same_shape_and_dtype_and_whole_values(name, dtype):
    images = natural_images().astype(dtype)
    out = corruptions.corrupt(images, name, 3, seed=0)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.min() >= 0 and out.max() <= 255 and np.array_equal(out, np.round(out))


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_seed(name):
    images = natural_images()
    assert np.array_equal(corruptions.corrupt(images, name, 5, seed=7),
                          corruptions.corrupt(images, name, 5, seed=7))


def test_noise_differs_between_seeds():
    images = natural_images()
    assert not np.array_equal(corruptions.corrupt(images, "gaussian_noise", 1, seed=1),
                              corruptions.corrupt(images, "gaussian_noise", 1, seed=2))


@pytest.mark.parametrize("name", NAMES)
def test_larger_severity_changes_the_pixels_more(name):
    images = natural_images(size=96)
    change = [np.abs(corruptions.corrupt(images, name, s, seed=0) - images).mean()
              for s in (1, 3, 5)]
    assert 0 < change[0] < change[1] < change[2], change


def test_bad_arguments_are_clear_errors():
    images = natural_images()
    with pytest.raises(ValueError, match="Unknown corruption 'fog'"):
        corruptions.corrupt(images, "fog", 1)
    with pytest.raises(ValueError, match="from 1 to 5"):
        corruptions.corrupt(images, "contrast", 6)
    with pytest.raises(ValueError, match=r"\(n, height, width, 3\)"):
        corruptions.corrupt(images[0], "contrast", 1)


def test_every_preset_applies_corruptions_that_notebook_07_writes():
    chosen = {p: config.load({"ENSEMBLE_PRESET": p}).corruptions for p in config.PRESET_NAMES}
    assert all(set(names) < set(NAMES) for names in (chosen["smoke"], chosen["cpu"]))
    assert chosen["gpu"] is None  # all of them
    assert len(NAMES) >= 5 and set(NAMES) == set(corruptions.PARAMETERS)


def test_stratified_subset_keeps_classes_in_proportion():
    labels = np.repeat(np.arange(8), 22)
    index = data.stratified_subset(labels, 96, seed=0)
    assert len(index) == 96 and np.all(np.bincount(labels[index]) == 12) and np.all(np.diff(index) > 0)
    assert np.array_equal(index, data.stratified_subset(labels, 96, seed=0))
    assert np.array_equal(data.stratified_subset(labels, None), np.arange(len(labels)))


def test_every_copy_is_made_and_scored_in_the_results_layout():
    labels = np.arange(40) % 8
    images = np.random.default_rng(0).uniform(0, 255, (40, 16, 16, 3))
    seen = []

    def run(batch):
        seen.append(batch)
        return {"m": random_probs(40, seed=len(seen)), "e": random_probs(40, seed=50 + len(seen))}

    corrupted = corruptions.probabilities_on_copies(run, images, ("gaussian_noise", "contrast"))
    assert sorted(corrupted) == [(c, s) for c in ("contrast", "gaussian_noise") for s in (1, 3, 5)]
    assert len(seen) == 6 and not any(np.array_equal(seen[0], other) for other in seen[1:])
    results = corruptions.score_every_copy(labels, run(images), corrupted, {"m": 1.0, "e": 2.0})
    assert results["corruptions"] == ["gaussian_noise", "contrast"]
    assert results["severities"] == [1, 3, 5]
    assert set(results["models"]["m"]["contrast"]) == {"1", "3", "5"}
    assert set(results["models"]["e"]["contrast"]["5"]) >= {"accuracy", "nll", "nll_ts", "ece"}


def test_the_pooled_comparison_resamples_source_images():
    labels = np.arange(40) % 8
    rng = np.random.default_rng(0)
    clean = {"m": confident(labels, rng.random(40) < 0.8), "e": confident(labels, rng.random(40) < 0.9)}
    corrupted = {(c, s): {"m": confident(labels, rng.random(40) < 0.8 - 0.02 * s),
                          "e": random_probs(40, seed=s)}
                 for c in ("noise", "blur") for s in (1, 3, 5)}
    temperatures = {"m": 1.0, "e": 1.0}
    comparison = corruptions.pooled_comparison(labels, clean, corrupted, "e", "m", temperatures)
    assert comparison["clean"]["copies"] == 1 and comparison["5"]["copies"] == 2
    assert comparison["5"]["images"] == 40  # source images, not image-copy pairs
    expected = np.mean([(corrupted[(c, 5)]["e"].argmax(1) == labels).mean()
                        - (corrupted[(c, 5)]["m"].argmax(1) == labels).mean()
                        for c in ("noise", "blur")])
    assert abs(comparison["5"]["accuracy_diff"] - expected) < 1e-9
    # Two copies that are the same images twice add no information: the interval over source
    # images is as wide as for one copy, where pairs treated as independent would shrink it.
    twice = {("a", 1): clean, ("b", 1): clean}
    doubled = corruptions.pooled_comparison(labels, clean, twice, "e", "m", temperatures)
    assert doubled["1"]["accuracy_ci95"] == doubled["clean"]["accuracy_ci95"]
    # the random "ensemble" falls behind under shift: its lead shrinks, with an interval
    growth = comparison["5"]
    assert verdict(growth["gap_growth"], growth["gap_growth_ci95"]) == "worse"


def test_calibration_change_resamples_source_images():
    labels = np.arange(40) % 8
    rng = np.random.default_rng(1)
    clean = {"m": confident(labels, rng.random(40) < 0.9, p=0.9)}
    # under shift the model stays 90% sure but is right half the time: over-confident
    corrupted = {(c, 5): {"m": confident(labels, rng.random(40) < 0.5, p=0.9)} for c in "ab"}
    change = corruptions.calibration_change(labels, clean, corrupted, 5, {"m": 1.0},
                                            n_resamples=200)
    assert change["ece_change"] > 0.2 and change["ece_change_ci95"][0] > 0
    assert verdict(change["ece_change"], change["ece_change_ci95"], lower_is_better=True) == "worse"


def test_calibration_change_compares_ece_on_equal_numbers_of_images():
    """Copies as well calibrated as the clean images show no change, although pooling their
    predictions into one large sample would show a spurious improvement (binned ECE is biased
    upwards on few images)."""
    labels = np.arange(64) % 8
    rng = np.random.default_rng(2)

    def calibrated_draw():  # says 70% and is right 70% of the time, in expectation
        return confident(labels, rng.random(64) < 0.7, p=0.7)

    clean = {"m": calibrated_draw()}
    corrupted = {(c, 5): {"m": calibrated_draw()} for c in "abcdef"}
    change = corruptions.calibration_change(labels, clean, corrupted, 5, {"m": 1.0},
                                            n_resamples=200)
    assert verdict(change["ece_change"], change["ece_change_ci95"]) == "cannot tell"
    per_copy = np.mean([expected_calibration_error(labels, c["m"]) for c in corrupted.values()])
    pooled = expected_calibration_error(np.tile(labels, 6),
                                        np.concatenate([c["m"] for c in corrupted.values()]))
    assert pooled < per_copy  # what the pooled comparison would have mistaken for a change
    assert abs(change["ece_change"] - (per_copy - expected_calibration_error(labels, clean["m"]))
               ) < 1e-9


def right_on(labels, first, k=8, p=0.9):
    """Probabilities right (with ``p``) on the first ``first`` images, wrong on the others."""
    return confident(labels, np.arange(len(labels)) < first, k=k, p=p)


def test_near_chance_is_accuracy_not_shown_above_always_answering_the_commonest_class():
    labels = np.arange(80) % 8  # eight classes, ten images each: chance is 1/8
    assert corruptions.near_chance(labels, right_on(labels, 10))  # right 1 time in 8
    assert corruptions.near_chance(labels, np.eye(8)[np.zeros(80, int)])  # always class 0
    assert corruptions.near_chance(labels, right_on(labels, 0))  # below chance counts too
    assert not corruptions.near_chance(labels, right_on(labels, 40))
    # the same accuracy, 0.3, cannot be told from chance on 20 images, but can on 400
    few, many = np.arange(20) % 8, np.arange(400) % 8
    assert corruptions.near_chance(few, right_on(few, 6))
    assert not corruptions.near_chance(many, right_on(many, 120))
    # chance is what always answering the commonest class scores, not 1/k: here one half
    skewed = np.where(np.arange(200) < 100, 0, np.arange(200) % 7 + 1)
    assert corruptions.near_chance(skewed, right_on(skewed, 110))  # 0.55: not above 0.5
    assert not corruptions.near_chance(skewed, right_on(skewed, 160))


def test_comparison_by_corruption_can_disagree_with_the_pooled_one():
    """Pooled over both corruptions the 'ensemble' e is better at severity 5, a large gain
    under blur outweighing a loss under noise; on noise alone it is worse."""
    labels = np.arange(80) % 8
    clean = {"e": right_on(labels, 70), "m": right_on(labels, 70)}
    corrupted = {("blur", 5): {"e": right_on(labels, 80), "m": right_on(labels, 20)},
                 ("noise", 5): {"e": right_on(labels, 40), "m": right_on(labels, 60)}}
    temperatures = {"e": 1.0, "m": 1.0}
    pooled = corruptions.pooled_comparison(labels, clean, corrupted, "e", "m", temperatures)
    assert verdict(pooled["5"]["accuracy_diff"], pooled["5"]["accuracy_ci95"]) == "better"
    by = corruptions.comparison_by_corruption(labels, clean, corrupted, "e", "m", temperatures)
    assert list(by) == ["blur", "noise"] and list(by["noise"]) == ["5"]
    blur, noise = by["blur"]["5"], by["noise"]["5"]
    assert set(noise) == {"accuracy_diff", "accuracy_ci95", "nll_ts_diff", "nll_ts_ci95",
                          "accuracy_verdict", "nll_ts_verdict", "near_chance", "accuracy"}
    assert blur["accuracy_verdict"] == "better" and noise["accuracy_verdict"] == "worse"
    assert abs(noise["accuracy_diff"] + 0.25) < 1e-9 and noise["accuracy"] == {"e": 0.5, "m": 0.75}
    assert blur["nll_ts_verdict"] == "better" and noise["nll_ts_verdict"] == "worse"
    assert blur["near_chance"] == [] and noise["near_chance"] == []
    # the same numbers as the pooled comparison run on that corruption's copies alone
    alone = corruptions.pooled_comparison(labels, clean, {("noise", 5): corrupted[("noise", 5)]},
                                          "e", "m", temperatures)
    assert noise["accuracy_ci95"] == alone["5"]["accuracy_ci95"]
    assert noise["nll_ts_diff"] == alone["5"]["nll_ts_diff"]


def test_comparison_by_corruption_names_models_near_chance():
    """Both models wrong on every image: the unsure one has the lower log-loss, a 'better'
    verdict that says nothing about robustness, and both are reported near chance."""
    labels = np.arange(80) % 8
    clean = {"e": right_on(labels, 70), "m": right_on(labels, 70)}
    corrupted = {("noise", 5): {"e": right_on(labels, 0, p=0.2), "m": right_on(labels, 0)},
                 ("noise", 1): {"e": right_on(labels, 60), "m": right_on(labels, 10)}}
    by = corruptions.comparison_by_corruption(labels, clean, corrupted, "e", "m",
                                              {"e": 1.0, "m": 1.0})
    assert list(by["noise"]) == ["1", "5"]  # in order of severity
    worst, mild = by["noise"]["5"], by["noise"]["1"]
    assert worst["nll_ts_verdict"] == "better" and worst["accuracy_verdict"] == "cannot tell"
    assert worst["near_chance"] == ["e", "m"]
    assert mild["near_chance"] == ["m"] and mild["accuracy_verdict"] == "better"
