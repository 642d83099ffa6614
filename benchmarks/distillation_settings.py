"""Which distillation settings let the student beat its member on **validation** data?

Notebook 08 trains one student with fixed settings. This script measures the alternatives on the
validation split only (never the test split), so the notebook's defaults are chosen like every
other setting of the series. Run notebooks 01-05 first with the same settings, then::

    ENSEMBLE_WEIGHTS=none ENSEMBLE_IMAGE_SIZE=64 python benchmarks/distillation_settings.py \\
        --data-dir ../shared/data/natural_images_30px_sample --preset cpu

Every student is the member's architecture as notebook 08 builds it (``helpers.lesson.mobilenet``)
trained with the series' schedule (``callbacks.schedule``: early stopping on the validation loss).
Without ImageNet weights (``ENSEMBLE_WEIGHTS=none``, as measured) the whole network trains; with
a frozen bottom (ImageNet weights or ``random``) the assembled member trains on images, so its
bottom runs in every epoch (notebook 08 runs it once per stored view instead; what is learned is
the same).

The settings vary one at a time from alpha 0.5 and T 4: the weight of the labels (alpha), the
temperature T, the epochs, and where the teacher's targets come from: the un-augmented training
images (the student sees augmented ones), or K augmented views made once, on which the student
then trains without further augmentation (for as many passes over each image as the others: K
views make each epoch K passes). A student with alpha = 1 (labels only, same training loop) is
the control, with the same epochs. Each setting runs with several seeds, because on a few dozen
validation images one seed says little.

Writes ``benchmarks/results/distillation_settings.json`` (or ``--out``; with ``--only`` the rows
are added to that file's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import stand_ins

from helpers import artifacts, callbacks, catalogue, config, data, ensembles, evaluation
from helpers.lesson import vgg16
from helpers.lesson.combiners import apply_temperature, fit_temperature, log_loss
from helpers.lesson.distillation import DistillationLoss, label_accuracy, pack_targets
from helpers.lesson.mobilenet import is_bottom_frozen, mobilenet_from_scratch, mobilenet_parts


STUDENT = "mobilenet"
#: (name, alpha, temperature, epochs factor, views): views 0 = targets from un-augmented images.
SETTINGS = (
    ("labels only (control)", 1.0, 4.0, 1, 0),
    ("alpha 0.5, T 4", 0.5, 4.0, 1, 0),
    ("alpha 0.9", 0.9, 4.0, 1, 0),
    ("alpha 0.1", 0.1, 4.0, 1, 0),
    ("T 1", 0.5, 1.0, 1, 0),
    ("T 2", 0.5, 2.0, 1, 0),
    ("twice the epochs", 0.5, 4.0, 2, 0),
    ("labels only, twice the epochs (control)", 1.0, 4.0, 2, 0),
    ("targets on 2 stored views", 0.5, 4.0, 1, 2),
    ("targets on stored views, one per epoch", 0.5, 4.0, 1, -1),
)


def without_augmentation(model, frozen: bool):
    """The same layers and weights without the augmentation after the input, for training on
    views made beforehand; a frozen member's nested models stay in inference mode, as
    ``vgg16.assemble_member`` calls them."""
    import keras

    names = [layer.name for layer in model.layers]
    images = keras.Input(shape=model.input_shape[1:], name="image")
    x = images
    for layer in model.layers[names.index("augmentation") + 1:]:
        x = layer(x, training=False) if frozen and isinstance(layer, keras.Model) else layer(x)
    return keras.Model(images, x, name=model.name)


def student_model(settings, ds, augment: bool):
    """Notebook 08's student, uncompiled, and a fresh copy of the optimizer notebook 08 gives it:
    MobileNet from scratch without ImageNet weights, else the member assembled from its frozen
    bottom and head."""
    n_classes = len(ds.class_names)
    frozen = is_bottom_frozen(settings)
    if frozen:
        bottom, head = mobilenet_parts(settings, n_classes, name="student_head")
        model = vgg16.assemble_member(bottom, head, STUDENT, settings, "student")
        optimizer = head.optimizer
    else:
        model = mobilenet_from_scratch(settings, n_classes, train_data=ds.train, name="student")
        optimizer = model.optimizer
    if not augment:
        model = without_augmentation(model, frozen)
    return model, type(optimizer).from_config(optimizer.get_config())


def train_student(settings, ds, train_images, train_targets, val_targets, alpha, temperature,
                  epochs, augment, seed):
    import keras

    config.set_seed(seed)
    student, optimizer = student_model(settings, ds, augment)
    student.compile(optimizer=optimizer,
                    loss=DistillationLoss(alpha=alpha, temperature=temperature),
                    metrics=[keras.metrics.MeanMetricWrapper(label_accuracy, name="accuracy")])
    train = data.array_dataset([train_images.astype("float32")], train_targets,
                               batch_size=settings.batch_size, shuffle_seed=seed)
    val_images = np.concatenate([x.numpy() for x, _ in ds.val])
    val = data.array_dataset([val_images], val_targets, batch_size=settings.batch_size)
    start = time.perf_counter()
    student.fit(train, validation_data=val, epochs=epochs, shuffle=False, verbose=0,
                callbacks=callbacks.schedule(verbose=0))
    return evaluation.predict(student, ds.val), time.perf_counter() - start


def validation_scores(labels, probs) -> dict:
    """Accuracy, log-loss, and log-loss after a temperature fitted on half the images and
    applied to the other half (both ways), so the temperature never sees what it scores."""
    halves = np.arange(len(labels)) % 2
    calibrated = np.empty_like(probs)
    for half in (0, 1):
        fit_on, apply_to = halves != half, halves == half
        t = fit_temperature(labels[fit_on], probs[fit_on])
        calibrated[apply_to] = apply_temperature(probs[apply_to], t)
    return {"accuracy": evaluation.accuracy(labels, probs), "nll": log_loss(labels, probs),
            "nll_ts": log_loss(labels, calibrated)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only", help="run only the settings whose names contain this text")
    parser.add_argument("--out", type=Path,
                        default=stand_ins.RESULTS / "distillation_settings.json")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.preset:
        env["ENSEMBLE_PRESET"] = args.preset
    if args.data_dir:
        env["ENSEMBLE_DATA_DIR"] = str(args.data_dir.resolve())
    settings = config.load(env)
    print(settings, "\n")
    ds = data.load_data(settings)
    member_models = {n: artifacts.load_model(settings, n) for n in catalogue.MEMBER_NAMES}
    teacher = artifacts.load_selection(settings)["ensemble"]
    heads = {teacher: artifacts.load_combiner(settings, teacher)}
    teacher_val = artifacts.load_predictions(settings, teacher)
    t_teacher = fit_temperature(teacher_val["val_labels"], teacher_val["val_probs"])
    val_labels = ds.labels("val")
    val_targets = pack_targets(val_labels, apply_temperature(teacher_val["val_probs"], t_teacher))

    train_labels = ds.labels("train")
    in_order = data.make_dataset(ds.files("train"), train_labels, settings.image_size,
                                 settings.batch_size, training=False)
    originals = np.concatenate([x.numpy() for x, _ in in_order]).astype(np.uint8)

    def teacher_targets(images):
        probs = ensembles.all_probabilities(member_models, heads, images)[teacher]
        return apply_temperature(probs, t_teacher)

    sources = {0: (originals, pack_targets(train_labels, teacher_targets(originals)))}
    member_val = artifacts.load_predictions(settings, STUDENT)["val_probs"]
    rows = {"member (notebook 04)": validation_scores(val_labels, member_val)}
    print(f"teacher {teacher}; member {STUDENT}: {rows['member (notebook 04)']}")
    for name, alpha, temperature, factor, views in SETTINGS:
        if args.only and args.only not in name:
            continue
        views = settings.epochs if views == -1 else views
        if views not in sources:
            stored = vgg16.augmented_views(originals, views, seed=settings.seed)
            sources[views] = (stored, pack_targets(np.tile(train_labels, views),
                                                   teacher_targets(stored)))
        images, targets = sources[views]
        # the same number of training passes per image: K views make each epoch K passes
        epochs = max(1, round(settings.epochs * factor / max(views, 1)))
        runs = []
        for seed in range(settings.seed, settings.seed + args.seeds):
            probs, seconds = train_student(settings, ds, images, targets, val_targets, alpha,
                                           temperature, epochs, augment=views == 0, seed=seed)
            runs.append({**validation_scores(val_labels, probs), "seconds": seconds})
        rows[name] = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
        rows[name].update(alpha=alpha, temperature=temperature, epochs=epochs, views=views,
                          runs=runs)
        print(f"{name:<42} " + "  ".join(f"{k} {rows[name][k]:.3f}"
                                         for k in ("accuracy", "nll", "nll_ts", "seconds")))
    out = args.out
    if args.only and out.exists():  # add to the rows measured before
        rows = {**json.loads(out.read_text())["rows"], **rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    recorded = {k: v for k, v in dataclasses.asdict(settings).items() if k != "overrides"}
    out.write_text(json.dumps({"settings": recorded, "student": STUDENT,
                               "teacher": teacher, "validation_images": int(len(val_labels)),
                               "seeds": args.seeds, "machine": stand_ins.machine(),
                               "rows": rows}, indent=2, default=str))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
