"""Benchmark 2: one training epoch of each combiner end-to-end (the three members re-run on
every batch, the original's way) against one epoch on the members' cached outputs, the
ratio, and a check that both give the same outputs for the same combiner weights.

Members are built as in notebooks 02-04 (``stand_ins.py``: random weights frozen where ImageNet
weights would be, the same compute), the combiners and the full ensembles as in notebook 05
(``helpers.lesson.combiners``); the images are random, in a cached ``tf.data`` pipeline like a
validation split. Writes ``benchmarks/results/ensemble_fitting.json`` (or ``--out``). Usage::

    python benchmarks/ensemble_fitting.py [--images 360] [--image-size 128] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import stand_ins
import tensorflow as tf

from helpers import catalogue, config, ensembles, evaluation
from helpers.lesson import combiners


GOAL_RATIO = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=360, help="validation images")
    parser.add_argument("--image-size", type=int, default=config.PRESETS["cpu"]["image_size"])
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "ensemble_fitting.json")
    args = parser.parse_args()

    settings = stand_ins.settings_for("cpu", args.image_size)
    tf.keras.utils.set_random_seed(0)
    member_models = [stand_ins.build(name, settings) for name in catalogue.MEMBER_NAMES]
    images, labels = stand_ins.random_images(args.images, args.image_size)
    val = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32).cache()
    passes = [evaluation.predict_with_features(m, val) for m in member_models]
    outputs, features = [p[0] for p in passes], [p[1] for p in passes]
    sizes, feature_sizes = [o.shape[1] for o in outputs], [f.shape[1] for f in features]
    k = 8
    # name: (the combiner as notebook 05 builds it, what it takes, whether that is features)
    builders = {
        "concatenation": (lambda: combiners.concatenation_combiner(sizes, k), outputs, False),
        "average_dense": (lambda: combiners.average_dense_combiner(sizes, k), outputs, False),
        "weighted_average": (lambda: combiners.weighted_average_combiner(sizes, k), outputs,
                             False),
        "feature_concatenation": (lambda: combiners.concatenation_combiner(
            feature_sizes, k, "feature_concatenation_head"), features, True),
    }
    rows = {}
    for name, (build, cached_inputs, on_features) in builders.items():
        combiner = build()
        full = combiners.ensemble_model(member_models, combiner, settings, name,
                                        features=on_features)
        same = np.allclose(evaluation.inference_function(full)(images[:32]),
                           combiners.combine(combiner, [c[:32] for c in cached_inputs]), atol=1e-5)
        full.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        end_to_end = ensembles.epoch_seconds(full, val)
        combiner.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        cached = ensembles.epoch_seconds(combiner, cached_inputs, labels)
        rows[name] = {"end_to_end_s": end_to_end, "cached_s": cached, "ratio": end_to_end / cached,
                      "same_outputs": bool(same)}

    print(f"{args.images} validation images at {args.image_size} px; goal: cached at least "
          f"{GOAL_RATIO}x faster per epoch")
    print(f"{'combiner':<22} {'end-to-end s':>12} {'cached s':>10} {'ratio':>8} "
          f"{'same outputs':>13}")
    for name, r in rows.items():
        print(f"{name:<22} {r['end_to_end_s']:>12.3f} {r['cached_s']:>10.4f} {r['ratio']:>7.0f}x "
              f"{str(r['same_outputs']):>13}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"validation_images": args.images,
                                    "image_size": args.image_size, "goal_ratio": GOAL_RATIO,
                                    "machine": stand_ins.machine(), "combiners": rows}, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
