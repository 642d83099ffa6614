"""The benchmarks' tables, rendered from what they wrote to ``benchmarks/results/*.json``, with
the machine each ran on: every figure in benchmarks/README.md and in the main README's Performance
section is a measurement. ``python benchmarks/report.py`` prints the tables; ``--write`` updates
them in both files, between ``<!-- report.py: NAME -->`` and ``<!-- /report.py -->`` (NAME: a
result's name or ``summary``), and changes nothing else."""

import argparse
import json
import re
import runpy
from pathlib import Path


HERE = Path(__file__).parent
RESULTS = HERE / "results"
FILES = (HERE / "README.md", HERE.parent / "README.md", HERE.parent / "TEACHING.md")
MARKED = re.compile(r"(<!-- report\.py: (\w+) -->\n)(.*?)(<!-- /report\.py -->)", re.S)


def load(name: str) -> dict | None:
    return json.loads(path.read_text()) if (path := RESULTS / f"{name}.json").exists() else None


def machine(r: dict, short: bool = False) -> str:
    m = r["machine"]
    return (f"{m['cpu']} ({m['cores']} cores)" if short else
            f"Measured on: CPU {m['cpu']}, vector extension {m['vector_extension']}, "
            f"{m['cores']} cores; Python {m['python']}, NumPy {m['numpy']}, TensorFlow "
            f"{m['tensorflow']}, Keras {m['keras']}.")


def table(header: list[str], rows: list[list]) -> list[str]:
    return [" | ".join(["", *header, ""]).strip(), "|---" * len(header) + "|",
            *(" | ".join(["", *map(str, row), ""]).strip() for row in rows)]


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def describe(settings: dict) -> str:
    return "`" + ", ".join(f"{k}={'all' if v is None else v}" for k, v in settings.items()) + "`"


def input_pipeline(r: dict) -> list[str]:
    rows = [[name, *(f"{v:.0f}" for v in r[key])] for name, key in (("`tf.data` (the series)",
            "ours_img_per_s"), ("`ImageDataGenerator` (the original)", "original_img_per_s"))]
    return [*table(["loader", "images/s, epoch 1", "images/s, epoch 2"], rows), "",
            f"{r['images']} images from `{Path(r['data']).name}` at {r['image_size']} px: "
            f"{r['ratio_epoch1']:.1f}x in epoch 1, **{r['ratio_epoch2']:.1f}x** from epoch 2 "
            f"(goal {r['goal_ratio']:.0f}x: {verdict(r['ratio_epoch2'] >= r['goal_ratio'])})."]


def ensemble_fitting(r: dict) -> list[str]:
    rows = [[f"`{name}`", f"{c['end_to_end_s']:.1f}", f"{c['cached_s'] * 1000:.0f}",
             f"{c['ratio']:.0f}x", c["same_outputs"]] for name, c in r["combiners"].items()]
    met = all(c["ratio"] >= r["goal_ratio"] and c["same_outputs"] for c in r["combiners"].values())
    return [*table(["combiner", "end to end, s", "cached, ms", "ratio", "same outputs"], rows), "",
            f"One epoch over {r['validation_images']} random images at {r['image_size']} px "
            f"(goal {r['goal_ratio']}x with the same outputs: {verdict(met)})."]


def inference(r: dict) -> list[str]:
    rows = [[f"`{name}`", f"{m['latency_ms_batch1']:.1f}", f"{m['latency_ms_batch32']:.1f}",
             *(f"{m[k]:+.1%}" if k in m else "" for k in ("overhead_batch1", "overhead_batch32"))]
            for name, m in r["models"].items()]
    over = [v for m in r["models"].values() for k, v in m.items() if k.startswith("overhead")]
    return [*table(["model", "ms/image, batch 1", "ms/image, batch 32",
                    "over its members, batch 1", "batch 32"], rows), "",
            f"{r['image_size']} px, the median of {r['repeats']} rounds; largest overhead "
            f"{max(over):+.1%} (goal under {r['goal_overhead']:.0%}: "
            f"{verdict(max(over) < r['goal_overhead'])})."]


def smoke_headline(r: dict) -> str:
    return (f"All {len(r['per_notebook_s'])} notebooks through nbval, `smoke` preset, fresh "
            f"artifacts: **{r['suite_s']:.0f} s**, {r['ratio']:.2f}x the floor of as many fresh "
            f"kernels importing TensorFlow ({r['floor_s']:.0f} s; goal {r['goal_ratio']:.0f}x: "
            f"{verdict(r['ratio'] <= r['goal_ratio'])})")


def smoke_suite(r: dict) -> list[str]:
    rows = [[f"`{name}`", f"{s:.1f}"] for name, s in r["per_notebook_s"].items()]
    cells = [[f"`{c['cell']}`", f"{c['seconds']:.1f}"] for c in r["slowest_cells"]]
    return [*table(["notebook", "seconds, kernel start included"], rows), "",
            *table(["slowest cells", "seconds"], cells), "", smoke_headline(r) + "."]


def training_cost(r: dict) -> list[str]:
    out = []
    for size, speeds in r["speeds"].items():
        out += table([f"part, at {size} px", "images (or stored tensors) per second"],
                     [[f"`{k}`", f"{v:.0f}"] for k, v in speeds.items() if k != "params"]) + [""]
    preset, goal = r["cpu_preset"], r["goal_minutes"]
    rows = [[p["image_size"], p["max_per_class"] or "all", p["views"], p["shift_images"] or "all",
             f"{p['train_images']:,}", f"{p['minutes']:.1f}", p.get("anchored_minutes", ""),
             ("`cpu` preset, " if all(p[k] == v for k, v in preset.items()) else "")
             + ("within" if p["within_goal"] else "over")]
            for p in r["projections"]]
    out += table(["px", "training images per class", "stored views",
                  "test images per corrupted copy", "training images", "modelled min",
                  "anchored min", f"goal {goal} min"], rows)
    if a := r.get("anchor"):
        out += ["", f"Anchored minutes: {a['measured']:.1f} measured end to end "
                f"({describe(a['settings'])}) + the row's modelled minutes - "
                f"{a['modelled']:.1f} modelled for that run's settings."]
    return out


def cpu_headline(r: dict) -> str:
    return (f"The `cpu` preset on a generated dataset of the real size ({r['images']:,} images, "
            f"random weights where ImageNet weights would be): **{r['measured_minutes']:.1f} "
            f"min** end to end (goal {r['goal_minutes']} min: "
            f"{verdict(r['measured_minutes'] <= r['goal_minutes'])}), peak memory "
            f"**{gib(r['peak_total_bytes'])}**")


def real_size_run(r: dict) -> list[str]:
    modelled = r["projected_per_notebook_minutes"]
    rows = [[f"`{name}`", f"{modelled[name[:2]]:.1f}" if name[:2] in modelled else "-",
             f"{minutes:.1f}"] for name, minutes in r["measured_per_notebook_minutes"].items()]
    rows.append(["all", f"{r['projected_minutes']:.1f}", f"**{r['measured_minutes']:.1f}**"])
    return [*table(["notebook", "modelled minutes", "measured minutes"], rows), "",
            f"{cpu_headline(r)}; settings {describe(r['settings'])}."]


def afternoon(r: dict) -> list[str]:
    """Issue 33's table: minutes per notebook, both weight paths, the code before and after."""
    codes = [label for label in ("before", "after") if label in r["code"]]
    header = ["weights", "notebook", *(f"{label} (`{r['code'][label]}`)" for label in codes)]
    if len(codes) == 2:
        header.append("after / before")
    rows, cells = [], []
    def row(weights, name, values):
        ratio = [f"{values[1] / values[0]:.2f}"] if len(values) == 2 else []
        return [f"`{weights}`", name, *(f"{v:.1f}" for v in values), *ratio]

    for weights, path in r["paths"].items():
        for name in path["notebooks"][codes[-1]]:
            rows.append(row(weights, f"`{name}`", [path["notebooks"][c][name]["seconds"] / 60
                                          for c in codes]))
        rows.append(row(weights, "**05-09**", [path[f"afternoon_minutes_{c}"] for c in codes]))
        rows.append([f"`{weights}`", "01-04 (run once)",
                     *[f"{path['morning_minutes']:.1f}"] * len(codes), *[""][:len(codes) - 1]])
        rows.append(row(weights, "**whole series**", [path[f"series_minutes_{c}"] for c in codes]))
        for c in codes:
            heaviest = [f"`{name[:2]}` {s:.0f} s, {label}"
                        for name, nb in path["notebooks"][c].items()
                        for s, label in nb["heaviest_cells"][:2]]
            cells.append(f"- `{weights}`, {c}: {'; '.join(heaviest)}.")
    goals = []
    for weights, path in r["paths"].items():
        after = codes[-1]
        for scope, label in (("afternoon", "05-09"), ("series", "whole series")):
            goal = r["goals_minutes"][scope].get(weights)
            if goal is not None:
                measured = path[f"{scope}_minutes_{after}"]
                goals.append(f"{label} with `{weights}`: {measured:.1f} min (goal {goal:.0f}: "
                             f"{verdict(measured <= goal)})")
    return [*table(header, rows), "",
            f"The `cpu` preset on a generated dataset of the real size ({r['images']:,} images), "
            f"minutes; 01-04 ran once per weight path with `{r['code'][codes[-1]]}` and both "
            f"codes read their members. Goals: {'; '.join(goals)}.", "", *work(r),
            "The two heaviest cells of each notebook (seconds, the section's heading, cell id):",
            "", *cells]


def work(r: dict) -> list[str]:
    """Where 05-09's minutes go with the code measured (``afternoon.py``'s ``WORK``), and what
    the work the lesson needs takes alone, against the goal."""
    paths = {w: p["work_minutes_after"] for w, p in r["paths"].items() if "work_minutes_after" in p}
    if not paths:
        return []
    kinds = list(next(iter(paths.values())))
    rows = [[kind, *(f"{minutes[kind]:.1f}" for minutes in paths.values())] for kind in kinds]
    needed = [f"{sum(m for k, m in minutes.items() if k != 'the rest'):.1f} min with `{w}` "
              f"(goal {r['goals_minutes']['afternoon'][w]:.0f})" for w, minutes in paths.items()]
    return [*table([f"05-09 with `{r['code']['after']}`, by what the cells do (minutes)",
                    *(f"`{w}`" for w in paths)], rows), "",
            f"Training, predicting and timing alone, without the rest: {'; '.join(needed)}.", ""]


def peak_memory(r: dict) -> list[str]:
    data = f"`{Path(r['data_dir']).name}`" if r["data_dir"] else "generated for `smoke`"
    return table(["arguments", "data", "peak, runner and kernels", "largest process",
                  "seconds"], [[f"`{' '.join(r['arguments'])}`", data, gib(r["peak_total_bytes"]),
                                gib(r["peak_single_process_bytes"]), f"{r['seconds']:.0f}"]])


def stored_views(r: dict) -> list[str]:
    rows = [[way, f"{row['accuracy']:.3f}", f"{row['log_loss']:.3f}", f"{row['seconds']:.0f}"]
            for way, row in r["rows"].items()]
    return [*table([f"`{r['member']}` trained with", "validation accuracy", "log-loss", "seconds"],
                   rows), "",
            f"`{Path(r['data']).name}`: {r['training_images']} training and "
            f"{r['validation_images']} validation images at {r['image_size']} px, means over "
            f"{r['seeds']} seeds, weights {r['weights']}."]


def distillation_settings(r: dict) -> list[str]:
    rows = [[name, *(row.get(k, "") for k in ("alpha", "temperature", "epochs", "views")),
             *(f"{row[k]:.3f}" for k in ("accuracy", "nll", "nll_ts")),
             len(row.get("runs", [])) or "-"] for name, row in r["rows"].items()]
    s = r["settings"]
    return [*table(["student", "alpha", "T", "epochs", "views", "validation accuracy",
                    "log-loss", "after temperature scaling", "seeds"], rows), "",
            f"Teacher `{r['teacher']}`, student `{r['student']}` (weights `{s['weights']}`), "
            f"{s['image_size']} px, {r['validation_images']} validation images."]


def afternoon_headline(r: dict) -> str:
    after, before = r["code"]["after"], r["code"].get("before")
    parts = []
    for weights, path in r["paths"].items():
        goal = r["goals_minutes"]["afternoon"][weights]
        measured = path["afternoon_minutes_after"]
        was = (f", {path['afternoon_minutes_before']:.1f} with `{before}`'s code in the same run"
               if before else "")
        parts.append(f"**{measured:.1f} min** with `ENSEMBLE_WEIGHTS={weights}` (goal {goal:.0f}: "
                     f"{verdict(measured <= goal)}{was})")
    return (f"Notebooks 05-09 (what learners run on the day), `cpu` preset, real-size generated "
            f"data, code `{after}`: " + "; ".join(parts))


def teaching_times() -> list[str]:
    """TEACHING.md's minutes per notebook for both weight paths, from ``afternoon.json`` (the
    code measured there: ``after``)."""
    r = load("afternoon")
    if not r:
        return ["No result yet (`afternoon.json`)."]
    titles = {"random": "with ImageNet weights (random ones in their place: the same compute)",
              "none": "without ImageNet weights"}
    paths = r["paths"]

    def minutes(path: dict, numbers: tuple) -> str:
        seconds = sum(row["seconds"] for name, row in path.items() if name[:2] in numbers)
        return f"{seconds / 60:.1f}"

    groups = [("01-04: the instructor's run before the day", ("01", "02", "03", "04"), "morning"),
              *((f"`{name}`", (name[:2],), "after")
                for name in next(iter(paths.values()))["notebooks"]["after"]),
              ("07-09: the lunch-time run", ("07", "08", "09"), "after")]
    rows = [[label, *(minutes(p["morning"] if key == "morning" else p["notebooks"]["after"],
                              numbers) for p in paths.values())] for label, numbers, key in groups]
    return [*table(["notebooks", *(f"minutes {titles[w]}" for w in paths)], rows), "",
            f"Measured by `benchmarks/afternoon.py` (code `{r['code']['after']}`, the `cpu` "
            f"preset, a generated dataset of the real size). {machine(r)}"]


def summary() -> list[str]:
    """The main README's Performance lines: the headlines, each with its machine."""
    return [f"- {headline(r)}, on {machine(r, short=True)}." for headline, r in
            ((smoke_headline, load("smoke_suite")), (cpu_headline, load("real_size_run")),
             (afternoon_headline, load("afternoon"))) if r]


def one_core(r: dict) -> list[str]:
    rows = [[cores, " ".join(f"{s:.1f}" for s in r[key])] for cores, key in
            (("1", "seconds_one_core"), ("2", "seconds_two_cores"))]
    return [*table(["cores (`taskset`)", "seconds per run"], rows), "",
            f"{r['workload']}: {r['images']} random images at {r['image_size']} px, "
            f"{r['repeats']} runs each, alternately. One core takes **{r['factor']:.2f}x** the "
            f"median time of two (load average before and after: {' '.join(r['load_before'])}; "
            f"{' '.join(r['load_after'])})."]


BLOCKS = {"input_pipeline": input_pipeline, "ensemble_fitting": ensemble_fitting,
          "one_core": one_core, "inference": inference, "smoke_suite": smoke_suite,
          "training_cost": training_cost, "real_size_run": real_size_run,
          "stored_views": stored_views, "afternoon": afternoon,
          "distillation_settings": distillation_settings, "peak_memory_cpu": peak_memory}


def block(name: str) -> str:
    """The Markdown of block ``name``: a benchmark's table and its machine, or ``summary``."""
    if name in ("summary", "teaching_times"):
        return "\n".join(summary() if name == "summary" else teaching_times()) + "\n"
    if name not in BLOCKS and not name.startswith("seeds_"):
        raise ValueError(f"<!-- report.py: {name} --> names no table; use one of "
                         f"{', '.join(BLOCKS)}, seeds_<data>, summary or teaching_times.")
    r = load(name)
    rendered = BLOCKS.get(name) or runpy.run_path(str(HERE / "seeds.py"))["markdown"]
    lines = [*rendered(r), "", machine(r)] if r else [f"No result yet (`{name}.json`)."]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """``text`` with every marked block rendered again from the results."""
    return MARKED.sub(lambda m: m[1] + block(m[2]) + m[4], text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update the marked tables")
    if not parser.parse_args().write:
        return print("\n".join(f"## {name}\n\n{block(name)}" for name in [*BLOCKS, "summary"]))
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        if render(text) != text:
            path.write_text(render(text), encoding="utf-8")
            print(f"updated: {path}")


if __name__ == "__main__":
    main()
