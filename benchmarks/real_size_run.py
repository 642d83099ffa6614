"""Check the ``cpu`` preset's projected time end to end, on a generated dataset of the real
dataset's size (6,899 images, the real class counts), with random weights frozen where ImageNet
weights would be (``ENSEMBLE_WEIGHTS=random``: the same compute; the members learn little).

It generates the dataset once into ``--target``, measures this machine's speeds with
``benchmarks/training_cost.py`` (machines differ in speed, so the projection must come from the
same machine, just before), then runs
``benchmarks/peak_memory.py`` (the whole series with ``python -m helpers.run``, measuring wall time
and peak memory), and prints the measured minutes beside the projection. Usage::

    python benchmarks/real_size_run.py --target /tmp/natural_images_real_size

Writes ``benchmarks/results/real_size_run.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import stand_ins
from training_cost import GOAL_MINUTES

from helpers import catalogue, config, generated_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=Path, required=True)
    args = parser.parse_args()
    root = generated_dataset.ensure_generated_dataset(args.target / "generated_real_size",
                                                      images_per_class=catalogue.CLASS_COUNTS)
    here = Path(__file__).parent
    subprocess.run([sys.executable, str(here / "training_cost.py")], check=True)
    env = {**os.environ, "ENSEMBLE_DATA_DIR": str(root), "ENSEMBLE_WEIGHTS": "random",
           "ENSEMBLE_PRESET": "cpu", "ENSEMBLE_ARTIFACTS_DIR": str(args.target / "artifacts")}
    subprocess.run([sys.executable, str(here / "peak_memory.py"), "--preset", "cpu"], env=env,
                   check=True)
    memory = json.loads((stand_ins.RESULTS / "peak_memory_cpu.json").read_text())
    cost = json.loads((stand_ins.RESULTS / "training_cost.json").read_text())
    preset = cost["cpu_preset"]
    chosen = next(p for p in cost["projections"] if all(p[k] == v for k, v in preset.items()))
    projected = chosen["minutes"]
    result = {"images": sum(catalogue.CLASS_COUNTS.values()), "machine": stand_ins.machine(),
              "settings": {**preset, "latency_calls": cost["latency_calls"],
                           "corruptions": len(config.PRESETS["cpu"]["corruptions"])},
              "measured_minutes": memory["seconds"] / 60, "projected_minutes": projected,
              "projected_per_notebook_minutes": chosen["per_notebook"],
              "peak_total_bytes": memory["peak_total_bytes"],
              "peak_single_process_bytes": memory["peak_single_process_bytes"],
              "weights": "random (frozen where ImageNet weights would be)",
              "goal_minutes": GOAL_MINUTES}
    timings = sorted((args.target / "artifacts").rglob("timings.json"),
                     key=lambda path: path.stat().st_mtime)
    if timings:
        seconds = json.loads(timings[-1].read_text())["seconds"]
        result["measured_per_notebook_minutes"] = {name: round(value / 60, 2)
                                                   for name, value in seconds.items()}
    (stand_ins.RESULTS / "real_size_run.json").write_text(json.dumps(result, indent=2))
    print(f"measured {result['measured_minutes']:.1f} min for the whole series, projected "
          f"{projected:.1f} min; peak memory {memory['peak_total_bytes'] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
