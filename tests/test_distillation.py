"""Notebook 08's lesson code (``helpers.lesson.distillation``): the distillation loss and
the choice of the control the student meets."""

import keras
import numpy as np
import pytest

from helpers import catalogue
from helpers.lesson import distillation
from tests.builders import random_probs


def loss_of(alpha, temperature, labels, teacher, student):
    loss = distillation.DistillationLoss(alpha=alpha, temperature=temperature, reduction=None)
    return np.asarray(loss(distillation.pack_targets(labels, teacher), student))


def test_alpha_one_is_plain_cross_entropy():
    labels, teacher, student = np.array([0, 3, 7]), random_probs(3, seed=1), random_probs(3, seed=2)
    expected = -np.log(student[np.arange(3), labels])
    np.testing.assert_allclose(loss_of(1.0, 4.0, labels, teacher, student), expected, rtol=1e-5)


def test_equal_teacher_and_student_give_zero_kl():
    labels, probs = np.array([1, 2]), random_probs(2, seed=3)
    np.testing.assert_allclose(loss_of(0.0, 3.0, labels, probs, probs), 0.0, atol=1e-5)


def test_kl_part_by_hand_with_the_temperature_squared():
    labels, teacher, student = np.array([0, 5]), random_probs(2, seed=4), random_probs(2, seed=5)

    def soften(p, t):
        e = np.exp(np.log(p) / t)
        return e / e.sum(1, keepdims=True)

    for t in (1.0, 2.0, 5.0):
        pt, qt = soften(teacher, t), soften(student, t)
        kl = np.sum(pt * (np.log(pt) - np.log(qt)), axis=1)
        np.testing.assert_allclose(loss_of(0.0, t, labels, teacher, student), t * t * kl, rtol=1e-4)
    mixed = loss_of(0.3, 2.0, labels, teacher, student)
    np.testing.assert_allclose(mixed, 0.3 * loss_of(1.0, 2.0, labels, teacher, student)
                               + 0.7 * loss_of(0.0, 2.0, labels, teacher, student), rtol=1e-5)


def test_label_accuracy_reads_the_label_part():
    targets = distillation.pack_targets(np.array([2, 0]), random_probs(2, seed=6))
    predictions = np.eye(8, dtype="float32")[[2, 1]]
    np.testing.assert_array_equal(np.asarray(distillation.label_accuracy(targets, predictions)), [1.0, 0.0])


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="between 0 and 1"):
        distillation.DistillationLoss(alpha=1.5)
    with pytest.raises(ValueError, match="same images, in the same order"):
        distillation.pack_targets(np.array([0, 1, 2]), random_probs(2))


def test_a_tiny_teacher_probability_is_softened_exactly():
    """The floor problem: clipped at 1e-7, a probability of 1e-9 would be softened as if it were
    1e-7 (about 0.018 before normalising at T = 4). In log space it keeps its exact value."""
    teacher = np.array([[1 - 1e-5 - 1e-9, 1e-5, 1e-9]])
    exact = np.exp(np.log(teacher) / 4.0)
    exact /= exact.sum()
    softened = np.exp(np.asarray(distillation.softened_log_probs(teacher.astype("float32"), 4.0)))
    np.testing.assert_allclose(softened, exact, rtol=1e-5)
    clipped = np.exp(np.log(np.clip(teacher, 1e-7, 1)) / 4.0)
    assert softened[0, 2] < 0.4 * (clipped / clipped.sum())[0, 2]  # the floor would triple it


def test_the_loss_passes_a_tiny_teacher_probability_on():
    """The KL part with a teacher probability of 1e-9 equals the exact value computed in float64."""
    teacher = np.array([[1 - 1e-5 - 1e-9, 1e-5, 1e-9]])
    student = np.array([[0.9, 0.09, 0.01]])

    def soft(p):
        e = np.exp(np.log(p) / 4.0)
        return e / e.sum()

    pt, qt = soft(teacher), soft(student)
    expected = 16 * np.sum(pt * (np.log(pt) - np.log(qt)))
    loss = distillation.DistillationLoss(alpha=0.0, temperature=4.0, reduction=None)
    targets = np.concatenate([np.eye(3)[[0]], teacher], axis=1).astype("float32")
    np.testing.assert_allclose(np.asarray(loss(targets, student.astype("float32"))), [expected],
                               rtol=1e-4)


def test_softening_lowers_the_top_probability():
    probs = np.eye(8, dtype="float32")[[0, 1]] * 0.97 + 0.03 / 8
    top = distillation.mean_top_probability
    assert top(probs, 4.0) < top(probs, 1.0)
    assert distillation.mean_top_probability(probs, 1.0) == pytest.approx(0.97375, rel=1e-4)


def saved_student(tmp_path, alpha: float, temperature: float, n: int = 16):
    """A tiny student trained one epoch with the distillation loss and saved; returns it and its inputs."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="softmax")])
    model.compile(optimizer="sgd", loss=distillation.DistillationLoss(alpha, temperature),
                  metrics=[keras.metrics.MeanMetricWrapper(distillation.label_accuracy, name="accuracy")])
    x = np.random.default_rng(0).normal(size=(n, 4)).astype("float32")
    model.fit(x, distillation.pack_targets(np.arange(n) % 8, random_probs(n)), epochs=1, verbose=0)
    model.save(tmp_path / "student.keras")
    return model, x


def test_a_student_compiled_with_the_loss_saves_and_loads_in_safe_mode(tmp_path):
    model, x = saved_student(tmp_path, 0.4, 3.0)
    loaded = keras.models.load_model(tmp_path / "student.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
    assert loaded.loss.alpha == 0.4 and loaded.loss.temperature == 3.0


def test_the_saved_student_reloads_in_a_fresh_process_with_the_same_predictions(
        tmp_path, smoke_settings):
    """``artifacts.save_model`` keeps the student without its training state (loss, optimizer),
    so a fresh program loads it in safe mode without importing the lesson module, as notebook
    09 does, and predicts the same."""
    from helpers import artifacts
    from tests.builders import run_python

    model, x = saved_student(tmp_path, 0.5, 4.0, n=6)
    artifacts.save_model(model, artifacts.model_path(smoke_settings, "student"),
                         smoke_settings)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict_on_batch(x))
    result = run_python(f"""
import sys
import numpy as np
from helpers import artifacts, config
model = artifacts.load_model(config.load(), "student")
np.testing.assert_allclose(model.predict_on_batch(np.load({str(tmp_path / 'x.npy')!r})),
                           np.load({str(tmp_path / 'expected.npy')!r}), atol=1e-6)
print("same", "helpers.lesson.distillation" in sys.modules)
""", env={"ENSEMBLE_PRESET": "smoke",
          "ENSEMBLE_ARTIFACTS_DIR": str(smoke_settings.artifacts_root)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "same False" in result.stdout


def test_the_control_is_the_teachers_combiner_on_the_member_when_there_is_one():
    for teacher in catalogue.CONTROLLED:
        assert distillation.same_latency_control(teacher, "mobilenet", {}) == (
            catalogue.control_name(teacher, "mobilenet"))


def test_otherwise_the_members_control_with_the_lowest_validation_log_loss():
    """The lowest calibrated log-loss among the student's member's controls wins, whatever the
    raw log-loss or the other members' controls say."""
    scores = {catalogue.control_name(combiner, member): {"nll_ts": 1.0, "nll": 0.1}
              for combiner in catalogue.CONTROLLED for member in catalogue.MEMBER_NAMES}
    best = catalogue.control_name(catalogue.CONTROLLED[-1], "mobilenet")
    scores[best] = {"nll_ts": 0.5, "nll": 2.0}
    scores[catalogue.control_name(catalogue.CONTROLLED[0], "vgg16")] = {"nll_ts": 0.1, "nll": 0.1}
    assert "average" not in catalogue.CONTROLLED
    assert distillation.same_latency_control("average", "mobilenet", scores) == best


def test_a_missing_control_score_is_a_clear_error():
    with pytest.raises(ValueError, match="rerun notebook 05"):
        distillation.same_latency_control("average", "mobilenet", {})
