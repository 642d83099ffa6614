"""Notebook 06's lesson code (``helpers.lesson.judging``): temperature scaling, the calibration
error, the paired bootstrap and McNemar's test."""

import numpy as np
import pytest

from helpers.lesson import combiners, judging
from helpers.lesson.combiners import log_loss
from tests.builders import random_probs


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def sample(n=2000, k=8, sharpness=1.0, seed=0):
    """Labels drawn from the model's own probabilities (a calibrated model), whose logits are
    then multiplied by ``sharpness`` (above 1: over-confident)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    labels = np.array([rng.choice(k, p=p) for p in softmax(logits)])
    return labels, softmax(logits * sharpness)


def test_a_calibrated_model_gets_a_temperature_near_one():
    labels, probs = sample(sharpness=1.0)
    assert abs(combiners.fit_temperature(labels, probs) - 1.0) < 0.1


def test_an_over_confident_model_is_softened_and_its_log_loss_falls():
    labels, probs = sample(sharpness=3.0)
    temperature = combiners.fit_temperature(labels, probs)
    assert 2.5 < temperature < 3.5  # undoes the sharpening
    scaled = combiners.apply_temperature(probs, temperature)
    assert log_loss(labels, scaled) < log_loss(labels, probs) - 0.1
    assert judging.expected_calibration_error(labels, scaled) < judging.expected_calibration_error(labels, probs)


def test_temperature_scaling_never_changes_the_predicted_class():
    labels, probs = sample(n=500, sharpness=2.0, seed=1)
    for temperature in (0.2, 0.7, 1.0, 3.0, 15.0):
        scaled = combiners.apply_temperature(probs, temperature)
        assert np.array_equal(scaled.argmax(1), probs.argmax(1))
        np.testing.assert_allclose(scaled.sum(1), 1.0, atol=1e-5)


def test_scores_add_the_calibrated_columns():
    labels, probs = sample(n=300, sharpness=2.0)
    row = judging.scores(labels, probs, temperature=2.0)
    assert row["temperature"] == 2.0 and row["nll_ts"] < row["nll"]
    scaled = judging.scores(labels, combiners.apply_temperature(probs, 2.0))
    assert row["accuracy"] == scaled["accuracy"] and row["nll_ts"] == pytest.approx(scaled["nll"])
    assert "nll_ts" not in judging.scores(labels, probs)


def test_brier_and_log_loss_by_hand():
    labels = np.array([0, 1])
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert judging.brier_score(labels, probs) == pytest.approx((0.5 + 0.125) / 2)
    row = judging.scores(labels, probs)
    assert row["nll"] == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)
    assert row["accuracy"] == 1.0  # a tie goes to the first class


def test_mismatched_labels_are_a_clear_error():
    with pytest.raises(ValueError, match="one label per prediction"):
        combiners.fit_temperature(np.zeros(3, int), np.full((4, 2), 0.5))


def test_compare_gives_every_difference_with_its_interval_by_hand():
    labels = np.array([0, 1, 0, 1])
    a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    b = np.full((4, 2), 0.5)
    result = judging.compare(labels, a, b, 1.0, 1.0)
    assert set(result) == {f"{k}_{part}" for k in ("accuracy", "nll", "nll_ts", "ece", "ece_ts")
                           for part in ("diff", "ci95")}
    expected = np.mean(-np.log([0.9, 0.8, 0.6, 0.5])) - np.log(2)
    assert result["nll_diff"] == pytest.approx(expected)
    assert result["nll_ts_diff"] == pytest.approx(expected)  # temperatures of 1 change nothing
    low, high = result["nll_ci95"]
    assert low <= expected <= high
    assert result["accuracy_diff"] == pytest.approx(0.75 - 0.5)  # ties go to class 0
    # the same models with temperatures of their own: only the calibrated keys change
    other = judging.compare(labels, a, b, 2.0, 1.0)
    assert other["accuracy_diff"] == result["accuracy_diff"] and other["nll_diff"] == expected
    assert other["nll_ts_diff"] != result["nll_ts_diff"]


@pytest.mark.parametrize("ci95,lower_is_better,said", [
    ((0.01, 0.05), False, "better"), ((-0.05, -0.01), False, "worse"),
    ((-0.01, 0.05), False, "cannot tell"), ((-0.05, -0.01), True, "better"),
    ((0.01, 0.05), True, "worse"), ((0.0, 0.05), True, "cannot tell")])
def test_the_verdict_rule_needs_an_interval_that_excludes_zero(ci95, lower_is_better, said):
    assert judging.verdict(0.02, ci95, lower_is_better) == said


def test_ece_is_zero_for_a_perfectly_calibrated_toy_case():
    # 10 predictions at confidence 0.8 of which 8 are right, 10 at 0.6 of which 6 are right
    labels = np.zeros(20, int)
    probs = np.zeros((20, 2))
    probs[:10] = [0.8, 0.2]
    probs[10:] = [0.6, 0.4]
    labels[[8, 9]] = 1
    labels[[16, 17, 18, 19]] = 1
    assert judging.expected_calibration_error(labels, probs) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_an_overconfident_model_by_hand():
    labels = np.array([0, 1, 0, 1])
    probs = np.tile([0.9, 0.1], (4, 1))  # always 90% sure of class 0, right half the time
    assert judging.expected_calibration_error(labels, probs) == pytest.approx(0.4)


def test_confidence_bins_hold_every_image_once():
    labels = np.array([0, 1, 0, 1, 1])
    probs = np.array([[0.95, 0.05], [0.55, 0.45], [0.7, 0.3], [0.3, 0.7], [0.5, 0.5]])
    rows = judging.confidence_bins(labels, probs, bins=10)
    assert rows[:, 2].sum() == pytest.approx(1.0) and len(rows) == 3  # 0.5 and 0.55 share a bin
    assert rows[-1].tolist() == pytest.approx([0.95, 1.0, 0.2])


def test_mcnemar_by_hand():
    labels = np.zeros(12, int)
    a = np.tile([1.0, 0.0], (12, 1))
    b = a.copy()
    b[:6] = [0.0, 1.0]  # B is wrong on 6 images that A gets right
    result = judging.mcnemar(labels, a, b)
    assert (result["only_a_right"], result["only_b_right"]) == (6, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5 ** 6)
    assert judging.mcnemar(labels, a, a)["p_value"] == 1.0


def test_paired_bootstrap_interval_contains_the_difference():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    a = np.eye(2)[np.where(rng.random(200) < 0.9, labels, 1 - labels)]
    b = np.eye(2)[np.where(rng.random(200) < 0.7, labels, 1 - labels)]
    right = [(p.argmax(1) == labels).astype(float) for p in (a, b)]
    diff, (low, high) = judging.paired_difference(*right)
    assert low < diff < high and low > 0
    same, interval = judging.paired_difference(np.ones(5), np.ones(5))
    assert same == 0.0 and interval == (0.0, 0.0)  # all differences equal: no spread


def test_compare_pairs_the_same_images():
    """A family against its own single model is paired image by image: the same predictions in
    the same order differ by exactly nothing, while the same predictions of other images would
    look different."""
    labels = np.arange(60) % 6
    probs = np.eye(6)[np.where(np.arange(60) % 3 == 0, (labels + 1) % 6, labels)] * 0.9 + 0.1 / 6
    same = judging.compare(labels, probs, probs.copy(), 1.0, 1.0)
    assert same["accuracy_diff"] == 0 and same["accuracy_ci95"] == [0.0, 0.0]
    shuffled = judging.compare(labels, probs, probs[::-1].copy(), 1.0, 1.0)
    assert shuffled["accuracy_ci95"][1] - shuffled["accuracy_ci95"][0] > 0.1


def test_the_ece_of_many_resamples_at_once_equals_each_resample_alone_and_the_bins_table():
    rng = np.random.default_rng(3)
    labels, probs = rng.integers(0, 8, 50), random_probs(50, seed=3)
    index = rng.integers(0, 50, (7, 50))
    together = judging.expected_calibration_error(labels, probs, index=index)
    alone = [judging.expected_calibration_error(labels[i], probs[i]) for i in index]
    np.testing.assert_allclose(together, alone, atol=1e-12)
    rows = judging.confidence_bins(labels, probs)  # share x |accuracy - confidence|, bin by bin
    assert judging.expected_calibration_error(labels, probs) == pytest.approx(
        np.sum(rows[:, 2] * np.abs(rows[:, 1] - rows[:, 0])), abs=1e-12)


def test_an_interval_within_rounding_of_zero_is_no_difference():
    assert judging.verdict(1.5e-7, (1e-7, 2e-7), lower_is_better=True) == "cannot tell"
    assert judging.verdict(0.01, (0.004, 0.02), lower_is_better=True) == "worse"
    assert judging.verdict(-2e-3, (-3e-3, -1e-3)) == "worse"
