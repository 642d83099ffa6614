"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network"): train one *student* model on the true labels and on the softened probabilities of
a *teacher*, here the ensemble chosen in notebook 05.

The loss of one image is

    alpha * CE(label, student) + (1 - alpha) * T^2 * KL(teacher_T || student_T)

where ``p_T = softmax(log(p) / T)`` softens a probability vector ``p`` at temperature ``T``.
Softening shows the student how the teacher ranks the *wrong* classes (a cat that looks a
little like a dog), which one-hot labels hide; the ``T^2`` keeps the gradients of the soft
part at the same scale whatever ``T`` is.

The targets are packed as ``[one-hot label | teacher probabilities]`` (``pack_targets``), so
the student trains with an ordinary ``fit`` on a ``tf.data`` pipeline and stays an ordinary
Keras model: the loss and the metric are registered, so a saved student loads in safe mode
after ``import helpers``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

_EPSILON = 1e-7


def soften(probs, temperature: float):
    """``softmax(log(probs) / temperature)`` (Keras ops, works on tensors and arrays)."""
    return ops.softmax(ops.log(ops.clip(probs, _EPSILON, 1.0)) / temperature, axis=-1)


def _split(y_true, y_pred):
    k = ops.shape(y_pred)[-1]
    return y_true[..., :k], y_true[..., k:]


@keras.saving.register_keras_serializable(package="helpers")
class DistillationLoss(keras.losses.Loss):
    """``alpha`` x cross-entropy with the true labels + (1 - ``alpha``) x T² x KL(teacher at
    T ‖ student at T). ``y_true`` is ``[one-hot label | teacher probabilities]``; ``y_pred``
    the student's probabilities (the student's logits up to a constant, so softening them is
    the same as dividing its logits by T)."""

    def __init__(self, alpha: float = 0.5, temperature: float = 4.0, name: str = "distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha} must be between 0 and 1 (the weight of the true labels).")
        if temperature <= 0:
            raise ValueError(f"temperature={temperature} must be positive.")
        self.alpha, self.temperature = float(alpha), float(temperature)

    def call(self, y_true, y_pred):
        onehot, teacher = _split(ops.cast(y_true, y_pred.dtype), y_pred)
        hard = -ops.sum(onehot * ops.log(ops.clip(y_pred, _EPSILON, 1.0)), axis=-1)
        teacher_t = soften(teacher, self.temperature)
        student_t = soften(y_pred, self.temperature)
        kl = ops.sum(teacher_t * (ops.log(ops.clip(teacher_t, _EPSILON, 1.0))
                                  - ops.log(ops.clip(student_t, _EPSILON, 1.0))), axis=-1)
        return self.alpha * hard + (1.0 - self.alpha) * self.temperature ** 2 * kl

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="helpers")
def label_accuracy(y_true, y_pred):
    """Accuracy against the one-hot label part of packed targets."""
    onehot, _ = _split(y_true, y_pred)
    return ops.cast(ops.argmax(onehot, axis=-1) == ops.argmax(y_pred, axis=-1), "float32")


def pack_targets(labels: np.ndarray, teacher_probs: np.ndarray) -> np.ndarray:
    """``[one-hot label | teacher probabilities]`` per image, in the images' order."""
    labels = np.asarray(labels)
    if len(labels) != len(teacher_probs):
        raise ValueError(f"{len(labels)} labels but {len(teacher_probs)} teacher predictions: the targets "
                         f"must be computed on the same images, in the same order.")
    onehot = np.eye(teacher_probs.shape[1], dtype="float32")[labels]
    return np.concatenate([onehot, np.asarray(teacher_probs, dtype="float32")], axis=1)


def mean_top_probability(probs: np.ndarray, temperature: float = 1.0) -> float:
    """The average probability of the most probable class after softening at ``temperature``:
    near 1, the targets say little more than the label does."""
    return float(np.mean(np.asarray(soften(probs, temperature)).max(axis=1)))


def conclusions(result: dict) -> list[str]:
    """Plain-language conclusions from ``results_distillation.json``'s numbers (nothing typed in):
    how much of the teacher's advantage over the member the student kept, and at what cost."""
    rows, diff = result["models"], result["student_vs_member"]
    student, member, teacher = rows["student"], rows["member"], rows["teacher"]
    from helpers.evaluation import verdict_on_difference

    lines = [f"Teacher **{result['teacher']}** (ensemble), member and student **{result['student_architecture']}**: "
             f"test accuracy {teacher['accuracy']:.3f}, {member['accuracy']:.3f} and {student['accuracy']:.3f}; "
             f"calibrated log-loss {teacher['nll_ts']:.3f}, {member['nll_ts']:.3f} and {student['nll_ts']:.3f}."]
    for key, what, lower in (("accuracy", "accuracy", False), ("nll", "calibrated log-loss", True)):
        sentence = verdict_on_difference(diff[f"{key}_diff"], diff[f"{key}_ci95"], what, lower_is_better=lower,
                                         subject="the student")
        lines.append(f"Student against member: {sentence[0].lower()}{sentence[1:]}")
    for metric, better_is_higher, label in (("accuracy", True, "accuracy"), ("nll_ts", False, "calibrated log-loss")):
        sign = 1 if better_is_higher else -1
        gap = sign * (teacher[metric] - member[metric])
        if gap > 0:
            kept = sign * (student[metric] - member[metric]) / gap
            lines.append(f"Of the teacher's advantage over the member in {label} ({gap:.3f}), the student kept "
                         f"{kept:.0%}" + (" (more than all of it)." if kept > 1 else "."))
        else:
            lines.append(f"The teacher had no advantage over the member in {label} on these test images, so "
                         f"there was none for the student to keep.")
    if teacher.get("latency_ms_batch32") and student.get("latency_ms_batch32"):
        lines.append(f"The student costs {student['latency_ms_batch32']:.2f} ms per image at batch 32, "
                     f"{teacher['latency_ms_batch32'] / student['latency_ms_batch32']:.1f}x less than the teacher, "
                     f"with {student['params']:,} parameters against {teacher['params']:,}.")
    return lines
