"""Check the ``cpu`` preset's projected time end to end, on a generated dataset of the real
dataset's size (6,899 images, the real class counts), with random weights frozen where ImageNet
weights would be (``ENSEMBLE_WEIGHTS=random``: the same compute; the members learn little).

It generates the dataset once into ``--target``, then runs ``benchmarks/peak_memory.py`` (the
whole series with ``python -m helpers.run``, measuring wall time and peak memory), and prints the
measured minutes beside ``benchmarks/training_cost.py``'s projection. Usage::

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

from training_cost import REAL_CLASS_COUNTS

from helpers import generated_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=Path, required=True)
    args = parser.parse_args()
    root = generated_dataset.ensure_demo_dataset(args.target / "generated_real_size",
                                                 images_per_class=REAL_CLASS_COUNTS)
    here = Path(__file__).parent
    env = {**os.environ, "ENSEMBLE_DATA_DIR": str(root), "ENSEMBLE_WEIGHTS": "random",
           "ENSEMBLE_PRESET": "cpu"}
    subprocess.run([sys.executable, str(here / "peak_memory.py"), "--preset", "cpu"], env=env,
                   check=True)
    memory = json.loads((here / "results" / "peak_memory_cpu.json").read_text())
    cost = json.loads((here / "results" / "training_cost.json").read_text())
    preset = cost["cpu_preset"]
    projected = next(p for p in cost["projections"]
                     if all(p[k] == v for k, v in preset.items()))["minutes"]
    result = {"images": sum(REAL_CLASS_COUNTS.values()), "measured_minutes": memory["seconds"] / 60,
              "projected_minutes": projected, "peak_total_bytes": memory["peak_total_bytes"],
              "weights": "random (frozen where ImageNet weights would be)"}
    (here / "results" / "real_size_run.json").write_text(json.dumps(result, indent=2))
    print(f"measured {result['measured_minutes']:.1f} min for the whole series, projected "
          f"{projected:.1f} min; peak memory {memory['peak_total_bytes'] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
