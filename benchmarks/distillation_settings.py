"""Which distillation settings let the student beat its member on **validation** data?

Notebook 08 trains one student with fixed settings. This script measures the alternatives on the
validation split only (never the test split), so the notebook's defaults are chosen like every
other setting of the series. Run notebooks 01-05 first with the same settings, then::

    ENSEMBLE_WEIGHTS=none ENSEMBLE_IMAGE_SIZE=64 python benchmarks/distillation_settings.py \\
        --data-dir ../shared/data/natural_images_30px_sample --preset cpu

Every student is the member's architecture (``helpers.members``) trained with the series'
callbacks (early stopping on the validation loss). The settings vary one at a time from notebook
08's: the weight of the labels (alpha), the temperature T, the epochs, and where the teacher's
targets come from: the un-augmented training images (the student sees augmented ones), or K
augmented views made once, on which the student then trains without further augmentation (for
as many passes over each image as the others: K views make each epoch K passes). A student with
alpha = 1 (labels only, same training loop) is the control, with the same epochs. Each setting runs with
several seeds, because on a few dozen validation images one seed says little.

Writes ``benchmarks/results/distillation_settings.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from helpers import artifacts, callbacks, config, data, ensembles, evaluation, members
from helpers.lesson.combiners import apply_temperature, fit_temperature, log_loss
from helpers.lesson.distillation import DistillationLoss, label_accuracy, pack_targets


STUDENT = "mobilenet"
#: (name, alpha, temperature, epochs factor, views): views 0 = targets from un-augmented images.
SETTINGS = (
    ("labels only (control)", 1.0, 4.0, 1, 0),
    ("notebook 08: alpha 0.5, T 4", 0.5, 4.0, 1, 0),
    ("alpha 0.9", 0.9, 4.0, 1, 0),
    ("alpha 0.1", 0.1, 4.0, 1, 0),
    ("T 1", 0.5, 1.0, 1, 0),
    ("T 2", 0.5, 2.0, 1, 0),
    ("twice the epochs", 0.5, 4.0, 2, 0),
    ("labels only, twice the epochs (control)", 1.0, 4.0, 2, 0),
    ("targets on 2 stored views", 0.5, 4.0, 1, 2),
    ("targets on stored views, one per epoch", 0.5, 4.0, 1, -1),
)


def training_callbacks(settings):
    """The members' learning-rate schedule and early stopping, without their file writers."""
    import keras

    return [c for c in callbacks.standard(settings, "distillation_probe")
            if isinstance(c, (keras.callbacks.ReduceLROnPlateau, keras.callbacks.EarlyStopping))]


def train_student(settings, ds, train_images, train_targets, val_targets, alpha, temperature,
                  epochs, augment, seed):
    import keras

    config.set_seed(seed)
    student = members.build(STUDENT, settings, len(ds.class_names), train_data=ds.train,
                            augment=augment)
    student.compile(optimizer=members.optimizer(STUDENT, settings),
                    loss=DistillationLoss(alpha=alpha, temperature=temperature),
                    metrics=[keras.metrics.MeanMetricWrapper(label_accuracy, name="accuracy")])
    train = data.array_dataset([train_images.astype("float32")], train_targets,
                               batch_size=settings.batch_size, shuffle_seed=seed)
    val_images = np.concatenate([x.numpy() for x, _ in ds.val])
    val = data.array_dataset([val_images], val_targets, batch_size=settings.batch_size)
    start = time.perf_counter()
    student.fit(train, validation_data=val, epochs=epochs, verbose=0,
                callbacks=training_callbacks(settings))
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
    args = parser.parse_args()
    env = dict(os.environ)
    if args.preset:
        env["ENSEMBLE_PRESET"] = args.preset
    if args.data_dir:
        env["ENSEMBLE_DATA_DIR"] = str(args.data_dir.resolve())
    settings = config.load(env)
    print(settings, "\n")
    ds = data.load_data(settings)
    member_models = {n: artifacts.load_model(settings, n) for n in artifacts.MEMBER_NAMES}
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
            stored = data.augmented_views(originals, views, seed=settings.seed)
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
        rows[name]["runs"] = runs
        print(f"{name:<42} " + "  ".join(f"{k} {rows[name][k]:.3f}"
                                         for k in ("accuracy", "nll", "nll_ts", "seconds")))
    out = Path(__file__).parent / "results" / "distillation_settings.json"
    if args.only and out.exists():  # add to the rows measured before
        rows = {**json.loads(out.read_text())["rows"], **rows}
    out.write_text(json.dumps({"settings": settings.as_dict(), "student": STUDENT,
                               "teacher": teacher, "validation_images": int(len(val_labels)),
                               "seeds": args.seeds, "rows": rows}, indent=2, default=str))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
