"""Benchmark 5: what the ``cpu`` preset costs on this machine, and what it would cost on
the full dataset.

For each member (built as in notebooks 02-04, random weights: the same compute as ImageNet
weights when the same layers are frozen) it measures training and inference images per
second at the given image sizes, then projects the wall time of the whole series on the
full 6,899-image dataset for a grid of levers: image size, images per class, epochs.
Writes ``benchmarks/results/training_cost.json``. Usage::

    python benchmarks/training_cost.py [--image-sizes 128 96] [--images 128] [--reuse-speeds]

The projection counts, per member, ``epochs x train`` training images and ``epochs x val +
val + test`` predicted images, plus notebook 05 (two end-to-end epochs and one feature pass
over the validation split), 06 (one pass over the test split, and its latency calls), 07 (every
member over the clean and each corrupted copy of its test subset) and 08 (the members over the
training split once for the teacher's targets, the student trained like its member, the
teacher over the test split, and the latency calls of student, member and teacher). It is an
upper bound on training (early stopping often ends sooner) and leaves out JPEG decoding,
corrupting images and kernel starts (about a minute in all; see benchmarks/smoke_suite.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import stand_ins

from helpers import artifacts, config
from helpers.lesson import corruptions


#: Images per class in the Natural Images dataset (6,899 in all), as published on Kaggle.
REAL_CLASS_COUNTS = {"airplane": 727, "car": 968, "cat": 885, "dog": 702, "flower": 843,
                     "fruit": 1000, "motorbike": 788, "person": 986}
GOAL_MINUTES = 45
#: Calls notebook 06 makes per model and batch size to time it, warm-up included.
LATENCY_CALLS = 1 + config.PRESETS["cpu"]["latency_calls"]  # one warm-up call, then the timed


def split_sizes(max_per_class: int | None, val_fraction=0.15, test_fraction=0.15) -> dict[str, int]:
    """Approximate train / validation / test sizes of the series' stratified split."""
    used = [min(n, max_per_class) if max_per_class else n for n in REAL_CLASS_COUNTS.values()]
    val = sum(round(n * val_fraction) for n in used)
    test = sum(round(n * test_fraction) for n in used)
    return {"train": sum(used) - val - test, "val": val, "test": test}


def _median_rate(step, n_images: int, repeats: int) -> float:
    """Images per second of the median of ``repeats`` timed calls, after one untimed call: the
    first training pass after a prediction pass (or the reverse) runs up to twice as slowly
    while oneDNN switches kernels, which would otherwise drag the median down."""
    step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return n_images / sorted(timings)[len(timings) // 2]


def throughput(name: str, image_size: int, n_images: int, batch_size: int,
               repeats: int = 3, whole: bool = False) -> dict[str, float]:
    """Training and prediction images per second of one member on a cached ``tf.data``
    pipeline (as in the notebooks from their second epoch on), the median of ``repeats`` timed
    passes after two untimed ones: the first passes compile the graph and let oneDNN pick its
    kernels, and on a shared 2-core machine single passes vary by up to 2x. With ``whole``, the
    backbone is trained whole instead (the choice notebook 03 weighs without ImageNet weights)."""
    import keras
    import tensorflow as tf

    settings = stand_ins.settings_for("cpu", image_size)
    keras.utils.set_random_seed(0)
    model = stand_ins.build(name, settings)
    if whole:
        for layer in model.get_layer(f"{name}_backbone").layers:  # each layer was frozen one by one
            layer.trainable = True
        model.compile(optimizer=model.optimizer.__class__.from_config(model.optimizer.get_config()),
                      loss="sparse_categorical_crossentropy")
    images, labels = stand_ins.random_images(n_images, image_size)
    pipeline = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size).cache()

    def train():
        model.fit(pipeline, epochs=1, verbose=0)

    def predict():
        model.predict(pipeline, verbose=0)

    for _ in range(2):
        train(), predict()
    return {"train_images_per_s": _median_rate(train, n_images, repeats),
            "predict_images_per_s": _median_rate(predict, n_images, repeats),
            "params": int(model.count_params())}


#: Notebook 08's student architecture (its default).
STUDENT = "mobilenet"


def projected_minutes(speeds: dict[str, dict], sizes: dict[str, int], epochs: int,
                      shift_images: int | None = None) -> float:
    seconds = 0.0
    for speed in speeds.values():
        seconds += epochs * sizes["train"] / speed["train_images_per_s"]
        seconds += (epochs * sizes["val"] + sizes["val"] + sizes["test"]) / speed["predict_images_per_s"]
    all_members = sum(1 / s["predict_images_per_s"] for s in speeds.values())  # seconds per image
    seconds += (3 * sizes["val"] + sizes["test"]) * all_members  # notebooks 05 and 06
    # notebook 06's latency: every member and ensemble, at batch sizes 1 and 32, warm-up included
    seconds += LATENCY_CALLS * (1 + 32) * (1 + len(artifacts.ALL_ENSEMBLE_NAMES)) * all_members
    # notebook 07: every member over the clean subset and each corrupted copy of it
    copies = 1 + len(corruptions.CORRUPTIONS) * len(corruptions.SEVERITIES)
    seconds += copies * min(shift_images or sizes["test"], sizes["test"]) * all_members
    # notebook 08: teacher targets, the student's training, the teacher on the test split, latency
    student = speeds[STUDENT]
    seconds += sizes["train"] * all_members + sizes["test"] * all_members
    seconds += epochs * sizes["train"] / student["train_images_per_s"]
    seconds += (epochs * sizes["val"] + sizes["val"] + sizes["test"]) / student["predict_images_per_s"]
    seconds += LATENCY_CALLS * (1 + 32) * (2 / student["predict_images_per_s"] + all_members)
    return seconds / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    cpu = config.PRESETS["cpu"]
    parser.add_argument("--image-sizes", type=int, nargs="+", default=[cpu["image_size"], 96])
    parser.add_argument("--images", type=int, default=128, help="images per timed pass")
    parser.add_argument("--reuse-speeds", action="store_true",
                        help="project from the speeds measured last time (in the JSON file) instead of "
                             "measuring again, e.g. after changing the preset or the projection")
    args = parser.parse_args()

    out = Path(__file__).parent / "results" / "training_cost.json"
    if args.reuse_speeds:
        previous = json.loads(out.read_text())
        speeds = {int(size): by_member for size, by_member in previous["speeds"].items()}
        timed_images = previous["timed_images"]
        trained_whole = previous.get("trained_whole", {})
    else:
        timed_images = args.images
        speeds = {size: {name: throughput(name, size, args.images, cpu["batch_size"])
                         for name in ("custom_cnn", "vgg16", "mobilenet")} for size in args.image_sizes}
        trained_whole = {"vgg16": throughput("vgg16", cpu["image_size"], args.images, cpu["batch_size"], whole=True)}
    print(f"{'member':<11} {'size':>5} {'train img/s':>12} {'predict img/s':>14} {'params':>12}")
    for size, by_member in speeds.items():
        for name, s in by_member.items():
            print(f"{name:<11} {size:>5} {s['train_images_per_s']:>12.1f} "
                  f"{s['predict_images_per_s']:>14.1f} {s['params']:>12,}")
    for name, s in trained_whole.items():
        frozen = speeds[cpu["image_size"]][name]["train_images_per_s"]
        print(f"{name} trained whole at {cpu['image_size']} px: {s['train_images_per_s']:.1f} training img/s, "
              f"{frozen / s['train_images_per_s']:.1f}x slower than with its layers frozen (notebook 03)")

    projections = []
    for size in speeds:
        for cap in (None, 300, 200, 150, 100):
            for epochs in sorted({15, 10, cpu["epochs"]}, reverse=True):
                sizes = split_sizes(cap)
                for shift_images in (cpu["shift_images"], None):
                    if shift_images is None and (size, cap, epochs) != (cpu["image_size"], cpu["max_per_class"],
                                                                       cpu["epochs"]):
                        continue  # all test images in notebook 07: projected for the preset only
                    minutes = projected_minutes(speeds[size], sizes, epochs, shift_images)
                    projections.append({"image_size": size, "max_per_class": cap, "epochs": epochs,
                                        "shift_images": shift_images, "train_images": sizes["train"],
                                        "minutes": minutes, "within_goal": minutes <= GOAL_MINUTES})
    preset = {"image_size": cpu["image_size"], "max_per_class": cpu["max_per_class"], "epochs": cpu["epochs"],
              "shift_images": cpu["shift_images"]}
    print(f"\nprojected series on the full dataset (goal: {GOAL_MINUTES} min); "
          f"* = the cpu preset's defaults {preset}")
    print(f"{'size':>5} {'per class':>10} {'epochs':>7} {'07 images':>10} {'train imgs':>11} {'minutes':>8}")
    for p in projections:
        mark = "*" if {k: p[k] for k in preset} == preset else " "
        print(f"{p['image_size']:>5} {str(p['max_per_class'] or 'all'):>10} {p['epochs']:>7} "
              f"{str(p['shift_images'] or 'all'):>10} "
              f"{p['train_images']:>11} {p['minutes']:>8.1f} {mark}{'' if p['within_goal'] else '  over'}")

    out.parent.mkdir(exist_ok=True)
    from helpers.run import NOTEBOOKS

    out.write_text(json.dumps({"cpu_preset": preset, "notebooks": len(NOTEBOOKS), "timed_images": timed_images,
                               "speeds": {str(k): v for k, v in speeds.items()}, "trained_whole": trained_whole,
                               "projections": projections, "goal_minutes": GOAL_MINUTES}, indent=2))


if __name__ == "__main__":
    main()
