import numpy as np
import pytest

from helpers import evaluation, reports


def test_brier_and_log_loss_by_hand():
    labels = np.array([0, 1])
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert evaluation.brier_score(labels, probs) == pytest.approx((0.5 + 0.125) / 2)
    scores = evaluation.scores(labels, probs)
    assert scores["nll"] == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)
    assert scores["accuracy"] == 1.0  # argmax of [0.5, 0.5] is class 0


def test_diversity_measures():
    labels = np.array([0, 1, 2])
    a = np.eye(3)[[0, 0, 0]]
    b = np.eye(3)[[1, 1, 2]]
    assert evaluation.disagreement(a, b) == 1.0
    assert evaluation.oracle_accuracy(labels, [a, b]) == 1.0
    assert evaluation.oracle_accuracy(labels, [a]) == pytest.approx(1 / 3)


def test_closest_member_finds_an_ensemble_that_is_one_member():
    a, b = np.eye(3)[[0, 1, 2]], np.full((3, 3), 1 / 3)
    closest = evaluation.closest_member(0.999 * a + 0.001 * b, {"a": a, "b": b})
    assert closest["member"] == "a" and closest["mean_total_variation"] < 0.01


def test_best_by_log_loss_breaks_ties_by_accuracy():
    rows = {"a": {"accuracy": 0.8, "nll": 0.5}, "b": {"accuracy": 0.9, "nll": 0.5},
            "c": {"accuracy": 0.95, "nll": 0.6}}
    assert evaluation.best_by_log_loss(rows) == "b"
    with pytest.raises(ValueError, match="No models"):
        evaluation.best_by_log_loss({})


def _results(low, high, diff=0.01):
    return {"best_member": "vgg16", "best_ensemble": "average", "test_size": 100,
            "oracle_accuracy": 0.95,
            "ensemble_vs_best_member": {"accuracy_diff": diff, "ci95": [low, high],
                                        "mcnemar_p": 0.4},
            "models": {"vgg16": {"accuracy": 0.90, "latency_ms_batch32": 2.0},
                       "average": {"accuracy": 0.91, "latency_ms_batch32": 5.0}},
            "preset": "smoke",
            "settings": {"image_size": 64, "weights": "none", "seed": 1, "data_dir": "demo"}}


def test_conclusions_follow_the_numbers():
    unclear = " ".join(reports.conclusions(_results(-0.02, 0.04)))
    assert "cannot be told from zero" in unclear and "2.5x" in unclear
    better = " ".join(reports.conclusions(_results(0.01, 0.05, diff=0.03)))
    assert "**better** by 0.030" in better and "cannot be told" not in better
    worse = " ".join(reports.conclusions(_results(-0.05, -0.01, diff=-0.03)))
    assert "**worse**" in worse
    assert "cannot beat 0.950" in unclear and "did, by combining" not in unclear
    above = _results(-0.02, 0.04)
    above["oracle_accuracy"] = 0.905
    assert "average did, by combining" in " ".join(reports.conclusions(above))


def test_results_files_are_written(smoke_settings):
    json_path, md_path = reports.write_results(smoke_settings, _results(-0.02, 0.04))
    assert json_path.exists() and "| average | ensemble | 0.910" in md_path.read_text()
    assert not list(json_path.parent.glob("*.partial*"))


def test_conclusions_say_when_the_test_leaders_differ_from_the_validation_choice():
    chosen = _results(-0.02, 0.04)
    chosen["models"]["concatenation"] = {"accuracy": 0.93, "latency_ms_batch32": 5.0}
    chosen["test_leaders"] = {"member": "vgg16", "ensemble": "average"}
    text = " ".join(reports.conclusions(chosen))
    assert "Chosen on validation data by calibrated log-loss" in text
    assert "the ensemble **average** (0.910)" in text
    assert "lowest log-loss belonged to" not in text  # the choice agreed with the test split
    chosen["test_leaders"]["ensemble"] = "concatenation"
    text = " ".join(reports.conclusions(chosen))
    assert "and concatenation (ensemble)" in text and "keeps to the choice made on validation" in text


def _calibrated_results(**closest):
    row = {"accuracy": 0.8, "nll": 0.9, "nll_ts": 0.6, "temperature": 1.5, "latency_ms_batch32": 3.0}
    return {"best_member": "m", "best_ensemble": "e", "test_size": 100, "oracle_accuracy": 0.9,
            "models": {"m": row, "e": {**row, "nll": 0.5, "nll_ts": 0.45, "latency_ms_batch32": 9.0}},
            "ensemble_vs_best_member": {"accuracy_diff": 0.0, "ci95": [-0.05, 0.05],
                                        "mcnemar_p": 1.0, "nll_ts_diff": -0.15,
                                        "nll_ts_ci95": [-0.25, -0.05]},
            **({"closest_member": closest} if closest else {})}


def test_conclusions_speak_of_accuracy_and_calibrated_log_loss():
    text = "\n".join(reports.conclusions(_calibrated_results()))
    assert "In accuracy the difference, +0.000, cannot be told from zero" in text
    assert "log-loss after temperature scaling the ensemble is **better** by 0.150" in text
    assert ("0.400 before and 0.150 after temperature scaling: most of it was the member's "
            "over-confidence") in text
    assert "3.0x the latency" in text


def test_an_ensemble_that_is_one_member_is_called_so():
    text = "\n".join(reports.conclusions(_calibrated_results(member="m", mean_total_variation=0.002)))
    assert "it is that member at the cost of all three" in text
    assert "over-confidence" not in text  # no story about a gain that is not there


def test_smoke_runs_say_their_numbers_test_the_code(smoke_settings):
    assert "test the code, not the method" in " ".join(reports.caveats(smoke_settings))
