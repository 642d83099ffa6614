"""Notebook 05's lesson code (``helpers.lesson.combiners``, exported from the notebook's cells)
and the ensemble plumbing around it (``helpers.ensembles``)."""

import keras
import numpy as np
import pytest
from keras import ops

from helpers import artifacts, ensembles, evaluation
from helpers.lesson import combiners
from tests.builders import random_probs, tiny_member


def test_log_loss_by_hand_and_against_scikit_learn():
    from sklearn.metrics import log_loss

    labels = np.array([0, 1, 2, 1])
    probs = random_probs(4, k=3, seed=1).astype("float64")
    np.testing.assert_allclose(combiners.per_image_nll(labels, probs),
                               -np.log(probs[np.arange(4), labels]))
    assert combiners.log_loss(labels, probs) == pytest.approx(log_loss(labels, probs))


def test_equal_logits_give_the_plain_average():
    outputs = [random_probs(10, seed=s) for s in range(3)]
    weighted = combiners.weighted_average_combiner([8] * 3, 8, initial_logits=(0.5, 0.5, 0.5))
    average = combiners.average_combiner([8] * 3, 8)
    np.testing.assert_allclose(weighted.predict(outputs, verbose=0), np.mean(outputs, axis=0), atol=1e-6)
    np.testing.assert_allclose(average.predict(outputs, verbose=0), np.mean(outputs, axis=0), atol=1e-6)


def test_weighted_sum_stays_a_probability_distribution():
    outputs = [random_probs(20, seed=s) for s in range(3)]
    combined = combiners.weighted_average_combiner([8] * 3, 8, initial_logits=(1, 2, 3)).predict(outputs, verbose=0)
    np.testing.assert_allclose(combined.sum(1), 1.0, atol=1e-6)
    assert combined.min() >= 0


def test_weights_are_the_softmax_of_the_logits_and_the_sum_is_weighted():
    layer = combiners.WeightedAverage((1.0, 2.0, 3.0))
    outputs = [random_probs(4, seed=s) for s in range(3)]
    result = layer(outputs).numpy()
    w = np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()
    np.testing.assert_allclose(layer.member_weights(), w, rtol=1e-6)
    np.testing.assert_allclose(result, sum(wi * o for wi, o in zip(w, outputs)), atol=1e-6)
    # the original's mean of weighted inputs would sum to 1/3 instead of 1
    np.testing.assert_allclose((result / 3).sum(1), 1 / 3, atol=1e-6)


def test_wrong_number_of_inputs_is_a_clear_error():
    with pytest.raises(ValueError, match="got 2 inputs but 3 initial logits"):
        combiners.WeightedAverage((1, 2, 3))([random_probs(2), random_probs(2)])


def test_learning_moves_weight_to_the_accurate_member():
    labels = np.random.default_rng(0).integers(0, 8, 400)
    good = np.eye(8)[labels] * 0.9 + 0.1 / 8
    noise = [random_probs(400, seed=s) for s in (1, 2)]
    outputs = [noise[0], good.astype("float32"), noise[1]]
    combiner = combiners.weighted_average_combiner([8] * 3, 8, initial_logits=(0, 0, 0))
    combiners.fit_combiner(combiner, outputs, labels, seed=0)
    weights = combiner.get_layer("weighted_average").member_weights()
    assert weights.argmax() == 1 and weights[1] > 0.6
    scipy_weights = combiners.fit_simplex_weights(outputs, labels)
    assert scipy_weights[1] > 0.9 and abs(scipy_weights.sum() - 1) < 1e-9 and scipy_weights.min() >= 0


def test_holdout_is_stratified():
    labels = np.repeat(np.arange(8), 6)
    mask = combiners.stratified_holdout(labels, fraction=0.25, seed=0)
    assert all(mask[labels == c].sum() == 2 for c in range(8))


def test_combiner_on_cached_outputs_equals_the_end_to_end_ensemble(smoke_settings):
    members = [tiny_member(smoke_settings, n) for n in ("a", "b", "c")]
    images = np.random.default_rng(0).uniform(0, 255, (6, 48, 48, 3)).astype("float32")
    cached = [m.predict_on_batch(images) for m in members]
    for combiner in (combiners.concatenation_combiner([8] * 3, 8), combiners.average_dense_combiner([8] * 3, 8),
                     combiners.weighted_average_combiner([8] * 3, 8)):
        ensemble = combiners.ensemble_model(members, combiner, smoke_settings, name="e")
        np.testing.assert_allclose(ensemble.predict_on_batch(images),
                                   combiner.predict_on_batch(cached), atol=1e-6)
        assert all(not m.trainable for m in members)
        assert len(ensemble.trainable_weights) == len(combiner.trainable_weights)


def test_feature_ensemble_equals_its_head_on_the_members_features(smoke_settings):
    members = [tiny_member(smoke_settings, n) for n in ("a", "b", "c")]
    images = np.random.default_rng(0).uniform(0, 255, (5, 48, 48, 3)).astype("float32")
    features = [evaluation.predict_with_features(m, images)[1] for m in members]
    assert [f.shape for f in features] == [(5, 4)] * 3  # the tiny members' pooled features
    head = combiners.concatenation_combiner([4, 4, 4], 8)
    combiners.fit_combiner(head, [np.tile(f, (4, 1)) for f in features], np.arange(20) % 8,
                           max_epochs=2)
    ensemble = combiners.ensemble_model(members, head, smoke_settings, "f", features=True)
    np.testing.assert_allclose(ensemble.predict_on_batch(images), head.predict_on_batch(features),
                               atol=1e-6)
    assert len(ensemble.trainable_weights) == 2  # only the new Dense layer's kernel and bias
    assert head.count_params() == 3 * 4 * 8 + 8


def test_controls_are_fitted_like_their_combiner_on_the_same_folds(monkeypatch):
    """Every fit of ``fit_with_controls`` gets the same folds, labels and fitter settings; the
    ensemble takes all members' outputs, each control one member's."""
    labels = np.repeat(np.arange(8), 6)
    folds = combiners.stratified_folds(labels, 3, seed=0)
    outputs = [random_probs(48, seed=s) for s in range(3)]
    calls, fitters = [], []
    monkeypatch.setattr(combiners, "keras_fitter",
                        lambda build, **fitting: fitters.append(fitting) or build)
    monkeypatch.setattr(combiners, "cross_fit", lambda fit, inputs, y, f: calls.append(
        (fit(), [x.shape[1] for x in inputs], y, f)) or "fitted")
    fits = combiners.fit_with_controls(
        lambda sizes: sizes, outputs, labels, folds, ("a", "b", "c"), "concatenation",
        seed=3, learning_rate=1e-3, max_epochs=7)
    assert list(fits) == ["concatenation", "concatenation[a]", "concatenation[b]",
                          "concatenation[c]"]
    assert [sizes for sizes, *_ in calls] == [[8, 8, 8], [8], [8], [8]]  # built for its inputs
    assert all(y is labels and f is folds for _, _, y, f in calls)
    assert fitters == [{"seed": 3, "learning_rate": 1e-3, "max_epochs": 7}] * 4


def test_members_made_from_different_splits_are_refused():
    a = {"val_probs": random_probs(2), "val_labels": np.array([0, 1]), "class_names": np.array(["x", "y"]),
         "val_files": np.array(["x/1.jpg", "y/2.jpg"])}
    b = {**a, "val_files": np.array(["y/2.jpg", "x/1.jpg"])}
    outputs, labels = ensembles.member_outputs({"a": a, "a2": a}, "val")
    assert len(outputs) == 2 and list(labels) == [0, 1]
    with pytest.raises(ValueError, match="different splits"):
        ensembles.member_outputs({"a": a, "b": b}, "val")


def test_nothing_to_fit_for_the_average():
    assert combiners.fit_combiner(combiners.average_combiner([8] * 3, 8), [random_probs(4)] * 3,
                                  np.zeros(4, int)) is None


def test_epoch_timer_returns_seconds():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert ensembles.epoch_seconds(model, np.zeros((8, 3)), np.zeros(8, int)) > 0


def test_holdout_early_stopping_stops_and_restores_the_best_epoch():
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    # Training pushes towards class 0 while the holdout is all class 1: it only gets worse.
    stop = combiners.HoldoutEarlyStopping(x, np.ones(32, "int32"), patience=3)
    history = model.fit(x, np.zeros(32, "int32"), epochs=50, callbacks=[stop], verbose=0)
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    assert len(losses) == best + 1 + 3 < 50  # stopped three epochs after the best one
    restored = keras.losses.sparse_categorical_crossentropy(np.ones(32, "int32"),
                                                            model.predict_on_batch(x))
    assert abs(float(np.mean(restored)) - losses[best]) < 1e-5


def test_assembled_ensembles_share_one_copy_of_each_member(smoke_settings):
    """What notebooks 05 and 06 rely on to hold each member once, whatever the preset."""
    members = {n: tiny_member(smoke_settings, n) for n in ("custom_cnn", "vgg16", "mobilenet")}
    heads = {"average": combiners.average_combiner([8] * 3, 8),
             "concatenation": combiners.concatenation_combiner([8] * 3, 8),
             "weighted_average": combiners.weighted_average_combiner([8] * 3, 8),
             "feature_concatenation": combiners.concatenation_combiner([4, 4, 4], 8),
             "feature_concatenation[vgg16]": combiners.concatenation_combiner([4], 8)}
    for name, head in heads.items():
        ensembles.save_combiner(smoke_settings, name, head)
    assembled = [ensembles.assemble(smoke_settings, name, members) for name in heads]
    member_variables = {id(v) for m in members.values() for v in m.weights}
    every_variable = {id(v) for model in assembled for v in model.weights}
    # Besides the members' own variables there are only the (reloaded) combiners' few.
    assert member_variables <= every_variable
    assert len(every_variable - member_variables) == sum(len(h.weights) for h in heads.values())
    images = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 3)).astype("float32")
    control = evaluation.predict_with_features(members["vgg16"], images)[1]
    np.testing.assert_allclose(assembled[-1].predict_on_batch(images),  # one member's features
                               heads["feature_concatenation[vgg16]"].predict_on_batch([control]),
                               atol=1e-5)


def test_the_validation_choice_is_saved_and_checked_against_the_settings(smoke_settings):
    with pytest.raises(artifacts.MissingArtifactError, match="Run 05_ensembles.ipynb"):
        artifacts.load_selection(smoke_settings)
    scores = {"ensembles, out-of-fold": {"average": {"accuracy": 0.9, "nll": 0.3}}}
    artifacts.save_selection(smoke_settings, "vgg16", "average", scores,
                             criterion="lowest log-loss", folds=5)
    choice = artifacts.load_selection(smoke_settings)
    assert (choice["member"], choice["ensemble"], choice["validation_scores"]) == ("vgg16", "average", scores)
    assert (choice["criterion"], choice["folds"]) == ("lowest log-loss", 5)
    # The split was made again since: the old choice is refused, not silently reused.
    artifacts.split_path(smoke_settings).write_text("path,label,split,bytes\ncat/1.jpg,cat,train,10\n")
    with pytest.raises(ValueError, match="rerun 05_ensembles.ipynb"):
        artifacts.load_selection(smoke_settings)


def test_every_combiner_leaves_out_the_same_holdout():
    labels = np.repeat(np.arange(8), 12)
    first = combiners.stratified_holdout(labels, seed=3)
    assert np.array_equal(first, combiners.stratified_holdout(labels, seed=3))
    assert first.sum() == 8 * 3  # a quarter of each class


def test_combine_equals_keras_predict():
    outputs = [random_probs(7, seed=s) for s in range(3)]
    for combiner in (combiners.concatenation_combiner([8] * 3, 8), combiners.weighted_average_combiner([8] * 3, 8)):
        np.testing.assert_allclose(combiners.combine(combiner, outputs), combiner.predict(outputs, verbose=0),
                                   atol=1e-6)


def test_fold_count_follows_the_smallest_class():
    assert combiners.fold_count(np.repeat(np.arange(8), 22)) == 5
    assert combiners.fold_count(np.array([0] * 10 + [1] * 3)) == 3  # every fold holds one image of each class
    with pytest.raises(ValueError, match="at least 2 per class"):
        combiners.fold_count(np.array([0, 0, 0, 1]))


def test_cross_fitting_gives_every_image_exactly_one_out_of_fold_prediction():
    labels = np.repeat(np.arange(8), 10)
    folds = combiners.stratified_folds(labels, combiners.fold_count(labels), seed=0)
    assert sorted(np.bincount(folds)) == [16] * 5 and all(len(set(labels[folds == f])) == 8 for f in range(5))
    outputs = [random_probs(80, seed=s) for s in range(3)]
    seen = []

    def fitter(inputs, y, epochs=None):
        """Records what each fit saw; its 'combiner' returns the fit's number as class 0's share."""
        seen.append(len(y))
        fit_number = len(seen)

        class Marker(keras.Model):
            def call(self, x):
                n = ops.shape(x[0])[0]
                return ops.concatenate([ops.full((n, 1), float(fit_number)), ops.zeros((n, 7))], axis=1)

        return Marker(), 4 + fit_number

    result = combiners.cross_fit(fitter, outputs, labels, folds)
    assert seen == [64] * 5 + [80]  # five folds on the other folds, then the final fit on all
    # each image was predicted by exactly one fold's combiner: the one that left its fold out
    np.testing.assert_array_equal(result.out_of_fold[:, 0], folds + 1)
    assert result.fold_epochs == [5, 6, 7, 8, 9] and result.final_epochs == 7  # the median


def test_cross_fitted_learned_combiners_and_scipy_weights_run_end_to_end():
    labels = np.repeat(np.arange(8), 8)
    good = (np.eye(8)[labels] * 0.8 + 0.2 / 8).astype("float32")
    outputs = [random_probs(64, seed=1), good, random_probs(64, seed=2)]
    folds = combiners.stratified_folds(labels, 4, seed=0)
    learned = combiners.cross_fit(combiners.keras_fitter(
        lambda: combiners.weighted_average_combiner([8] * 3, 8, (0, 0, 0))),
                                  outputs, labels, folds)
    simplex = combiners.cross_fit(combiners.simplex_fitter(8), outputs, labels, folds)
    for result in (learned, simplex):
        assert result.out_of_fold.shape == (64, 8)
        np.testing.assert_allclose(result.out_of_fold.sum(1), 1.0, atol=1e-5)
        assert result.combiner.get_layer("weighted_average").member_weights().argmax() == 1
    assert len(learned.fold_epochs) == 4
    assert learned.final_epochs == int(np.median(learned.fold_epochs))
    assert simplex.fold_epochs == [] and simplex.final_epochs is None
    assert np.mean(learned.out_of_fold.argmax(1) == labels) == 1.0
