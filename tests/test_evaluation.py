"""What the notebooks measure beside the lesson (``helpers.evaluation``) and the tables of
``helpers.reports``."""

import keras
import numpy as np
import pytest

from helpers import evaluation, reports
from helpers.lesson import judging
from tests.builders import random_probs


def test_diversity_measures():
    labels = np.array([0, 1, 2])
    a, b = np.eye(3)[[0, 1, 1]], np.eye(3)[[1, 0, 2]]
    assert judging.disagreement(a, b) == 1.0
    assert judging.oracle_accuracy(labels, [a, b]) == 1.0
    assert judging.oracle_accuracy(labels, [a]) == pytest.approx(2 / 3)


def test_closest_member_finds_an_ensemble_that_is_one_member():
    a, b = random_probs(20, seed=1), random_probs(20, seed=2)
    closest = judging.closest_member(0.999 * a + 0.001 * b, {"a": a, "b": b})
    assert closest["member"] == "a" and closest["mean_total_variation"] < 0.01


def test_best_by_log_loss_breaks_ties_by_accuracy():
    rows = {"a": {"nll": 0.5, "accuracy": 0.8}, "b": {"nll": 0.5, "accuracy": 0.9},
            "c": {"nll": 0.7, "accuracy": 0.99}}
    assert evaluation.best_by_log_loss(rows) == "b"
    with pytest.raises(ValueError, match="No models"):
        evaluation.best_by_log_loss({})


def test_costs_count_parameters_weights_and_time_both_batch_sizes(smoke_settings):
    model = keras.Sequential([keras.Input((48, 48, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(8)], name="not_saved")
    row = evaluation.costs_of({"m": model}, smoke_settings)["m"]
    assert row["params"] == 48 * 48 * 3 * 8 + 8
    assert row["weights_mb"] == pytest.approx(row["params"] * 4 / 1e6)  # float32, no optimizer
    assert row["latency_calls"] >= evaluation.MIN_LATENCY_CALLS > 1  # enough to see a spread
    for batch in (1, 32):
        fastest, slowest = row[f"latency_ms_batch{batch}_range"]
        assert 0 < fastest <= row[f"latency_ms_batch{batch}"] <= slowest


def test_shared_weights_are_shipped_once():
    dense = keras.layers.Dense(4)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, dense(dense(inputs)))
    assert evaluation.weights_mb(model) == pytest.approx((4 * 4 + 4) * 4 / 1e6)


def test_a_latency_ratio_inside_the_timings_spread_is_no_verdict():
    fast = {"latency_ms_batch32": 1.0, "latency_ms_batch32_range": [0.9, 1.1]}
    noisy = {"latency_ms_batch32": 1.2, "latency_ms_batch32_range": [1.05, 1.5]}
    slow = {"latency_ms_batch32": 3.0, "latency_ms_batch32_range": [2.8, 3.3]}
    ratio, spread = evaluation.latency_ratio(slow, fast)
    assert ratio == pytest.approx(3.0) and spread == pytest.approx((2.8 / 1.1, 3.3 / 0.9))
    assert evaluation.cost_verdict(spread) == "costs"
    assert evaluation.cost_verdict(evaluation.latency_ratio(fast, slow)[1]) == "pays"
    assert evaluation.cost_verdict(evaluation.latency_ratio(noisy, fast)[1]) == "cannot tell"
    tight = {"latency_ms_batch32": 1.08, "latency_ms_batch32_range": [1.07, 1.09]}
    exact = {"latency_ms_batch32": 1.0, "latency_ms_batch32_range": [1.0, 1.0]}
    # a gap of a few percent, however tight the calls: within the tie, no verdict
    assert evaluation.cost_verdict(evaluation.latency_ratio(tight, exact)[1]) == "cannot tell"


def test_interleaved_timings_time_every_model_as_often():
    models = {name: keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten()], name=name)
              for name in ("a", "b")}
    timings = evaluation.timed_calls(models, 8, 2, calls=4)
    assert {name: len(t) for name, t in timings.items()} == {"a": 4, "b": 4}
    assert all((t > 0).all() for t in timings.values())


def test_the_leaderboard_lists_every_model_best_accuracy_first():
    rows = {"custom_cnn": {"accuracy": 0.7, "nll": 0.9}, "average": {"accuracy": 0.8, "nll": 0.6},
            "vgg16": {"accuracy": 0.6}}
    table = reports.leaderboard_markdown(rows).splitlines()
    assert table[0] == "| model | kind | accuracy | log-loss |"
    assert [line.split(" | ")[0] for line in table[2:]] == ["| average", "| custom_cnn", "| vgg16"]
    assert table[2].endswith("| ensemble | 0.800 | 0.600 |")
    assert table[4].endswith("| member | 0.600 | n/a |")


def test_the_leaderboard_shows_each_time_with_its_range():
    rows = {"vgg16": {"accuracy": 0.6, "weights_mb": 58.9, "latency_ms_batch32": 23.35,
                      "latency_ms_batch32_range": [22.9, 24.1]}}
    table = reports.leaderboard_markdown(rows).splitlines()
    assert table[0] == "| model | kind | accuracy | weights MB | ms/image, batch 32 (range) |"
    assert table[2].endswith("| 0.600 | 58.9 | 23.35 (22.90-24.10) |")


def test_results_files_are_written(smoke_settings):
    results = {"preset": "smoke", "test_size": 3, "settings": {"seed": 1},
               "models": {"vgg16": {"accuracy": 0.5}}}
    json_path, md_path = reports.write_results(smoke_settings, results, "| a | b |")
    assert json_path.name == "results.json" and "| vgg16 | member | 0.500 |" in md_path.read_text()
    assert md_path.read_text().rstrip().endswith("| a | b |")


def test_the_summary_table_shows_every_verdict_and_ratio():
    cell = {"verdict": "pays", "diff": -0.05, "ci95": [-0.08, -0.02]}
    summary = {"rows": ["calibrated log-loss", "latency x"], "columns": ["deep", "tta"],
               "best_member": "m", "own_single": {"deep": "copy 1", "tta": "m"},
               "cells": {c: {"calibrated log-loss": cell,
                             "latency x": {"verdict": "costs", "diff": 3.04, "ci95": [3, 3]}}
                         for c in ("deep", "tta")}}
    table = reports.summary_markdown(summary)
    assert "| calibrated log-loss | pays (-0.050) | pays (-0.050) |" in table
    assert "| latency x | costs (3.04x) | costs (3.04x) |" in table
    summary["cells_vs_own"] = summary["cells"]
    assert "deep: copy 1; tta: m" in reports.summary_markdown(summary, "cells_vs_own")


def test_summary_cells_judge_every_seed_and_show_the_range():
    from helpers.lesson.families import across_seeds

    def row(diff):
        return {"nll_ts_diff": diff, "nll_ts_ci95": [diff - 0.01, diff + 0.01],
                "shift": {"5": {"accuracy_diff": 0.0, "accuracy_ci95": [-0.1, 0.1]}}}

    cost = {"latency_ms_batch32": 3.0, "latency_ms_batch32_range": [2.9, 3.1], "params": 30,
            "train_seconds": 30.0}
    one = {"latency_ms_batch32": 1.0, "latency_ms_batch32_range": [0.9, 1.1], "params": 10,
           "train_seconds": 10.0}
    quality, shifted = {"calibrated log-loss": ("nll_ts", True)}, {
        "accuracy, severity 5": ("5", "accuracy", False)}
    paying = reports.summary_cells([row(-0.05), row(-0.02)], cost, one, across_seeds, quality,
                                   shifted)
    mixed = reports.summary_cells([row(-0.05), row(0.03)], cost, one, across_seeds, quality,
                                  shifted)
    assert paying["calibrated log-loss"]["verdict"] == "pays"
    assert mixed["calibrated log-loss"]["verdict"] == "varies by copy"
    assert reports.cell_text(mixed["calibrated log-loss"]) == (
        "varies by copy (-0.050 to +0.030)")
    assert paying["accuracy, severity 5"]["verdict"] == "cannot tell"
    assert paying["latency x"]["verdict"] == "costs" and paying["parameters x"]["diff"] == 3.0
    summary = {"columns": ["deep", "student (vs control)"],
               "own_single": {"deep": reports.references(["copy 1", "copy 2"]),
                              "student (vs control)": "c[m]"},
               "cells_vs_own": {"deep": paying, "student (vs control)": mixed}}
    table = reports.answer_table(summary, {"calibrated log-loss": "calibrated log-loss",
                                           "latency x": "latency"}).splitlines()
    assert table[2] == "| deep | each of the 2 copies | pays (-0.050 to -0.020) | costs (3.00x) |"
    assert table[3].startswith("| student | c[m] | varies by copy")


def test_cost_models_compute_what_the_families_compute():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (12, 8, 8, 3)).astype("float32")
    parts = [keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                               keras.layers.Dense(4, activation="softmax")]) for _ in range(2)]
    averaged = evaluation.averaging_model([parts[0], parts[1], parts[1]], (8, 8, 3), "avg")
    expected = np.mean([p.predict(images, verbose=0) for p in (parts[0], parts[1], parts[1])], 0)
    np.testing.assert_allclose(averaged.predict(images, verbose=0), expected, atol=1e-6)
    assert averaged.count_params() == sum(p.count_params() for p in parts)  # a shared part once
    outputs = np.concatenate([p.predict(images, verbose=0) for p in parts], axis=1)
    logistic = LogisticRegression(max_iter=500).fit(outputs, np.arange(12) % 4)
    stacked = evaluation.logistic_model(parts, logistic, (8, 8, 3), "stack")
    np.testing.assert_allclose(stacked.predict(images, verbose=0),
                               logistic.predict_proba(outputs), atol=1e-5)
