"""benchmarks/README.md, made from the JSON files the benchmarks wrote to ``benchmarks/results/``,
so that every figure in it is a measurement and none is typed in::

    python benchmarks/report.py              # print benchmarks/README.md
    python benchmarks/report.py --write      # write it (tests/test_benchmarks_readme.py checks it)
    python benchmarks/report.py --summary    # the main README's Performance lines (``summary()``)

It reads only JSON, the presets (``helpers.config``) and notebook 08's settings: no TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from helpers import catalogue, config


HERE = Path(__file__).parent
RESULTS = HERE / "results"
README = HERE / "README.md"
#: The memory of the laptops the ``cpu`` preset is meant for.
LAPTOP_GB = 8
#: Where the results that do not record their machine were measured (from the sessions' notes).
UNRECORDED_MACHINES = {
    "input_pipeline": "an AMD EPYC with AVX2 (an early session)",
    "ensemble_fitting": "an AMD EPYC with AVX2 (an early session)",
    "inference": "an AMD EPYC with AVX2 (an early session)",
    "peak_memory_smoke": "an AMD EPYC with AVX2 (an early session)",
    "stored_views": "a machine with AVX-512 (a later session)",
    "distillation_settings": "a machine with AVX-512 (a later session)",
    "smoke_suite": "the machine of the end-to-end checks",
    "training_cost": "the machine of the end-to-end checks",
    "peak_memory_cpu": "the machine of the end-to-end checks (its latest run)",
}
#: What a result's file does not say about when it was measured.
HISTORY = {"peak_memory_smoke": "measured before notebooks 07 to 09 and the stored views existed"}


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def checks() -> list[tuple[str, dict]]:
    """Every end-to-end check (``real_size_run*.json``), oldest first: the latest is
    ``real_size_run.json``, earlier ones were kept under other names."""
    names = sorted(p.stem for p in RESULTS.glob("real_size_run*.json"))
    names.sort(key=lambda name: name == "real_size_run")
    return [(name, load(name)) for name in names]


def current_preset(keys) -> dict:
    """The ``cpu`` preset's values of ``keys`` (corruptions as a count, as the checks record)."""
    preset = {**config.PRESETS["cpu"], "corruptions": len(config.PRESETS["cpu"]["corruptions"])}
    return {key: preset[key] for key in keys}


def preset_row(cost: dict, preset: dict) -> dict | None:
    return next((p for p in cost["projections"] if all(p[k] == v for k, v in preset.items())),
                None)


def describe(settings: dict) -> str:
    """``{"max_per_class": 100, ...}`` in words."""
    words = {"image_size": "{} px", "max_per_class": "{} training images per class",
             "epochs": "{} epochs max", "views": "{} stored views",
             "shift_images": "{} test images per corrupted copy",
             "latency_calls": "{} latency calls", "corruptions": "{} corruption types"}
    return ", ".join(words[k].format("all" if v is None else v) for k, v in settings.items()
                     if k in words)


def changed(old: dict, new: dict) -> dict:
    return {k: v for k, v in new.items() if k in old and old[k] != v}


def minutes_of(row: dict) -> float:
    return row.get("anchored_minutes", row["minutes"])


# ---------- tables


def goals() -> list[str]:
    rows = ["| # | benchmark | measured | goal | |", "|---|---|---|---|---|"]
    if r := load("input_pipeline"):
        rows.append(f"| 1 | input pipeline vs `ImageDataGenerator` ({r['images']} real images, "
                    f"{r['image_size']} px) | {r['ratio_epoch1']:.1f}x in epoch 1, "
                    f"**{r['ratio_epoch2']:.1f}x** from epoch 2 | 3x from epoch 2 "
                    f"| {verdict(r['ratio_epoch2'] >= 3)} |")
    if r := load("ensemble_fitting"):
        ratios = [c["ratio"] for c in r["combiners"].values()]
        same = all(c["same_outputs"] for c in r["combiners"].values())
        rows.append(f"| 2 | combiner epoch on cached outputs vs end-to-end "
                    f"({r['validation_images']} validation images, {r['image_size']} px) "
                    f"| **{min(ratios):.0f}x to {max(ratios):.0f}x**; same outputs both ways: "
                    f"{same} | {r['goal_ratio']}x "
                    f"| {verdict(min(ratios) >= r['goal_ratio'] and same)} |")
    if r := load("inference"):
        over = [v for m in r["models"].values() for k, v in m.items() if k.startswith("overhead")]
        rows.append(f"| 3 | ensemble latency over the sum of its members ({r['image_size']} px, "
                    f"batch 1 and 32) | {min(over):+.1%} to {max(over):+.1%} "
                    f"| under {r['goal_overhead']:.0%} "
                    f"| {verdict(max(over) < r['goal_overhead'])} |")
    if r := load("smoke_suite"):
        rows.append(f"| 4 | smoke suite vs {len(r['floor_runs_s'])} kernels importing TensorFlow "
                    f"| {r['suite_s']:.1f} s / {r['floor_s']:.1f} s = **{r['ratio']:.2f}x** "
                    f"| {r['goal_ratio']:.0f}x | {verdict(r['ratio'] <= r['goal_ratio'])} |")
    cost = load("training_cost")
    if cost:
        recorded = cost["cpu_preset"]
        now = current_preset(recorded)
        for preset, when in ((recorded, "when projected"), (now, "now")):
            if when == "now" and preset == recorded:
                break
            row = preset_row(cost, preset)
            if row is None:
                continue
            how = (f"projected, anchored to the end-to-end run at "
                   f"{cost['anchor']['settings']['max_per_class']} images per class"
                   if "anchored_minutes" in row else "projected")
            label = "" if preset == now else f" {when}"
            rows.append(f"| 5 | `cpu` preset{label}, all {cost['notebooks']} notebooks on the real "
                        f"dataset ({how}; {describe(preset)}, {cost['latency_calls']} latency "
                        f"calls) | **{minutes_of(row):.1f} min** | {cost['goal_minutes']} min "
                        f"| {verdict(minutes_of(row) <= cost['goal_minutes'])} |")
    goal_minutes = cost["goal_minutes"] if cost else None
    for _, r in checks():
        rows.append(f"| 5 | end-to-end check on a generated dataset of the real size "
                    f"({r['images']:,} images; {describe(r['settings'])}): measured against the "
                    f"model's projection on the same machine "
                    f"| **{r['measured_minutes']:.1f} min** against {r['projected_minutes']:.1f} "
                    f"| {goal_minutes} min | {verdict(r['measured_minutes'] <= goal_minutes)} |")
    return rows


SPEED_NAMES = {
    "custom_cnn_train": "custom CNN, training (augmentation inside)",
    "custom_cnn_predict": "custom CNN, prediction",
    "vgg16_bottom": "VGG16, frozen bottom once per image or view",
    "vgg16_head_train": "VGG16, head training on stored tensors",
    "vgg16_head_predict": "VGG16, head prediction on stored tensors",
    "vgg16_predict": "VGG16, whole member prediction",
    "mobilenet_bottom": "MobileNet, frozen bottom once per image or view",
    "mobilenet_head_train": "MobileNet, head training on stored tensors",
    "mobilenet_head_predict": "MobileNet, head prediction on stored tensors",
    "mobilenet_predict": "MobileNet, whole member prediction",
    "mobilenet_whole_train": "MobileNet trained whole (no ImageNet weights)",
}


def speeds() -> list[str]:
    r = load("training_cost")
    if not r:
        return []
    rows = ["| part | image size | images (or stored tensors) per second |", "|---|---|---|"]
    for size, measured in r["speeds"].items():
        for key, name in SPEED_NAMES.items():
            rows.append(f"| {name} | {size} | {measured[key]:.0f} |")
    return rows


def training() -> list[str]:
    """The speeds, then the projection of every lever."""
    r = load("training_cost")
    if not r:
        return []
    recorded = r["cpu_preset"]
    now = current_preset(recorded)
    anchored = any("anchored_minutes" in p for p in r["projections"])
    assumptions = (f"Every row: {recorded['epochs']} epochs at most, {r['latency_calls']} latency "
                   "calls per model and batch size.")
    if anchored:
        a = r["anchor"]
        assumptions += (f" Anchored minutes = {a['measured']:.1f} (measured by the end-to-end "
                        f"check at {a['settings']['max_per_class']} images per class, "
                        f"{a['settings']['latency_calls']} latency calls) + the row's projected "
                        f"minutes - {a['modelled']:.1f} (projected for that check's settings "
                        "from these speeds).")
    rows = speeds() + ["", assumptions, "",
                       "| image size | training images per class | stored views "
                       "| test images per corrupted copy (07, 09) | training images "
                       "| projected minutes " + ("| anchored to the end-to-end run |"
                                                  if anchored else "|"),
                       "|---|---|---|---|---|---|" + ("---|" if anchored else "")]
    for p in r["projections"]:
        mark = ""
        if all(p[k] == v for k, v in now.items()):
            mark = " (the `cpu` preset)" if now == recorded else " (the `cpu` preset now)"
        elif all(p[k] == v for k, v in recorded.items()):
            mark = " (the `cpu` preset when projected)"
        row = (f"| {p['image_size']} | {p['max_per_class'] or 'all'} | {p['views']} | "
               f"{p.get('shift_images') or 'all'} | {p['train_images']:,} | {p['minutes']:.1f}")
        if anchored:
            row += f" | {p['anchored_minutes']:.1f}"
        rows.append(row + f"{mark} |")
    return rows


def stored_views() -> list[str]:
    r = load("stored_views")
    if not r:
        return []
    rows = ["| VGG16 trained with | validation accuracy | validation log-loss | seconds |",
            "|---|---|---|---|"]
    for way, row in r["rows"].items():
        rows.append(f"| {way} | {row['accuracy']:.3f} | {row['log_loss']:.3f} | "
                    f"{row['seconds']:.0f} |")
    return rows


#: Row names of the first measurement, as the table shows them now (notebook 08 has changed).
DISTILLATION_LABELS = {"notebook 08: alpha 0.5, T 4": "alpha 0.5, T 4"}
#: The setting the script's variations start from (``distillation_settings.SETTINGS``).
BASE_ALPHA, BASE_TEMPERATURE = 0.5, 4.0


def notebook_constant(notebook: str, name: str) -> float | None:
    """A number a notebook sets in a code cell (``NAME = 0.9``), read from the notebook file."""
    path = catalogue.BY_NAME[notebook].path
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    found = re.search(rf"^{name} = ([0-9.]+)", code, re.M)
    return float(found.group(1)) if found else None


def distillation_setting(name: str, row: dict) -> tuple[float, float] | None:
    """(alpha, T) of a row trained for the notebook's epochs on targets from the images; None for
    the others (the member, twice the epochs, stored views)."""
    if "alpha" in row:
        same_loop = row.get("views") == 0 and "epochs" not in name
        return (row["alpha"], row["temperature"]) if same_loop else None
    if any(word in name for word in ("member", "epochs", "views")):
        return None
    alpha = re.search(r"alpha ([0-9.]+)", name)
    temperature = re.search(r"\bT ([0-9.]+)", name)
    return (1.0 if name.startswith("labels only") else
            float(alpha.group(1)) if alpha else BASE_ALPHA,
            float(temperature.group(1)) if temperature else BASE_TEMPERATURE)


def notebook_08_setting() -> tuple[float | None, float | None]:
    return (notebook_constant("08_distillation", "ALPHA"),
            notebook_constant("08_distillation", "TEMPERATURE"))


def distillation_label(name: str, row: dict) -> str:
    label = DISTILLATION_LABELS.get(name, name)
    setting = distillation_setting(name, row)
    alpha, temperature = notebook_08_setting()
    if setting == (alpha, temperature):
        if "T " not in label and not label.startswith("labels only"):
            label += f", T {temperature:g}"
        label += " (notebook 08's setting)"
    return label


def distillation_settings() -> list[str]:
    r = load("distillation_settings")
    if not r:
        return []
    rows = ["| student | validation accuracy | log-loss | log-loss after temperature scaling |",
            "|---|---|---|---|"]
    for name, row in r["rows"].items():
        rows.append(f"| {distillation_label(name, row)} | {row['accuracy']:.3f} | "
                    f"{row['nll']:.3f} | {row['nll_ts']:.3f} |")
    return rows


def end_to_end() -> list[str]:
    """The latest end-to-end check, notebook by notebook: the model's minutes against measured."""
    r = load("real_size_run")
    if not r or "measured_per_notebook_minutes" not in r:
        return []
    modelled = r["projected_per_notebook_minutes"]
    rows = ["| notebook | modelled minutes | measured minutes |", "|---|---|---|"]
    for name, minutes in r["measured_per_notebook_minutes"].items():
        model = modelled.get(name[:2])
        rows.append(f"| `{name}` | {'-' if model is None else f'{model:.1f}'} | {minutes:.1f} |")
    rows.append(f"| all | {modelled['total']:.1f} | {r['measured_minutes']:.1f} |")
    return rows


def data_label(result: dict) -> str:
    """The data of a memory measurement, in words."""
    if not result.get("data_dir"):
        return "generated demo"
    name = Path(result["data_dir"]).name
    check = load("real_size_run")
    if name == "generated_real_size" and check:
        return f"generated, the real dataset's size ({check['images']:,} images)"
    return name


def memory() -> list[str]:
    rows = ["| preset | data | peak (runner + kernel) | largest process | wall time |",
            "|---|---|---|---|---|"]
    for preset in config.PRESET_NAMES:
        if r := load(f"peak_memory_{preset}"):
            rows.append(f"| `{preset}` | {data_label(r)} | {gib(r['peak_total_bytes'])} | "
                        f"{gib(r['peak_single_process_bytes'])} | {r['seconds']:.0f} s |")
    return rows


def smoke_notebooks() -> list[str]:
    r = load("smoke_suite")
    if not r:
        return []
    rows = ["| notebook | seconds (kernel start included) |", "|---|---|"]
    rows += [f"| `{name}` | {seconds:.1f} |" for name, seconds in r["per_notebook_s"].items()]
    rows += ["", "| slowest cells | seconds |", "|---|---|"]
    rows += [f"| `{c['cell']}` | {c['seconds']:.1f} |" for c in r["slowest_cells"]]
    return rows


def machines() -> list[str]:
    rows = ["| result | measured on |", "|---|---|"]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        where = r.get("machine") or UNRECORDED_MACHINES.get(path.stem, "not recorded")
        if "machine" not in r and where.startswith("the machine of the end-to-end checks"):
            latest = load("real_size_run")
            where += f": {latest['machine']}" if latest else ""
        rows.append(f"| `{path.name}` | {where} |")
    return rows


# ---------- prose


def notes() -> list[str]:
    """The goals' notes, numbered as the goals table's rows."""
    out = []
    if r := load("input_pipeline"):
        first = ("slower" if r["ratio_epoch1"] < 1 else "faster")
        out.append(
            "1. **Input pipeline** (`input_pipeline.py`): from the second epoch the decoded images "
            f"come from the in-memory cache. In the first epoch our loader was {first} than the "
            f"original's on these {r['image_size']} px images"
            + (" (it builds its graph and resizes with antialiasing); on full-size photos "
               "decoding dominates both." if first == "slower" else "."))
    if r := load("ensemble_fitting"):
        cached_ms = max(c["cached_s"] for c in r["combiners"].values()) * 1000
        slowest = ""
        if (lat := load("inference")) is not None:
            member = max(catalogue.MEMBER_NAMES,
                         key=lambda m: lat["models"][m]["latency_ms_batch32"])
            slowest = f" (`{member}` dominates: see benchmark 3)"
        same = all(c["same_outputs"] for c in r["combiners"].values())
        out.append(
            f"2. **Ensemble fitting** (`ensemble_fitting.py`): end to end, every epoch pushes each "
            f"of the {r['validation_images']} images through all three members{slowest}; on "
            f"cached outputs an epoch took at most {cached_ms:.0f} ms. "
            + ("Both paths gave the same outputs for the same combiner weights. " if same else
               "**The two paths gave different outputs.** ")
            + "Notebook 05 prints the same ratio for your data.")
    if r := load("inference"):
        over = [v for m in r["models"].values() for k, v in m.items() if k.startswith("overhead")]
        cheaper = (" Every ensemble was even a little cheaper than its members called one by one: "
                   "one compiled graph runs the three members with one call's overhead."
                   if max(over) < 0 else "")
        out.append(
            f"3. **Inference** (`inference.py`): each model timed as one compiled function, the "
            f"median of {r['repeats']} rounds in which every model runs once (so a machine that "
            f"slows down during the run affects all models alike). An ensemble costs what its "
            f"members cost.{cheaper}")
    if r := load("smoke_suite"):
        n = len(r["per_notebook_s"])
        met = r["ratio"] <= r["goal_ratio"]
        out.append(
            f"4. **Smoke suite** (`smoke_suite.py`): the {n} notebooks from fresh artifacts, "
            f"against as many fresh kernels that only import TensorFlow. The goal of "
            f"{r['goal_ratio']:.0f}x was set when the series had fewer notebooks; it is "
            + ("met. " if met else f"**not met** by {r['ratio'] / r['goal_ratio'] - 1:.0%}. ")
            + "Beyond the floor, the time goes to loading and compiling the saved models, to "
            "training and to the passes over the corrupted copies; the section below lists the "
            "slowest cells. The solutions notebooks are not part of this benchmark (`pytest` "
            "runs them).")
    if r := load("training_cost"):
        out.append(training_note(r))
    return out


def training_note(r: dict) -> str:
    sizes = " and ".join(r["speeds"])
    text = (f"5. **Training cost** (`training_cost.py`): images (or stored tensors) per second of "
            f"every part at {sizes} px (random images; each speed the median of several timed "
            f"passes over {r['timed_images']} images), then the projected time of all "
            f"{r['notebooks']} notebooks on the real dataset for each lever: training images per "
            "class, stored views, test images per corrupted copy. The script's docstring lists "
            "what it counts, notebook by notebook; it counts every epoch up to the maximum (early "
            "stopping often ends sooner) and leaves out JPEG decoding, corrupting images, kernel "
            "starts, notebook 05's cross-fitting (of the combiners and their one-member controls), "
            "loading the models and Python's overhead per call.")
    recorded = r["cpu_preset"]
    views = load("stored_views")
    if views:
        best = best_stored_views(views)
        four = preset_row(r, {**recorded, "views": best[1]}) if best else None
        if best and best[1] != recorded["views"] and four:
            text += (f"\n\n   The `cpu` preset uses {recorded['views']} stored views; {best[0]} "
                     "measured best among the ways cheaper than augmentation inside the model "
                     f"(Stored views, below), but are projected at {minutes_of(four):.1f} min, "
                     + ("beyond" if minutes_of(four) > r["goal_minutes"] else "within")
                     + " the goal on the machine of that measurement.")
    if r.get("anchor"):
        a = r["anchor"]
        text += ("\n\n   The projection is also **anchored** to an end-to-end check (below), "
                 "because the model alone falls short of it: anchored minutes are the minutes "
                 "that check measured plus the model's difference between a row's settings and "
                 "the check's. This takes the model's shortfall as a fixed number of minutes, "
                 "which stretches for rows far from the check (all images, more views). The "
                 "anchor is the check recorded in `results/real_size_run.json` when "
                 f"`training_cost.py` ran: here the one at {describe(a['settings'])}.")
        for _, check in checks():
            if check["settings"] == a["settings"] and check["projected_minutes"] != a["modelled"]:
                text += (" For that check's settings the model gave "
                         f"{check['projected_minutes']:.1f} min from the speeds measured just "
                         f"before it and {a['modelled']:.1f} "
                         "min from the speeds in the table below: the machine's speed varies "
                         "between measurements.")
                if check.get("note"):
                    text += f" The check's file adds: \"{check['note']}\"."
        latest = load("real_size_run")
        if latest and changed(a["settings"], latest["settings"]):
            text += (" Rerunning `training_cost.py` now would anchor it to the latest check "
                     f"({describe(changed(a['settings'], latest['settings']))}).")
    now = current_preset(recorded)
    if now != recorded:
        row = preset_row(r, now)
        text += (f"\n\n   The projection was made for the `cpu` preset of its day; the preset now "
                 f"has {describe(changed(recorded, now))}")
        if row:
            text += (f", projected at **{minutes_of(row):.1f} min** "
                     + ("(anchored) " if "anchored_minutes" in row else "")
                     + f"from the same speeds, {verdict(minutes_of(row) <= r['goal_minutes'])}"
                     " against the goal")
        text += (". `python benchmarks/training_cost.py --reuse-speeds` projects again from the "
                 "stored speeds, in seconds, with what the notebooks do now.")
    return text


def best_stored_views(r: dict) -> tuple[str, int] | None:
    """The stored-views row with the lowest validation log-loss among those that took less time
    than augmentation inside the model, and its number of views."""
    inside = [row for way, row in r["rows"].items() if "inside" in way]
    cheaper = {way: row for way, row in r["rows"].items() if "inside" not in way
               and (not inside or row["seconds"] < inside[0]["seconds"])}
    if not cheaper:
        return None
    way = min(cheaper, key=lambda w: cheaper[w]["log_loss"])
    return way, int(way.split()[0])


def end_to_end_prose() -> list[str]:
    found = checks()
    if not found:
        return []
    cost = load("training_cost")
    goal = cost["goal_minutes"] if cost else None
    latest = found[-1][1]
    text = ("`python benchmarks/real_size_run.py --target DIR` generates a dataset of the real "
            f"one's size ({latest['images']:,} images in the real class counts), measures the "
            "speeds on it with `training_cost.py`, runs the whole series on it in the `cpu` "
            "preset with random weights frozen where ImageNet weights would be (the same compute, "
            "offline), and records each notebook's minutes and the peak memory. It overwrites "
            "`results/real_size_run.json`: keep an earlier check under another name "
            "(`real_size_run_*.json`).")
    previous = None
    for i, (_, r) in enumerate(found):
        first = "The first check" if i == 0 else "The next check" if i < len(found) - 1 else \
            "The latest check"
        what = (f"at {describe(r['settings'])}" if previous is None
                else f"after the preset changed to {describe(changed(previous, r['settings']))}")
        over = r["measured_minutes"] > goal if goal else False
        text += (f" {first}, {what}, measured {r['measured_minutes']:.1f} min against "
                 f"{r['projected_minutes']:.1f} projected just before on the same machine ("
                 + (f"beyond the {goal}-minute goal" if over else f"within the {goal}-minute goal")
                 + ").")
        previous = r["settings"]
    out = [text]
    if "measured_per_notebook_minutes" in latest:
        modelled = latest["projected_per_notebook_minutes"]
        gaps = {name: minutes - modelled[name[:2]]
                for name, minutes in latest["measured_per_notebook_minutes"].items()
                if name[:2] in modelled and not name.startswith("05")}
        largest = sorted(gaps, key=gaps.get, reverse=True)[:2]
        out += ["", "Notebook by notebook, the latest check against the model's projection:", "",
                *end_to_end(), "",
                "The model leaves out notebook 05's cross-fitting (each combiner fitted once "
                "per fold and once more on all of validation), "
                "the models' loading and Python's overhead per call, which explains 05's row; "
                "where the rest of the difference comes from ("
                f"{' and '.join(f'`{name}`' for name in largest)} above "
                "all) was not measured. That is why the projections are anchored to a "
                "measurement (note 5)."]
    return out


def stored_views_prose() -> list[str]:
    r = load("stored_views")
    if not r:
        return []
    ks = [way.split()[0] for way in r["rows"] if "inside" not in way]
    text = (f"`stored_views.py` trained VGG16's top on a sample of the real photos "
            f"(`{Path(r['data']).name}`: {r['training_images']} training and "
            f"{r['validation_images']} validation images, {r['image_size']} px, random weights "
            f"standing in, {r['seeds']} seeds, up to {r['epochs']} epochs) with augmentation "
            f"inside the model against {', '.join(ks[:-1])} and {ks[-1]} stored views; "
            "validation scores are the means over the seeds, seconds the training time.")
    best = best_stored_views(r)
    if best:
        presets = config.PRESETS
        text += (f" {best[0].capitalize()} gave the best validation log-loss among the ways that "
                 "cost less than augmentation inside the model; the presets use "
                 + ", ".join(f"{presets[p]['views']} (`{p}`)" for p in config.PRESET_NAMES)
                 + ", the `cpu` preset fewer to stay within its time goal (note 5).")
    return [text]


def distillation_prose() -> list[str]:
    r = load("distillation_settings")
    if not r:
        return []
    rows = r["rows"]
    recorded = [name for name, row in rows.items() if isinstance(row.get("runs"), list)]
    seeds = {len(rows[name]["runs"]) for name in recorded}
    text = (f"`distillation_settings.py` distilled the chosen ensemble (`{r['teacher']}`) into "
            f"a student of the member's architecture (`{r['student']}`, weights "
            f"`{r['settings']['weights']}`) on a sample of the real photos "
            f"({r['settings']['image_size']} px, {r['validation_images']} validation images). "
            "Alpha is the weight of the labels' cross-entropy in the loss (1 - alpha that of the "
            "teacher's softened targets), T the temperature; T was varied at the base alpha "
            "only.")
    if recorded and len(recorded) < len(rows) - 1:
        text += (f" The rows with per-seed results in the file are means over "
                 f"{' or '.join(map(str, sorted(seeds)))} seeds; the others come from an earlier "
                 "run whose per-seed results were not kept.")
    alpha, temperature = notebook_08_setting()
    same = {name: row for name, row in rows.items() if distillation_setting(name, row)}
    control = next((n for n in same if n.startswith("labels only")), None)
    if same and control:
        best = min(same, key=lambda n: same[n]["nll_ts"])
        diff = same[control]["nll_ts"] - same[best]["nll_ts"]
        text += (f" Notebook 08 uses alpha {alpha:g} and T {temperature:g}. Among the settings "
                 "trained for the notebook's number of epochs, the lowest log-loss after "
                 f"temperature scaling came from \"{distillation_label(best, same[best])}\": "
                 f"{same[best]['nll_ts']:.3f}, {diff:.3f} below the labels-only control; with "
                 f"{r['validation_images']} validation images, a difference of that size is "
                 "within the noise.")
    twice = rows.get("twice the epochs")
    twice_control = rows.get("labels only, twice the epochs (control)")
    base = next((row for name, row in same.items()
                 if distillation_setting(name, row) == (BASE_ALPHA, BASE_TEMPERATURE)), None)
    if twice and twice_control and base and control:
        both = (twice["nll_ts"] < base["nll_ts"]
                and twice_control["nll_ts"] < same[control]["nll_ts"])
        ahead = twice_control["nll_ts"] < twice["nll_ts"]
        text += (" With twice the epochs "
                 + ("both improve" if both else "they do not both improve")
                 + " and the " + ("control" if ahead else "distilled student")
                 + f" comes out ahead ({min(twice['nll_ts'], twice_control['nll_ts']):.3f} "
                 f"against {max(twice['nll_ts'], twice_control['nll_ts']):.3f})"
                 + (": on this sample, distillation's gain is not shown." if ahead else "."))
    return [text]


def memory_prose() -> list[str]:
    text = ("`peak_memory.py` runs `python -m helpers.run` with the given arguments and samples "
            "the resident memory of the runner and its kernels, summed, several times a second.")
    cpu, latest = load("peak_memory_cpu"), load("real_size_run")
    if cpu and latest and abs(cpu["seconds"] / 60 - latest["measured_minutes"]) < 1e-6:
        text += (" The `cpu` row is the latest end-to-end check's run "
                 f"({describe(latest['settings'])}, the whole validation and test splits)")
        fits = cpu["peak_total_bytes"] < LAPTOP_GB * 1e9
        text += (f", which fits a laptop with {LAPTOP_GB} GB." if fits
                 else f", more than a laptop with {LAPTOP_GB} GB holds.")
    for name, history in HISTORY.items():
        if name.startswith("peak_memory_") and load(name):
            text += f" The `{name.removeprefix('peak_memory_')}` row was {history}."
    return [text]


def sizing_prose() -> list[str]:
    """How the ``cpu`` preset's settings were chosen (the main README's presets table says what
    they are)."""
    cost = load("training_cost")
    if not cost:
        return []
    sizes = cost["projections"][0]
    val, test = sizes["val_images"], sizes["test_images"]
    held_out = f"{val:,} images each" if val == test else f"{val:,} and {test:,} images"
    text = [
        "The final comparisons of the series are made on the test split (every choice before "
        "them on validation data), so in every preset but `smoke` the split is cut from the "
        "**whole** dataset: validation and test are the dataset's own "
        f"{held_out}, and "
        "`ENSEMBLE_MAX_PER_CLASS` caps only the **training** images. Scoring an image costs one "
        "forward pass of each member, so large validation and test splits are cheap; training "
        "is what costs.",
        "",
        "Training costs less than it used to because a frozen part runs only **once per "
        "image**. VGG16 (and MobileNet with ImageNet weights) keep most of their layers frozen, "
        "yet with augmentation inside the model those layers ran again on every training image "
        "in every epoch, the bulk of the series' time. Notebooks 03 and 04 run the frozen part "
        "once per **stored view** (a few augmented copies of each training image, made once) "
        "and train the layers above on the stored tensors (Keras' \"fast feature extraction\", "
        "with augmentation kept); the stored views section below measured how many views pay.",
        "",
    ]
    caps = sorted({p["max_per_class"] for p in cost["projections"] if p["max_per_class"]},
                  reverse=True)
    recorded = cost["cpu_preset"]
    others = {k: v for k, v in recorded.items() if k != "max_per_class"}
    within = [p["max_per_class"] for p in cost["projections"]
              if all(p[k] == v for k, v in others.items()) and p["max_per_class"]
              and minutes_of(p) <= cost["goal_minutes"]]
    sentence = ("The savings are spent on data: `training_cost.py` measures every part's speed "
                "and projects the whole series for each lever. Of the caps it tries (all, "
                f"{', '.join(map(str, caps))} training images per class), ")
    if within and max(within) == recorded["max_per_class"]:
        sentence += (f"the `cpu` preset took the largest whose projection stays within the "
                     f"{cost['goal_minutes']}-minute goal ({recorded['max_per_class']}, with "
                     f"{describe(others)}).")
    else:
        sentence += (f"none kept the `cpu` preset's projection ({describe(others)}) within the "
                     f"{cost['goal_minutes']}-minute goal; it uses {recorded['max_per_class']}.")
    now = current_preset(recorded)
    if now != recorded:
        others_now = {k: v for k, v in now.items() if k != "max_per_class"}
        within_now = [p["max_per_class"] for p in cost["projections"]
                      if all(p[k] == v for k, v in others_now.items()) and p["max_per_class"]
                      and minutes_of(p) <= cost["goal_minutes"]]
        sentence += (f" With the preset's {describe(changed(recorded, now))} now, "
                     + (f"the largest such cap is {max(within_now)}." if within_now
                        else "none of these caps stays within the goal (note 5)."))
    sentence += (" `real_size_run.py` then checks the projection end to end. On a GPU the `gpu` "
                 "preset uses all the images.")
    return [*text, sentence]


def summary() -> list[str]:
    """A few lines of Markdown for the main README's Performance section."""
    lines = []
    if r := load("smoke_suite"):
        lines.append(f"- `python -m helpers.run --preset smoke` (all {len(r['per_notebook_s'])} "
                     f"notebooks, fresh artifacts): **{r['suite_s']:.0f} s** on {r['machine']}, "
                     f"{r['ratio']:.2f}x "
                     f"its floor of as many fresh kernels importing TensorFlow "
                     f"({r['floor_s']:.0f} s); goal {r['goal_ratio']:.0f}x, "
                     f"{verdict(r['ratio'] <= r['goal_ratio'])}.")
    found = checks()
    cost = load("training_cost")
    if found:
        r = found[-1][1]
        memory_note = ""
        if (cpu := load("peak_memory_cpu")) and abs(cpu["seconds"] / 60
                                                     - r["measured_minutes"]) < 1e-6:
            memory_note = f", peak memory **{gib(cpu['peak_total_bytes'])}**"
        goal = (f" (goal {cost['goal_minutes']} min: "
                f"{verdict(r['measured_minutes'] <= cost['goal_minutes'])} on that machine)"
                if cost else "")
        lines.append(f"- The `cpu` preset, all notebooks on a generated dataset of the real size "
                     f"({r['images']:,} images; {describe(r['settings'])}): "
                     f"**{r['measured_minutes']:.1f} min** end to end on {r['machine']}"
                     f"{goal}{memory_note}.")
        slower = [c for _, c in found[:-1] if c["machine"] != r["machine"]
                  and c["settings"]["max_per_class"] == r["settings"]["max_per_class"]
                  and c["measured_minutes"] > r["measured_minutes"]]
        if slower:
            c = slower[-1]
            lines.append(f"  An earlier check with {describe(changed(r['settings'], c['settings']))}"
                         f" took **{c['measured_minutes']:.1f} min** on {c['machine']}: machines"
                         " differ in speed by up to four times, so allow for more than the"
                         " figure above.")
        differs = changed(r["settings"], current_preset(r["settings"]))
        same_calls = cost and cost["latency_calls"] == config.PRESETS["cpu"]["latency_calls"]
        if differs and same_calls and (row := preset_row(cost,
                                                         current_preset(cost["cpu_preset"]))):
            how = "anchored to an end-to-end check" if "anchored_minutes" in row else "modelled"
            lines.append(f"- The preset now has {describe(differs)}: projected at "
                         f"**{minutes_of(row):.1f} min** ({how}), goal "
                         f"{verdict(minutes_of(row) <= cost['goal_minutes'])}; not yet measured "
                         "end to end.")
    lines.append("- Method, machines, every benchmark and its tables: "
                 "[benchmarks/README.md](benchmarks/README.md).")
    return lines


# ---------- the file


def section(title: str, *parts: list[str]) -> list[str]:
    out = [f"## {title}", ""]
    for part in parts:
        if part:
            out += [*part, ""]
    return out


def readme() -> str:
    benchmarks = [
        "- `input_pipeline.py` (goal 1): the series' `tf.data` loader against the original "
        "tutorial's `ImageDataGenerator.flow_from_directory` on the same folder, image size and "
        "batch size, in images per second in the first and the second epoch. "
        "`python benchmarks/input_pipeline.py --data-dir DIR` (without it: the generated demo "
        "dataset).",
        "- `ensemble_fitting.py` (goal 2): one training epoch of each learned combiner end to end "
        "(the three members run again on every batch, the original's way) against one epoch on "
        "the members' cached outputs, and a check that both give the same outputs. "
        "`python benchmarks/ensemble_fitting.py`.",
        "- `inference.py` (goal 3): the latency per image of each member and each kind of "
        "ensemble at batch sizes 1 and 32, and each ensemble's overhead over the sum of its "
        "members'. `python benchmarks/inference.py`.",
        "- `smoke_suite.py` (goal 4): the whole series in the `smoke` preset from fresh "
        "artifacts against its floor, as many fresh kernels that only import TensorFlow; it "
        "also records each notebook's time and the slowest cells. "
        "`python benchmarks/smoke_suite.py`.",
        "- `training_cost.py` (goal 5): images per second of every part of the series, and the "
        "projected minutes of the `cpu` preset and of its levers on the real dataset's size. "
        "`python benchmarks/training_cost.py` (`--reuse-speeds` projects again from the stored "
        "speeds, in seconds).",
        "- `real_size_run.py` (goal 5): the end-to-end check of that projection, the whole "
        "series in the `cpu` preset on a generated dataset of the real dataset's size, with "
        "its wall time and peak memory. `python benchmarks/real_size_run.py --target DIR`"
        + (f" (the last check took {latest['measured_minutes']:.0f} min)."
           if (latest := load("real_size_run")) else "."),
        "- `peak_memory.py`: wall time and peak memory of a whole run of "
        "`python -m helpers.run`, which gets its arguments. "
        "`python benchmarks/peak_memory.py --preset smoke`.",
        "- `stored_views.py`: validation scores and training time of VGG16 trained with "
        "augmentation inside the model against K stored views; it chose the presets' `views`. "
        "`python benchmarks/stored_views.py --data-dir DIR`.",
        "- `distillation_settings.py`: which distillation settings let notebook 08's student "
        "beat its member on validation data; run notebooks 01-05 first with the same settings. "
        "`python benchmarks/distillation_settings.py --data-dir DIR`.",
        "",
        "`stand_ins.py` is no benchmark: it builds the members as notebooks 02-04 do, with "
        "random weights frozen where ImageNet weights would be (`ENSEMBLE_WEIGHTS=random`: the "
        "same compute, no download), for the benchmarks that time models.",
        "",
        "Run them from the repository's root in the project's environment; each takes `--help`, "
        "and all but `real_size_run.py` take `--out FILE` to write their JSON elsewhere (for a "
        "trial run). After rerunning one, run `python benchmarks/report.py --write` and paste "
        "`python benchmarks/report.py --summary` into the main README's Performance section "
        "(`tests/test_readme.py` checks it).",
    ]
    intro = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python benchmarks/report.py --write` from benchmarks/results/*.json;"
        " do not edit by hand. -->",
        "",
        "The scripts in this folder measure what the series costs on a machine without a GPU "
        "and check the speed the series relies on: how fast the input pipeline and the cached "
        "combiners are, what an ensemble costs at inference, how long the `smoke` suite and the "
        "`cpu` preset take, and how much memory they need. Each prints a table and writes its "
        "result as JSON to `results/`; this file is generated from those files by "
        "`python benchmarks/report.py --write`, so every figure in it is a measurement "
        "(`tests/test_benchmarks_readme.py` fails when the file differs from what the script "
        "generates). Ratios are measured within one run and never asserted in tests.",
    ]
    machines_text = [
        "All figures were measured on this project's machines: two CPU cores, no GPU, and a "
        "speed that differs from one session to the next, so compare figures within one "
        "benchmark rather than across. Where the benchmarks build the members, random weights "
        "stand in for ImageNet weights (the same compute with the same layers frozen). A result "
        "is as old as its last run: rerun a benchmark after changing what it measures.",
    ]
    lines = [*intro, ""]
    lines += section("The benchmarks", benchmarks)
    lines += section("The machines", machines_text, machines())
    lines += section("The goals", goals(), ["Notes:", "", *notes()])
    lines += section("How the `cpu` preset was sized", sizing_prose())
    lines += section("The end-to-end check", end_to_end_prose())
    lines += section("Speeds and the `cpu` preset's levers", training())
    lines += section("The smoke suite, notebook by notebook", smoke_notebooks())
    lines += section("Stored views", stored_views_prose(), stored_views())
    lines += section("Distillation settings", distillation_prose(), distillation_settings())
    lines += section("Peak memory", memory_prose(), memory())
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"write {README.name}")
    parser.add_argument("--summary", action="store_true",
                        help="print the main README's Performance lines instead")
    args = parser.parse_args()
    if args.summary:
        print("\n".join(summary()))
    elif args.write:
        README.write_text(readme(), encoding="utf-8")
        print(f"written: {README}")
    else:
        print(readme(), end="")


if __name__ == "__main__":
    main()
