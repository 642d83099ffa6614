"""Predictions computed once and reused (issue 33) equal the direct computation, on the smoke
preset's data: the ensembles' probabilities read from the members' cached outputs (notebooks 06,
07, 08 and 09) against the full models run on the images, a subset of the test images against
its own pass (07's and 09's clean images), and 09's first test-time view against the plain
image."""

import os

import numpy as np
import pytest

from helpers import artifacts, catalogue, config, data, ensembles, evaluation
from helpers.lesson import combiners, families
from helpers.lesson.data_prep import stratified_split
from tests.builders import tiny_member


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory):
    """Three small members cached as notebooks 02-04 cache theirs, and heads of both kinds."""
    settings = config.load({**os.environ,
                            "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path_factory.mktemp("reuse"))})
    ds = data.load_data(settings, split_with=stratified_split)
    members = {name: tiny_member(settings, name) for name in catalogue.MEMBER_NAMES}
    for name, member in members.items():
        val, test = (evaluation.predict_with_features(member, split) for split in (ds.val, ds.test))
        artifacts.save_predictions(settings, name, {"val": val[0], "test": test[0]}, ds,
                                   features={"val": val[1], "test": test[1]})
    cached = {name: artifacts.load_predictions(settings, name) for name in members}
    probs = [cached[name]["test_probs"] for name in members]
    features = [cached[name]["test_features"] for name in members]
    heads = {"average": combiners.average_combiner([p.shape[1] for p in probs], 8),
             "feature_concatenation": combiners.concatenation_combiner(
                 [f.shape[1] for f in features], 8, name="feature_concatenation_head")}
    return settings, ds, members, cached, heads


def test_cached_outputs_give_what_the_models_give_on_the_images(cached_run):
    _, ds, members, cached, heads = cached_run
    subset = data.stratified_subset(ds.labels("test"), len(ds.labels("test")) // 2, seed=0)
    direct = ensembles.all_probabilities(members, heads, ds.images("test")[subset])
    reused = ensembles.cached_probabilities(cached, heads, "test", rows=subset)
    assert set(reused) == set(direct) == {*catalogue.MEMBER_NAMES, *heads}
    for name, p in direct.items():  # features are cached in float16: agree to about 1e-3
        np.testing.assert_allclose(reused[name], p, atol=2e-3, err_msg=name)
    whole = ensembles.cached_probabilities(cached, heads, "test")
    for name, p in reused.items():  # a subset's predictions are rows of the whole split's
        np.testing.assert_array_equal(whole[name][subset], p)


def test_the_first_test_time_view_is_the_image_itself(cached_run):
    settings, ds, members, _, _ = cached_run
    images = ds.images("test")[:4].astype("float32")
    np.testing.assert_array_equal(families.tta_views(settings.image_size)[0](images), images)
    member = members[catalogue.MEMBER_NAMES[0]]
    np.testing.assert_allclose(evaluation.predict(member, images[:2]),
                               evaluation.predict(member, images)[:2], atol=1e-6)
