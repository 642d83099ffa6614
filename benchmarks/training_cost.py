"""Benchmark 5: what the ``cpu`` preset costs on this machine, and what its levers would cost.

It measures, at the given image sizes, how many images per second each part of the series
processes (``stand_ins.py``: the members as notebooks 02-04 build them, with random weights frozen
where ImageNet weights would be: the same compute), then projects the wall time of all the
notebooks on the full 6,899-image dataset for a grid of levers: image size, training images per
class, stored views and test images per corrupted copy. Every other setting is the ``cpu``
preset's (``config.PRESETS``). Writes ``benchmarks/results/training_cost.json`` (or ``--out``).
Usage::

    python benchmarks/training_cost.py [--image-sizes 128 96] [--reuse-speeds] [--out FILE]

What is counted, notebook by notebook (N training images after the cap, V validation and T test
images, the dataset's whole 15% each; K stored views; E epochs; S test images per corrupted copy,
C corrupted copies; L timed latency calls per model and batch size, after one warm-up):

- 02: the custom CNN trains E epochs on N images (augmentation inside), validates E times on V,
  then predicts V and T;
- 03 and 04: the frozen bottom of VGG16 and of MobileNet (ImageNet weights) runs once over K x N
  views and V + T images; the head trains E epochs on K x N stored tensors and validates on V;
  VGG16's head then predicts V and T twice (probabilities, then penultimate features), MobileNet's
  member predicts them from the images;
- 05: two timed end-to-end epochs over at most 128 validation images;
- 06: 16 test images through every model (the members, every ensemble and every one-member
  control), and the latency calls of each of them;
- 07: every member over the clean copy and each corrupted copy of S test images;
- 08: the members over the N training images for the teacher's targets, the student trained like
  notebook 04's MobileNet, its predictions of V and T, and the latency calls of student, member
  and teacher;
- 09: MobileNet's bottom once more, M copies and a snapshot run of its head, the families'
  predictions on validation, test and the corrupted copies (each copy's bottom once, test-time
  augmentation on four views), the student on the copies, and the latency calls of the families,
  the members, the trio, the stacking models and the single models they are compared with.

Training is counted to the maximum number of epochs (early stopping often ends sooner); a head's
pass or a combiner's is counted only where it is a whole pass over images. Left out: notebook 01,
JPEG decoding, corrupting images, kernel starts, notebook 05's cross-fitting of the combiners and
their one-member controls (each fitted once per fold and once more on all of validation),
notebook 09's stacking and scores, the bootstrap intervals of 06, 07 and 09, loading and
compiling the models, and Python's overhead per call.

That model alone falls short of the end-to-end check (``benchmarks/real_size_run.py``;
benchmarks/README.md compares them notebook by notebook). So when that check's results exist
(``results/real_size_run.json``, the latest check), each projection is also **anchored** to it:
the minutes measured there plus what the model says the levers add or save against the settings of
that run. What no lever changes (the cross-fitting, overheads) then comes from the measurement, and
only the differences from the model. Two limits: the anchor was measured on one machine (on another
the sum is rougher), and with the notebooks as they were then: work they have gained since, which
no lever changes, cancels out of the difference and is missing until the check runs again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import stand_ins

from helpers import catalogue, config
from helpers.lesson import corruptions


GOAL_MINUTES = 45
CPU = config.PRESETS["cpu"]
#: The levers tried besides the ``cpu`` preset's own values (None: all the images).
CAPS = (None, 500, 300, 200, 150, 100)
VIEWS = (2, 4)
SHIFT_IMAGES = (None, 64, 256)
#: Constants of the notebooks: 05 times two epochs over at most this many validation images, and
#: 06 checks every model on this many test images.
TIMED_IMAGES_05 = 128
CHECKED_IMAGES_06 = 16


def split_sizes(max_per_class: int | None, val_fraction=0.15, test_fraction=0.15) -> dict:
    """Train / validation / test sizes of the series' stratified split of the whole dataset,
    with at most ``max_per_class`` training images per class."""
    val = sum(round(n * val_fraction) for n in catalogue.CLASS_COUNTS.values())
    test = sum(round(n * test_fraction) for n in catalogue.CLASS_COUNTS.values())
    train = [n - round(n * val_fraction) - round(n * test_fraction)
             for n in catalogue.CLASS_COUNTS.values()]
    capped = sum(min(n, max_per_class) if max_per_class else n for n in train)
    return {"train": capped, "val": val, "test": test}


def rate(step, n_images: int, repeats: int = 3) -> float:
    """Images per second of the median of ``repeats`` timed calls, after two untimed ones (they
    compile the graph and let oneDNN pick its kernels; single passes vary on a shared machine)."""
    step(), step()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    return n_images / sorted(timings)[len(timings) // 2]


def speeds(image_size: int, n_images: int) -> dict[str, float]:
    """Images (or stored tensors) per second of every part the projection counts."""
    import keras
    import tensorflow as tf

    from helpers.lesson import vgg16
    from helpers.lesson.mobilenet import mobilenet_from_scratch

    settings = stand_ins.settings_for("cpu", image_size)
    keras.utils.set_random_seed(0)
    images, labels = stand_ins.random_images(n_images, image_size)
    pipeline = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32).cache()
    out = {}
    cnn = stand_ins.build("custom_cnn", settings)
    out["custom_cnn_train"] = rate(lambda: cnn.fit(pipeline, epochs=1, shuffle=False, verbose=0),
                                   n_images)
    out["custom_cnn_predict"] = rate(lambda: cnn.predict(pipeline, verbose=0), n_images)
    for name in ("vgg16", "mobilenet"):
        bottom, head = stand_ins.frozen_parts(name, settings)
        member = vgg16.assemble_member(bottom, head, name, settings, name)
        extractor = vgg16.feature_extractor(bottom, name, settings)
        out[f"{name}_bottom"] = rate(lambda e=extractor: vgg16.stored_features(e, images),
                                     n_images)
        stored = vgg16.stored_features(extractor, images)
        tensors = tf.data.Dataset.from_tensor_slices((stored, labels)).batch(32).cache()
        out[f"{name}_head_train"] = rate(
            lambda h=head, t=tensors: h.fit(t, epochs=1, shuffle=False, verbose=0), n_images)
        out[f"{name}_head_predict"] = rate(lambda h=head, t=tensors: h.predict(t, verbose=0),
                                           n_images)
        out[f"{name}_predict"] = rate(lambda m=member: m.predict(pipeline, verbose=0), n_images)
    whole = mobilenet_from_scratch(settings, 8)  # as without ImageNet weights: trained whole
    out["mobilenet_whole_train"] = rate(
        lambda: whole.fit(pipeline, epochs=1, shuffle=False, verbose=0), n_images)
    out["params"] = {name: int(stand_ins.build(name, settings).count_params())
                     for name in catalogue.MEMBER_NAMES}
    return out


def corrupted_copies(preset: dict = CPU) -> int:
    """Notebook 07's copies of the test subset: the clean one and one per corruption type and
    severity."""
    kinds = preset["corruptions"] or tuple(corruptions.CORRUPTIONS)
    return 1 + len(kinds) * len(corruptions.SEVERITIES)


def tta_views() -> int:
    """The views of notebook 09's test-time augmentation."""
    from helpers.lesson import families

    return len(families.tta_views(CPU["image_size"]))


def families_seconds(s: dict, n: int, v: int, t: int, epochs: int, views: int, shifted: int,
                     latency: int, every_member: float, preset: dict = CPU) -> float:
    """Notebook 09 with ImageNet weights (its family is MobileNet's head on the frozen bottom):
    the bottom once per view and per image, M copies and one snapshot run of the head, the
    predictions of every family on validation, test and each corrupted copy, the student on the
    copies, and the latency calls of its models."""
    m, samples, copies, tta = preset["family_members"], preset["dropout_samples"], \
        corrupted_copies(preset), tta_views()
    heads = 2 * m + samples  # copies, snapshots and dropout samples, each a pass of a head
    seconds = (views * n + v + t) / s["mobilenet_bottom"]
    seconds += (m + 1) * epochs * (views * n / s["mobilenet_head_train"]
                                   + v / s["mobilenet_head_predict"])
    seconds += (heads * (v + t) + m * v) / s["mobilenet_head_predict"]  # and the copies on V
    seconds += tta * (v + t + copies * shifted) / s["mobilenet_predict"]
    seconds += copies * shifted * (1 / s["mobilenet_bottom"] + heads / s["mobilenet_head_predict"]
                                   + 1 / s["mobilenet_predict"])  # the families and the student
    # Latency: deep ensemble, snapshot, MC dropout and copy 1 each run the bottom once and their
    # heads; the student costs one MobileNet, test-time augmentation one per view; the members,
    # the trio and the stacking model each cost every member once; the best one-member stacking
    # model and the best single models, when they are controls, one member each (counted as one
    # member on average for each of the three).
    seconds += latency * (4 / s["mobilenet_bottom"] + (heads + 1) / s["mobilenet_head_predict"]
                          + (1 + tta) / s["mobilenet_predict"] + 4 * every_member)
    return seconds


def projected_minutes(s: dict, sizes: dict, epochs: int, views: int, shift_images,
                      latency_calls: int = CPU["latency_calls"]) -> dict:
    """Projected minutes of each notebook (and in all) for the ``cpu`` preset's work with these
    levers; ``latency_calls`` timed calls per model and batch size (06, 08, 09)."""
    n, v, t = sizes["train"], sizes["val"], sizes["test"]
    every_member = 1 / s["custom_cnn_predict"] + 1 / s["vgg16_predict"] + 1 / s["mobilenet_predict"]
    shifted = min(shift_images or t, t)

    def frozen(name: str) -> float:
        return ((views * n + v + t) / s[f"{name}_bottom"]
                + epochs * (views * n / s[f"{name}_head_train"] + v / s[f"{name}_head_predict"]))

    latency = (1 + latency_calls) * (1 + 32)
    # 06: the members (every member once), every ensemble (the same) and every control (one
    # member each: each controlled combiner's controls cost every member once)
    models_06 = 1 + len(catalogue.ALL_ENSEMBLE_NAMES) + len(catalogue.CONTROLLED)
    seconds = {
        "02": epochs * (n / s["custom_cnn_train"] + v / s["custom_cnn_predict"])
        + (v + t) / s["custom_cnn_predict"],
        "03": frozen("vgg16") + 2 * (v + t) / s["vgg16_head_predict"],
        "04": frozen("mobilenet") + (v + t) / s["mobilenet_predict"],
        # two timed epochs, backward through the combiner
        "05": 2 * min(TIMED_IMAGES_05, v) * every_member * 1.5,
        "06": (CHECKED_IMAGES_06 + latency) * models_06 * every_member,
        "07": corrupted_copies() * shifted * every_member,
        "08": n * every_member + frozen("mobilenet") + (v + t) / s["mobilenet_predict"]
        + latency * (2 / s["mobilenet_predict"] + every_member),
        "09": families_seconds(s, n, v, t, epochs, views, shifted, latency, every_member),
    }
    minutes = {k: round(value / 60, 2) for k, value in seconds.items()}
    minutes["total"] = round(sum(seconds.values()) / 60, 1)
    return minutes


def end_to_end_anchor(measured: dict) -> dict | None:
    """The end-to-end check's measured minutes and the settings it ran with, and what the model
    projects for those settings from ``measured`` speeds; None before the check has run."""
    path = stand_ins.RESULTS / "real_size_run.json"
    if not path.exists():
        return None
    run = json.loads(path.read_text())
    settings = run["settings"]
    if settings["image_size"] not in measured:
        return None
    modelled = projected_minutes(measured[settings["image_size"]],
                                 split_sizes(settings["max_per_class"]), settings["epochs"],
                                 settings["views"], settings["shift_images"],
                                 settings["latency_calls"])["total"]
    return {"measured": round(run["measured_minutes"], 1), "modelled": modelled,
            "machine": run["machine"], "image_size": settings["image_size"],
            "settings": settings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-sizes", type=int, nargs="+", default=[CPU["image_size"]])
    parser.add_argument("--images", type=int, default=128, help="images per timed pass")
    parser.add_argument("--reuse-speeds", action="store_true",
                        help="project from the speeds stored in benchmarks/results/"
                             "training_cost.json instead of measuring again, e.g. after changing "
                             "the preset or the projection")
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "training_cost.json")
    args = parser.parse_args()

    stored = json.loads((stand_ins.RESULTS / "training_cost.json").read_text())
    if args.reuse_speeds:
        measured = {int(k): v for k, v in stored["speeds"].items()}
        machine, timed_images = stored.get("machine"), stored["timed_images"]
    else:
        measured = {size: speeds(size, args.images) for size in args.image_sizes}
        machine, timed_images = stand_ins.machine(), args.images
    for size, s in measured.items():
        print(f"images (or stored tensors) per second at {size} px:")
        for key, value in s.items():
            if key != "params":
                print(f"  {key:<24} {value:8.1f}")
        print(f"  MobileNet trained whole (no ImageNet weights) trains "
              f"{s['mobilenet_bottom'] / s['mobilenet_whole_train']:.1f}x slower per image than "
              f"its frozen bottom runs once")

    preset = {k: CPU[k] for k in ("image_size", "max_per_class", "epochs", "views",
                                  "shift_images")}
    anchor = end_to_end_anchor(measured)
    projections = []
    for size, s in measured.items():
        for cap in sorted({*CAPS, CPU["max_per_class"]}, key=lambda c: -(c or 1e9)):
            for views in sorted({*VIEWS, CPU["views"]}):
                for shift_images in sorted({*SHIFT_IMAGES, CPU["shift_images"]},
                                           key=lambda n: n or 1e9):
                    sizes = split_sizes(cap)
                    minutes = projected_minutes(s, sizes, CPU["epochs"], views, shift_images)
                    row = {
                        "image_size": size, "max_per_class": cap, "epochs": CPU["epochs"],
                        "views": views, "shift_images": shift_images,
                        "train_images": sizes["train"], "val_images": sizes["val"],
                        "test_images": sizes["test"], "minutes": minutes["total"],
                        "per_notebook": minutes}
                    if anchor and anchor["image_size"] == size:
                        row["anchored_minutes"] = round(
                            anchor["measured"] + minutes["total"] - anchor["modelled"], 1)
                    row["within_goal"] = row.get("anchored_minutes", row["minutes"]) <= GOAL_MINUTES
                    projections.append(row)
    print(f"\nprojected series on the full dataset (goal: {GOAL_MINUTES} min); * = the cpu "
          f"preset {preset}, {CPU['latency_calls']} latency calls")
    if anchor:
        print(f"anchored: {anchor['measured']:.1f} min measured end to end with "
              f"{anchor['settings']} on {anchor['machine']}, {anchor['modelled']:.1f} min by the "
              f"model for those settings, plus the model's difference")
    print(f"{'size':>5} {'per class':>10} {'views':>6} {'07 images':>10} {'train':>6} "
          f"{'model':>6} {'anchored':>9}")
    for p in projections:
        mark = "*" if {k: p[k] for k in preset} == preset else " "
        anchored = f"{p['anchored_minutes']:>9.1f}" if "anchored_minutes" in p else f"{'-':>9}"
        print(f"{p['image_size']:>5} {str(p['max_per_class'] or 'all'):>10} {p['views']:>6} "
              f"{str(p['shift_images'] or 'all'):>10} {p['train_images']:>6} {p['minutes']:>6.1f} "
              f"{anchored} {mark}{'' if p['within_goal'] else '  over'}")
    chosen = next((p for p in projections if {k: p[k] for k in preset} == preset), None)
    if chosen:
        print("the cpu preset, per notebook (minutes):", chosen["per_notebook"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cpu_preset": preset, "latency_calls": CPU["latency_calls"],
                                    "anchor": anchor, "notebooks": len(catalogue.NOTEBOOKS),
                                    "timed_images": timed_images, "machine": machine,
                                    "speeds": {str(k): v for k, v in measured.items()},
                                    "projections": projections, "goal_minutes": GOAL_MINUTES},
                                   indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
