"""Print the README's Performance section (Markdown) from the JSON files the benchmarks wrote
to ``benchmarks/results/``, so that every figure in the README comes from a measurement.

    python benchmarks/report.py
"""

from __future__ import annotations

import json
from pathlib import Path


RESULTS = Path(__file__).parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def goals() -> list[str]:
    rows = ["| # | benchmark | measured | goal | |", "|---|---|---|---|---|"]
    if r := load("input_pipeline"):
        rows.append(f"| 1 | input pipeline vs `ImageDataGenerator` ({r['images']} real images, {r['image_size']} px) "
                    f"| {r['ratio_epoch1']:.1f}x in epoch 1, **{r['ratio_epoch2']:.1f}x** from epoch 2 "
                    f"| 3x from epoch 2 | {verdict(r['ratio_epoch2'] >= 3)} |")
    if r := load("ensemble_fitting"):
        ratios = [c["ratio"] for c in r["combiners"].values()]
        same = all(c["same_outputs"] for c in r["combiners"].values())
        rows.append(f"| 2 | combiner epoch on cached outputs vs end-to-end ({r['validation_images']} validation "
                    f"images, {r['image_size']} px) | **{min(ratios):.0f}x to {max(ratios):.0f}x**; same outputs "
                    f"both ways: {same} | {r['goal_ratio']}x | {verdict(min(ratios) >= r['goal_ratio'] and same)} |")
    if r := load("inference"):
        over = [v for m in r["models"].values() for k, v in m.items() if k.startswith("overhead")]
        rows.append(f"| 3 | ensemble latency over the sum of its members ({r['image_size']} px, batch 1 and 32) "
                    f"| {min(over):+.1%} to {max(over):+.1%} | under {r['goal_overhead']:.0%} "
                    f"| {verdict(max(over) < r['goal_overhead'])} |")
    if r := load("smoke_suite"):
        rows.append(f"| 4 | smoke suite vs {len(r['floor_runs_s'])} kernels importing TensorFlow | {r['suite_s']:.1f} s / "
                    f"{r['floor_s']:.1f} s = **{r['ratio']:.2f}x** | {r['goal_ratio']:.0f}x "
                    f"| {verdict(r['ratio'] <= r['goal_ratio'])} |")
    if r := load("training_cost"):
        preset = r["cpu_preset"]
        chosen = next(p for p in r["projections"] if all(p[k] == v for k, v in preset.items()))
        rows.append(f"| 5 | `cpu` preset, all {r.get('notebooks', 6)} notebooks on the real dataset (projected; "
                    f"{preset['image_size']} px, {preset['max_per_class'] or 'all'} images per class, "
                    f"{preset['epochs']} epochs max) "
                    f"| **{chosen['minutes']:.0f} min** | {r['goal_minutes']} min "
                    f"| {verdict(chosen['minutes'] <= r['goal_minutes'])} |")
    return rows


def training() -> list[str]:
    r = load("training_cost")
    if not r:
        return []
    rows = ["| member | image size | training images/s | prediction images/s |", "|---|---|---|---|"]
    for size, members in r["speeds"].items():
        for name, s in members.items():
            rows.append(f"| {name} | {size} | {s['train_images_per_s']:.0f} | {s['predict_images_per_s']:.0f} |")
    size = next(iter(r["speeds"]))
    for name, s in r.get("trained_whole", {}).items():
        slower = r["speeds"][size][name]["train_images_per_s"] / s["train_images_per_s"]
        rows.append(f"| {name}, backbone trained whole ({slower:.1f}x slower; not used) | {size} | "
                    f"{s['train_images_per_s']:.1f} | {s['predict_images_per_s']:.0f} |")
    rows += ["", "| image size | images per class | epochs (max) | test images per corrupted copy (07) "
                 "| training images | projected minutes |", "|---|---|---|---|---|---|"]
    for p in r["projections"]:
        if p["max_per_class"] in (None, 300, 150, 100):
            rows.append(f"| {p['image_size']} | {p['max_per_class'] or 'all'} | {p['epochs']} | "
                        f"{p.get('shift_images') or 'all'} | {p['train_images']:,} | {p['minutes']:.0f} |")
    return rows


def memory() -> list[str]:
    rows = ["| preset | data | peak (runner + kernel) | largest process | wall time |", "|---|---|---|---|---|"]
    for preset in ("smoke", "cpu", "gpu"):
        if r := load(f"peak_memory_{preset}"):
            data = Path(r["data_dir"]).name if r.get("data_dir") else "generated demo"
            rows.append(f"| `{preset}` | {data} | {r['peak_total_bytes'] / 2**30:.2f} GiB | "
                        f"{r['peak_single_process_bytes'] / 2**30:.2f} GiB | {r['seconds']:.0f} s |")
    return rows


def main() -> None:
    print("\n".join(goals()))
    print()
    print("\n".join(training()))
    print()
    print("\n".join(memory()))


if __name__ == "__main__":
    main()
