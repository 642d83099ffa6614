"""How many stored views? Augmentation inside the model against K augmented views stored once.

VGG16's frozen part is most of the series' training time when augmentation runs inside the model:
every epoch pushes every training image through it again. Notebook 03 instead runs it once per
stored view (``helpers.lesson.vgg16``). This script trains the same VGG16 member both ways on
the same data and seeds, and reports validation accuracy and log-loss (validation data only) and
the seconds each way takes, so that the ``views`` setting of the presets is chosen by measurement::

    python benchmarks/stored_views.py --data-dir ../shared/data/natural_images_30px_sample

The member is built as notebook 03 builds it (``stand_ins.py``); random weights stand in for
ImageNet weights (offline), frozen where those would be, so the layers frozen, and the compute,
are those of the ``cpu`` preset. Writes ``benchmarks/results/stored_views.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import stand_ins

from helpers import callbacks, config, data, evaluation
from helpers.lesson import vgg16
from helpers.lesson.combiners import log_loss
from helpers.lesson.data_prep import stratified_split


def inside(settings, ds, seed: int) -> tuple[np.ndarray, float]:
    """Augmentation inside the model: the whole member fits on the image pipelines."""
    config.set_seed(seed)
    member = stand_ins.build("vgg16", settings, len(ds.class_names))
    member.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9),
                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    member.fit(ds.train, validation_data=ds.val, epochs=settings.epochs, shuffle=False, verbose=0,
               callbacks=callbacks.schedule(verbose=0))
    return evaluation.predict(member, ds.val), time.perf_counter() - start


def stored(settings, ds, views: int, seed: int) -> tuple[np.ndarray, float]:
    """``views`` stored views: the frozen bottom runs once per view, the head fits on its output."""
    config.set_seed(seed)
    bottom, head = stand_ins.frozen_parts("vgg16", settings, len(ds.class_names))
    member = vgg16.assemble_member(bottom, head, "vgg16", settings, "vgg16")
    start = time.perf_counter()
    extractor = vgg16.feature_extractor(bottom, "vgg16", settings)
    made = vgg16.augmented_views(ds.images("train"), views, seed=seed)
    train = data.array_dataset([vgg16.stored_features(extractor, made, "float16")],
                               np.tile(ds.labels("train"), views), settings.batch_size,
                               shuffle_seed=seed)
    val = data.array_dataset([vgg16.stored_features(extractor, ds.images("val"))],
                             ds.labels("val"), settings.batch_size)
    head.fit(train, validation_data=val, epochs=settings.epochs, shuffle=False, verbose=0,
             callbacks=callbacks.schedule(verbose=0))
    return evaluation.predict(member, ds.val), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--image-size", type=int, default=config.PRESETS["cpu"]["image_size"])
    parser.add_argument("--views", default="1,2,4,8")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=config.PRESETS["cpu"]["epochs"])
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "stored_views.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as artifacts:
        settings = stand_ins.settings_for("cpu", args.image_size,
                                          ENSEMBLE_DATA_DIR=str(args.data_dir.resolve()),
                                          ENSEMBLE_EPOCHS=str(args.epochs),
                                          ENSEMBLE_ARTIFACTS_DIR=artifacts)
        ds = data.load_data(settings, split_with=stratified_split)  # a fresh folder
        labels = ds.labels("val")
        ways = {f"augmentation inside the model, up to {settings.epochs} epochs": None}
        ways.update({f"{k} stored view{'s' if k > 1 else ''}": k
                     for k in map(int, args.views.split(","))})
        rows = {}
        for way, views in ways.items():
            runs = []
            for seed in range(settings.seed, settings.seed + args.seeds):
                probs, seconds = (inside(settings, ds, seed) if views is None
                                  else stored(settings, ds, views, seed))
                runs.append({"accuracy": evaluation.accuracy(labels, probs),
                             "log_loss": log_loss(labels, probs), "seconds": seconds})
            rows[way] = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
            print(f"{way:<52} " + "  ".join(f"{k} {v:.3f}" for k, v in rows[way].items()),
                  flush=True)
    result = {"data": str(args.data_dir), "image_size": args.image_size,
              "training_images": int(len(ds.labels("train"))), "validation_images": len(labels),
              "epochs": settings.epochs, "seeds": args.seeds, "member": "vgg16",
              "weights": "random, frozen as with ImageNet weights",
              "machine": stand_ins.machine(), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
