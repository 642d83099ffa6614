"""Plumbing around the ensembles of notebook 05 and their one-member controls: the members'
cached outputs, one pass of each member giving its features and probabilities, and saving and
assembling ensembles.

The combiners, the weighted-average layer and the fitting are the lesson: they are written out in
notebook 05 and exported to ``helpers.lesson.combiners``.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from helpers import artifacts, catalogue, data, evaluation
from helpers.config import Settings
from helpers.lesson import combiners


def member_outputs(cached: dict[str, dict], split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The members' cached probabilities of one split, in member order, with the labels.

    Raises ``ValueError`` when the members were not made from the same files in the same
    order (for instance one of them was trained on another split)."""
    names = list(cached)
    reference = cached[names[0]]
    for name in names[1:]:
        for key in (f"{split}_files", "class_names"):
            if not np.array_equal(cached[name][key], reference[key]):
                raise ValueError(f"Members '{names[0]}' and '{name}' disagree on {key}: they were "
                                 f"made from different splits. Rerun notebooks 02-04 with the same "
                                 f"settings.")
    return [cached[n][f"{split}_probs"] for n in names], reference[f"{split}_labels"]


def member_features(cached: dict[str, dict], split: str) -> list[np.ndarray]:
    """The members' cached penultimate features of one split, in member order."""
    return [cached[name][f"{split}_features"] for name in cached]


def takes(name: str) -> tuple[list[int], bool]:
    """Which members an ensemble or a control combines (their indices) and whether it takes
    their penultimate features rather than their probabilities."""
    if name in catalogue.CONTROL_NAMES:
        combiner, member = catalogue.control_parts(name)
        return [catalogue.MEMBER_NAMES.index(member)], combiner in catalogue.FEATURE_ENSEMBLE_NAMES
    return list(range(len(catalogue.MEMBER_NAMES))), name in catalogue.FEATURE_ENSEMBLE_NAMES


def ensemble_probabilities(heads: dict[str, keras.Model], probs: list[np.ndarray],
                           features: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Every ensemble's (or control's) probabilities from its members' outputs."""
    out = {}
    for name, head in heads.items():
        index, on_features = takes(name)
        out[name] = combiners.combine(head, [(features if on_features else probs)[i]
                                             for i in index])
    return out


def cached_probabilities(cached: dict[str, dict], heads: dict[str, keras.Model], split: str,
                         rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every member's and every ensemble's (``heads``) probabilities on ``split``, from the
    outputs the members' notebooks cached: no member runs again. ``rows`` keeps some of the
    images (notebook 07's subset). The features are cached in float16, so an ensemble on
    features agrees with a full pass to about 1e-3."""
    probs, _ = member_outputs(cached, split)
    features = member_features(cached, split)
    if rows is not None:
        probs, features = [p[rows] for p in probs], [f[rows] for f in features]
    return {**dict(zip(cached, probs)), **ensemble_probabilities(heads, probs, features)}


def all_probabilities(members: dict[str, keras.Model], heads: dict[str, keras.Model],
                      images) -> dict[str, np.ndarray]:
    """Every member's and every ensemble's probabilities for ``images`` (an array, or an
    unshuffled pipeline), running each member **once**: one pass gives its features and its
    probabilities, and the ensembles' combiners (``heads``) take those. This equals running each
    ensemble as a full model, at a fraction of the cost."""
    outputs = [evaluation.predict_with_features(member, images) for member in members.values()]
    probs, features = [o[0] for o in outputs], [o[1] for o in outputs]
    return {**dict(zip(members, probs)), **ensemble_probabilities(heads, probs, features)}


def save_combiner(settings: Settings, name: str, combiner: keras.Model):
    return artifacts.save_model(combiner, artifacts.combiner_path(settings, name), settings)


def save_ensemble(settings: Settings, name: str, ensemble: keras.Model, combiner: keras.Model):
    """Save the full image-to-probabilities model and, separately, its small combiner
    (which the later notebooks apply to the members' outputs)."""
    save_combiner(settings, name, combiner)
    return artifacts.save_model(ensemble, artifacts.model_path(settings, name), settings)


def assemble(settings: Settings, name: str, members: dict[str, keras.Model],
             combiner: keras.Model | None = None) -> keras.Model:
    """The full model of ensemble or control ``name`` from already loaded members and its
    combiner (by default the saved one), so a notebook holds one copy of each member however many
    ensembles it evaluates."""
    index, on_features = takes(name)
    combiner = combiner or artifacts.load_combiner(settings, name)
    chosen = [list(members.values())[i] for i in index]
    return combiners.ensemble_model(chosen, combiner, settings, catalogue.keras_name(name),
                                    features=on_features)


def epoch_seconds(model: keras.Model, x, y=None, batch_size: int = 32) -> float:
    """Seconds for one training epoch, after one untimed epoch that builds the graph.
    ``x`` is a ``tf.data`` pipeline, or a list of arrays (one per input) with labels ``y``."""
    if y is not None:
        x = data.array_dataset(list(x) if isinstance(x, list | tuple) else [x], y, batch_size)
    model.fit(x, epochs=1, shuffle=False, verbose=0)  # the pipeline shuffles itself
    start = time.perf_counter()
    model.fit(x, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - start
