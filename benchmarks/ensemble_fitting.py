"""Benchmark 2: one training epoch of each combiner end-to-end (the members re-run on every
batch, the original's way) against one epoch on the members' cached outputs; also checks
that both paths give the same outputs for the same combiner weights.

Uses small members shaped like the series' (random weights, smoke image size) on the
validation split of the demo dataset, so it runs anywhere in about a minute. Usage::

    python benchmarks/ensemble_fitting.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from helpers import config, data, ensembles, evaluation, models


def main() -> None:
    settings = config.load({"ENSEMBLE_PRESET": "smoke"})
    ds = data.load_data(settings)
    backbones = [models.backbone("vgg16", settings), models.backbone("mobilenet", settings)]
    members = []
    import keras

    for name, base, preprocess in (("vgg16", backbones[0], "vgg16"), ("mobilenet", backbones[1], "mobilenet")):
        inputs = models.image_input(settings)
        x = models.BackbonePreprocess(preprocess)(inputs)
        x = keras.layers.Flatten()(base(x, training=False))
        members.append(keras.Model(inputs, keras.layers.Dense(8, activation="softmax")(x), name=name))
    inputs = models.image_input(settings)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Flatten()(keras.layers.Conv2D(8, 3, strides=4)(x))
    members.insert(0, keras.Model(inputs, keras.layers.Dense(8, activation="softmax")(x), name="custom_cnn"))

    outputs = [evaluation.predict(m, ds.val) for m in members]
    labels = ds.labels("val")
    rows = {}
    builders = {"concatenation": lambda: ensembles.concatenation_combiner(3, 8),
                "average_dense": lambda: ensembles.average_dense_combiner(3, 8),
                "weighted_average": lambda: ensembles.weighted_average_combiner(8)}
    for name, build in builders.items():
        combiner = build()
        full = ensembles.ensemble_model(members, combiner, settings, name=f"{name}_e2e")
        batch = next(iter(ds.val))[0]
        same = np.allclose(full.predict_on_batch(batch), combiner.predict_on_batch(
            [o[: len(batch)] for o in outputs]), atol=1e-5)
        full.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        end_to_end = ensembles.epoch_seconds(full, ds.val)
        combiner.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        cached = ensembles.epoch_seconds(combiner, outputs, labels)
        rows[name] = {"end_to_end_s": end_to_end, "cached_s": cached, "ratio": end_to_end / cached,
                      "same_outputs": bool(same)}
    print(f"{'combiner':<18} {'end-to-end s':>12} {'cached s':>10} {'ratio':>8} {'same outputs':>13}")
    for name, r in rows.items():
        print(f"{name:<18} {r['end_to_end_s']:>12.3f} {r['cached_s']:>10.4f} {r['ratio']:>7.0f}x "
              f"{str(r['same_outputs']):>13}")
    out = Path(__file__).parent / "results" / "ensemble_fitting.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"validation_images": int(len(labels)), "image_size": settings.image_size,
                               "combiners": rows}, indent=2))


if __name__ == "__main__":
    main()
