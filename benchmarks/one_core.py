"""Benchmark: how much slower a laptop with fewer cores runs the series' heaviest steps, measured
rather than assumed. The same small workload (one training epoch of the custom CNN, and VGG16's
frozen part over stored views, at the ``cpu`` preset's 128 px) runs in fresh processes pinned with
``taskset`` to one core and to two, alternately, several times; the factor is the ratio of the
median times, recorded with the machine's load before and after (a busy machine flatters one
core). TEACHING.md uses it for a laptop slower than the machine the times were measured on.

Writes ``benchmarks/results/one_core.json`` (or ``--out``). Linux only (``taskset``). Usage::

    python benchmarks/one_core.py [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import stand_ins


IMAGES, IMAGE_SIZE = 256, 128
WORKLOAD = f"""
import time
from helpers import quiet_tensorflow
quiet_tensorflow()
import keras
import stand_ins
from helpers.lesson import vgg16

settings = stand_ins.settings_for("cpu", {IMAGE_SIZE})
keras.utils.set_random_seed(0)
images, labels = stand_ins.random_images({IMAGES}, {IMAGE_SIZE})
cnn = stand_ins.build("custom_cnn", settings)
bottom, _ = stand_ins.frozen_parts("vgg16", settings)
extractor = vgg16.feature_extractor(bottom, "vgg16", settings)
cnn.fit(images[:32], labels[:32], epochs=1, batch_size=32, verbose=0)  # builds the graphs
vgg16.stored_features(extractor, images[:32])
start = time.perf_counter()
cnn.fit(images, labels, epochs=1, batch_size=32, shuffle=False, verbose=0)
vgg16.stored_features(extractor, images)
print(time.perf_counter() - start)
"""


def timed(cores: str) -> float:
    """Seconds of the workload in a fresh process pinned to ``cores`` (``taskset -c``)."""
    done = subprocess.run(["taskset", "-c", cores, sys.executable, "-c", WORKLOAD],
                          capture_output=True, text=True, cwd=Path(__file__).parent, check=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" /
                        "one_core.json")
    args = parser.parse_args()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    seconds = {"1": [], "0,1": []}
    for _ in range(args.repeats):  # alternately, so a busy spell weighs on both
        for cores in seconds:
            seconds[cores].append(timed(cores))
    one, two = (statistics.median(seconds[c]) for c in ("1", "0,1"))
    result = {"date": datetime.now().isoformat(timespec="seconds"), "images": IMAGES,
              "image_size": IMAGE_SIZE, "repeats": args.repeats,
              "workload": "one epoch of the custom CNN and VGG16's frozen part over the images",
              "seconds_one_core": seconds["1"], "seconds_two_cores": seconds["0,1"],
              "factor": one / two, "machine": stand_ins.machine(),
              # other processes' load (1, 5, 15 minutes): on a busy machine both runs share
              # their cores with them, which flatters one core
              "load_before": load_before,
              "load_after": Path("/proc/loadavg").read_text().split()[:3]}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"one core {one:.1f} s, two cores {two:.1f} s: factor {one / two:.2f}")


if __name__ == "__main__":
    main()
