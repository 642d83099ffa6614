"""Benchmark 3: latency per image of each member and each ensemble at batch sizes 1 and 32,
and each ensemble's overhead over the summed latency of its three members.

Members are built as in notebooks 02-04 (``stand_ins.py``: random weights frozen where ImageNet
weights would be, the same compute), ensembles as in notebook 05 (``combiners.ensemble_model``);
every model is timed as its compiled inference function, the median of repeated calls after
warm-up, in interleaved rounds (see ``interleaved_latency``). Writes
``benchmarks/results/inference.json`` (or ``--out``). Usage::

    python benchmarks/inference.py [--image-size 128] [--repeats 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import stand_ins

from helpers import catalogue, config, evaluation
from helpers.lesson import combiners


GOAL_OVERHEAD = 0.10


def build_ensembles(member_models: list, settings) -> dict[str, keras.Model]:
    """Every kind of ensemble of notebook 05, with untrained combiners (the cost is the same);
    ``weighted_average_scipy`` is left out: it has ``weighted_average``'s layers. The combiners
    take the members' probabilities, or their penultimate features for the feature ensembles."""
    k = 8
    sizes = [m.output.shape[-1] for m in member_models]
    feature_sizes = [m.layers[-1].input.shape[-1] for m in member_models]
    heads = {
        "average": combiners.average_combiner(sizes, k),
        "concatenation": combiners.concatenation_combiner(sizes, k),
        "weighted_average": combiners.weighted_average_combiner(sizes, k),
        "average_dense": combiners.average_dense_combiner(sizes, k),
        "feature_concatenation": combiners.concatenation_combiner(
            feature_sizes, k, "feature_concatenation_head"),
    }
    return {name: combiners.ensemble_model(
                member_models, combiner, settings, name,
                features=name in catalogue.FEATURE_ENSEMBLE_NAMES)
            for name, combiner in heads.items()}


def interleaved_latency(all_models: dict[str, keras.Model], image_size: int, repeats: int,
                        warmup: int = 3) -> dict[str, dict[str, float]]:
    """Median milliseconds per image of every model at batch sizes 1 and 32, each model run as
    its compiled inference function (``evaluation.inference_function``). The calls are timed
    in rounds of one call per model, so a machine that slows down or speeds up during the
    run (a shared 2-core machine does) affects members and ensembles alike."""
    rng = np.random.default_rng(0)
    batches = {b: rng.uniform(0, 255, (b, image_size, image_size, 3)).astype("float32")
               for b in (1, 32)}
    runs = {name: evaluation.inference_function(model) for name, model in all_models.items()}
    for _ in range(warmup):
        for run in runs.values():
            for batch in batches.values():
                np.asarray(run(batch))
    seconds = {name: {b: [] for b in batches} for name in runs}
    for _ in range(repeats):
        for b, batch in batches.items():
            for name, run in runs.items():
                start = time.perf_counter()
                np.asarray(run(batch))
                seconds[name][b].append(time.perf_counter() - start)
    return {name: {f"latency_ms_batch{b}": float(np.median(times) * 1000 / b)
                   for b, times in per.items()} for name, per in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=config.PRESETS["cpu"]["image_size"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "inference.json")
    args = parser.parse_args()

    settings = stand_ins.settings_for("cpu", args.image_size)
    keras.utils.set_random_seed(0)
    names = catalogue.MEMBER_NAMES
    member_models = [stand_ins.build(name, settings) for name in names]
    all_models = {m.name: m for m in member_models} | build_ensembles(member_models, settings)
    rows = interleaved_latency(all_models, args.image_size, args.repeats)
    summed = {b: sum(rows[m][f"latency_ms_batch{b}"] for m in names) for b in (1, 32)}
    for name in all_models:
        if name not in names:
            for b in (1, 32):
                latency = rows[name][f"latency_ms_batch{b}"]
                rows[name][f"overhead_batch{b}"] = latency / summed[b] - 1

    print(f"image size {args.image_size}px, median of {args.repeats} interleaved rounds; "
          f"overhead = ensemble latency / sum of the members' latencies - 1 (goal: under "
          f"{GOAL_OVERHEAD:.0%})")
    print(f"{'model':<22} {'ms/img b=1':>11} {'ms/img b=32':>12} {'overhead b=1':>13} "
          f"{'overhead b=32':>14}")
    for name, r in rows.items():
        over = (f"{r['overhead_batch1']:>+13.1%} {r['overhead_batch32']:>+14.1%}"
                if "overhead_batch1" in r else f"{'':>13} {'':>14}")
        print(f"{name:<22} {r['latency_ms_batch1']:>11.2f} {r['latency_ms_batch32']:>12.3f} {over}")
    print(f"{'sum of the members':<22} {summed[1]:>11.2f} {summed[32]:>12.3f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"image_size": args.image_size, "repeats": args.repeats,
                                    "machine": stand_ins.machine(), "models": rows,
                                    "sum_of_members_ms": summed, "goal_overhead": GOAL_OVERHEAD},
                                   indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
