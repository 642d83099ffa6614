"""Notebook 09's lesson code (``helpers.lesson.families``)."""

import keras
import numpy as np
import pytest

from helpers.lesson import families
from tests.builders import random_probs


def test_the_snapshot_schedule_restarts_at_each_cycle_and_saves_one_snapshot_per_cycle():
    schedule = families.cosine_restarts(1e-3, steps_per_cycle=4)
    rates = [float(schedule(step)) for step in range(12)]
    assert rates[0] == pytest.approx(1e-3) and rates[4] == pytest.approx(1e-3)
    assert rates[8] == pytest.approx(1e-3)  # back to the start every 4 steps
    assert rates[3] < rates[2] < rates[1] < rates[0]  # a cosine down within a cycle
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2
    snapshots = families.SnapshotCallback(epochs_per_cycle=2)
    model.fit(x, y, batch_size=4, epochs=6, callbacks=[snapshots], verbose=0)
    assert len(snapshots.snapshots) == 3  # epochs 2, 4 and 6 end a cycle
    assert not np.allclose(snapshots.snapshots[0][0], snapshots.snapshots[1][0])


def test_mc_dropout_keeps_batchnorm_in_inference_mode_and_samples_differ():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(16)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    batchnorm = model.layers[2]
    batchnorm.moving_mean.assign(np.full(16, 0.3, "float32"))
    before = [np.array(w) for w in batchnorm.weights]
    dropout_on = families.with_dropout_on(model)
    x = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
    first, second = families.mc_probabilities(dropout_on, x, 2)
    assert not np.allclose(first, second)  # other masks, other predictions
    for a, b in zip(before, batchnorm.weights):
        np.testing.assert_array_equal(a, np.array(b))  # the moving statistics never moved
    # one image predicted alone or within a batch: the same distribution (no batch statistics)
    alone = np.mean(families.mc_probabilities(dropout_on, np.repeat(x[:1], 400, 0), 1)[0], 0)
    crowd = np.mean([families.mc_probabilities(dropout_on, x, 1)[0][0] for _ in range(40)], 0)
    np.testing.assert_allclose(alone, crowd, atol=0.08)
    fixed, sampled = families.split_at_dropout(model)
    assert "BatchNormalization" in {type(layer).__name__ for layer in fixed.layers}
    assert {type(layer).__name__ for layer in sampled.layers} >= {"AlwaysDropout"}
    assert model.predict(x, verbose=0).shape == first.shape


def chain_with_dropout(rate: float) -> keras.Model:
    inputs = keras.Input((6,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(rate)(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    x = keras.layers.Dropout(rate)(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_the_part_before_the_first_dropout_runs_once_and_the_split_computes_the_model():
    x = np.random.default_rng(1).normal(size=(20, 6)).astype("float32")
    model = chain_with_dropout(0.0)  # no mask: every way of running it must agree
    fixed, sampled = families.split_at_dropout(model)
    assert [type(layer).__name__ for layer in fixed.layers[1:]] == ["Dense",
                                                                   "BatchNormalization"]
    direct = model.predict(x, verbose=0)
    once = fixed.predict(x, verbose=0)
    np.testing.assert_allclose(sampled.predict(once, verbose=0), direct, atol=1e-6)
    for sample in families.mc_probabilities(sampled, once, 2, batch_size=7):  # slices, in order
        np.testing.assert_allclose(sample, direct, atol=1e-6)
    np.testing.assert_allclose(families.mc_dropout_model(model, 3).predict(x, verbose=0), direct,
                               atol=1e-6)
    np.testing.assert_allclose(families.with_dropout_on(model).predict(x, verbose=0), direct,
                               atol=1e-6)


def test_the_deployable_mc_dropout_model_draws_other_masks_for_each_sample():
    x = np.random.default_rng(2).normal(size=(64, 6)).astype("float32")
    model = chain_with_dropout(0.5)
    fixed, sampled = families.split_at_dropout(model)
    one = families.mc_dropout_model(model, 1).predict(x, verbose=0)
    many = families.mc_dropout_model(model, 32).predict(x, verbose=0)
    sampled_mean = np.mean(families.mc_probabilities(sampled, fixed.predict(x, verbose=0), 32),
                           axis=0)
    # averaging more samples moves the answer towards the mean over masks
    assert np.abs(many - sampled_mean).mean() < np.abs(one - sampled_mean).mean()


def test_a_model_without_dropout_is_refused_by_name():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="plain")
    with pytest.raises(ValueError, match="'plain' has no Dropout"):
        families.split_at_dropout(model)


def comparison(diff: float, half_width: float) -> dict:
    return {"accuracy_diff": diff, "accuracy_ci95": [diff - half_width, diff + half_width]}


def test_a_recipe_pays_only_against_every_seed_whatever_their_order():
    paying = [comparison(0.05, 0.02), comparison(0.08, 0.03), comparison(0.03, 0.02)]
    mixed = [comparison(0.05, 0.02), comparison(0.01, 0.03), comparison(-0.06, 0.02)]
    unclear = [comparison(0.01, 0.03), comparison(-0.01, 0.03)]
    assert families.across_seeds(paying, "accuracy")["verdict"] == "better"
    assert families.across_seeds(unclear, "accuracy")["verdict"] == "cannot tell"
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):  # renumbering the copies changes nothing
        judged = families.across_seeds([mixed[i] for i in order], "accuracy")
        assert judged["verdict"] == "varies by copy"
        assert judged["range"] == pytest.approx([-0.06, 0.05])
    losing = [comparison(0.05, 0.02), comparison(0.04, 0.01)]
    assert families.across_seeds(losing, "accuracy", lower_is_better=True)["verdict"] == "worse"


def test_tta_views_keep_the_shape_and_the_image():
    images = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    views = [np.asarray(view(images)) for view in families.tta_views(32)]
    assert len(views) == 4 and all(v.shape == images.shape for v in views)
    np.testing.assert_allclose(views[0], images)
    np.testing.assert_allclose(views[1][:, :, ::-1], images)  # the mirror image
    np.testing.assert_allclose(views[3], views[2][:, :, ::-1], atol=1e-4)
    flat = np.full((1, 32, 32, 3), 100.0, "float32")
    for view in families.tta_views(32):
        np.testing.assert_allclose(np.asarray(view(flat)), flat, atol=1e-3)  # nothing invented
    member = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(4, activation="softmax")])
    tta = families.tta_model(member, 32)
    # a member that only sees the mean colour gives every view the same label
    np.testing.assert_allclose(tta.predict(flat, verbose=0), member.predict(flat, verbose=0),
                               atol=1e-6)


def test_the_ambiguity_decomposition_adds_up_exactly():
    labels = np.array([0, 1, 2, 1])
    members = [np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]]),
               np.array([[0.6, 0.3, 0.1], [0.1, 0.5, 0.4], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]])]
    d = families.ambiguity_decomposition(labels, members)
    average = np.mean(members, axis=0)
    by_hand = np.mean(np.sum((average - np.eye(3)[labels]) ** 2, axis=1))
    assert d["ensemble_brier"] == pytest.approx(by_hand)
    assert d["mean_member_brier"] - d["ambiguity"] == pytest.approx(d["ensemble_brier"], abs=1e-12)
    assert d["ambiguity"] > 0 and d["disagreement"] == pytest.approx(0.25)
    same = families.ambiguity_decomposition(labels, [members[0], members[0]])
    assert same["ambiguity"] == 0 and same["ensemble_brier"] == same["best_member_brier"]


def test_random_probabilities_make_a_valid_decomposition():
    labels = np.arange(20) % 8
    d = families.ambiguity_decomposition(labels, [random_probs(20, seed=s) for s in range(3)])
    assert d["ensemble_brier"] <= d["mean_member_brier"]
