import numpy as np
import pytest

from helpers import calibration, evaluation


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
    assert abs(calibration.fit_temperature(labels, probs) - 1.0) < 0.1


def test_an_over_confident_model_is_softened_and_its_log_loss_falls():
    labels, probs = sample(sharpness=3.0)
    temperature = calibration.fit_temperature(labels, probs)
    assert 2.5 < temperature < 3.5  # undoes the sharpening
    scaled = calibration.apply_temperature(probs, temperature)
    assert evaluation.log_loss(labels, scaled) < evaluation.log_loss(labels, probs) - 0.1
    assert evaluation.expected_calibration_error(labels, scaled) < evaluation.expected_calibration_error(labels, probs)


def test_temperature_scaling_never_changes_the_predicted_class():
    labels, probs = sample(n=500, sharpness=2.0, seed=1)
    for temperature in (0.2, 0.7, 1.0, 3.0, 15.0):
        scaled = calibration.apply_temperature(probs, temperature)
        assert np.array_equal(scaled.argmax(1), probs.argmax(1))
        np.testing.assert_allclose(scaled.sum(1), 1.0, atol=1e-5)


def test_scores_add_the_calibrated_columns():
    labels, probs = sample(n=300, sharpness=2.0)
    row = evaluation.scores(labels, probs, temperature=2.0)
    assert row["temperature"] == 2.0 and row["nll_ts"] < row["nll"]
    assert row["accuracy"] == evaluation.scores(labels, calibration.apply_temperature(probs, 2.0))["accuracy"]
    assert "nll_ts" not in evaluation.scores(labels, probs)


def test_mismatched_labels_are_a_clear_error():
    with pytest.raises(ValueError, match="one label per prediction"):
        calibration.fit_temperature(np.zeros(3, int), np.full((4, 2), 0.5))


def test_paired_log_loss_difference_by_hand():
    labels = np.array([0, 1, 0, 1])
    a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    b = np.full((4, 2), 0.5)
    diff, (low, high) = evaluation.paired_nll_bootstrap(labels, a, b, n_resamples=500)
    expected = np.mean(-np.log([0.9, 0.8, 0.6, 0.5])) - np.log(2)
    assert diff == pytest.approx(expected) and low <= diff <= high
