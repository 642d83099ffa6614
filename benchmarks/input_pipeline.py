"""Benchmark 1: the project's tf.data loader against the original's
``ImageDataGenerator.flow_from_directory``, same folder, same image size, same batch size.

Prints images per second in the first and the second epoch and their ratio (goal: ours at least
3x faster from the second epoch, when its cache serves the decoded images), and writes
``benchmarks/results/input_pipeline.json`` (or ``--out``). Usage::

    python benchmarks/input_pipeline.py [--data-dir DIR] [--image-size 128] [--out FILE]

Without --data-dir it uses the generated dataset.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import stand_ins

from helpers import config, data


GOAL_RATIO = 3.0


def images_per_second(iterate, n_images: int) -> float:
    start = time.perf_counter()
    iterate()
    return n_images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=stand_ins.RESULTS / "input_pipeline.json")
    args = parser.parse_args()
    settings = config.load({"ENSEMBLE_PRESET": "smoke"})
    root = data.locate_dataset(args.data_dir) if args.data_dir else data.dataset_root(settings)
    scan = data.scan(root)
    files = [p for name in scan.class_names for p in scan.files[name]]
    labels = [i for i, name in enumerate(scan.class_names) for _ in scan.files[name]]
    n = len(files)

    ours = data.make_dataset(files, labels, args.image_size, args.batch_size, training=True)
    ours_epochs = [images_per_second(lambda: [None for _ in ours], n) for _ in range(2)]

    # The original's loader, for comparison only: Keras 3 keeps it as a legacy API.
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    generator = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory(
        str(root), target_size=(args.image_size, args.image_size), batch_size=args.batch_size,
        shuffle=True)
    steps = len(generator)
    original_epochs = [images_per_second(lambda: [generator[i] for i in range(steps)], n)
                       for _ in range(2)]

    result = {"images": n, "image_size": args.image_size, "data": str(root),
              "machine": stand_ins.machine(),
              "ours_img_per_s": ours_epochs, "original_img_per_s": original_epochs,
              "ratio_epoch1": ours_epochs[0] / original_epochs[0],
              "ratio_epoch2": ours_epochs[1] / original_epochs[1], "goal_ratio": GOAL_RATIO}
    print(f"{'loader':<28} {'epoch 1 img/s':>14} {'epoch 2 img/s':>14}")
    print(f"{'tf.data (this project)':<28} {ours_epochs[0]:>14.0f} {ours_epochs[1]:>14.0f}")
    print(f"{'ImageDataGenerator':<28} {original_epochs[0]:>14.0f} {original_epochs[1]:>14.0f}")
    print(f"ratio: {result['ratio_epoch1']:.1f}x in epoch 1, "
          f"{result['ratio_epoch2']:.1f}x in epoch 2")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
