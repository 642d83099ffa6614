"""``benchmarks/seeds.py`` builds its table from the runs' JSON files as its docstring says: one
cell per seed with the difference and the verdict word, a family compared with several copies by
notebook 09's rule (range of the differences; better or worse only when every copy says so),
"held" only when every seed agrees, "n/a" rather than a crash where a run saved no such key (the
older runs), and 09's older shape (one own single model) read as a list of one. Hand-made
results, no training."""

import importlib.util

import pytest

from helpers.config import project_root


SPEC = importlib.util.spec_from_file_location(
    "seeds_benchmark", project_root() / "benchmarks" / "seeds.py")
seeds = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(seeds)


def compare(acc: float, acc_ci: tuple, nll: float | None = None, nll_ci: tuple = ()) -> dict:
    out = {"accuracy_diff": acc, "accuracy_ci95": list(acc_ci)}
    if nll is not None:
        out |= {"nll_ts_diff": nll, "nll_ts_ci95": list(nll_ci)}
    return out


BETTER, WORSE, UNSURE = (0.1, (0.05, 0.15)), (-0.1, (-0.15, -0.05)), (0.01, (-0.02, 0.04))


def run(deep=None, student_control=None, recommended="trio", member="mobilenet") -> dict:
    """One run's files; ``deep``: the deep ensemble's ``vs_own_single`` (and ``own_single``)."""
    deep = deep or ("copy 1", compare(*BETTER, -0.2, (-0.3, -0.1)))
    distillation = {"student_vs_member": compare(*UNSURE, 0.03, (-0.02, 0.09))}
    if student_control is not None:
        distillation |= {"student_vs_control": student_control, "control": "fc[mobilenet]"}
    return {"results": {"test_size": 100, "best_member": member, "best_ensemble": "fc",
                        "best_control": "fc[vgg16]",
                        "ensemble_vs_best_member": compare(*BETTER, -0.1, (-0.2, -0.05)),
                        "control_vs_member": compare(*BETTER, -0.1, (-0.2, -0.05)),
                        "ensemble_vs_control": compare(*UNSURE, -0.1, (-0.2, -0.05))},
            "results_distillation": distillation,
            "results_families": {
                "families": {"deep_ensemble": {"own_single": deep[0], "vs_own_single": deep[1]}},
                "seed_spread": {"pairs": {"copy 1 − copy 2": compare(0.05, (0.01, 0.09)),
                                          "copy 1 − copy 3": compare(0.0, (-0.04, 0.04))},
                                "told_apart": ["copy 1 − copy 2"]}},
            "results_summary": {"recommendation": {"choice": recommended}}}


def rows(table: dict) -> dict:
    return {row["row"]: row for row in table["rows"]}


def test_one_cell_per_seed_with_difference_interval_and_verdict():
    table = rows(seeds.build_table({123: run(), 42: run(), 7: run()}))
    row = table["06: ensemble − best member: accuracy"]
    assert list(row["cells"]) == ["123", "42", "7"]
    assert row["cells"]["42"]["text"] == "+0.100 [+0.050, +0.150] better"
    assert row["agreement"] == "held"
    calibrated = table["06: ensemble − best member: cal. log-loss"]["cells"]["7"]
    assert calibrated["verdict"] == "better"
    assert table["09: recommended"]["cells"]["123"]["text"] == "`trio`"
    pairs = table["09: copies of one recipe told apart"]["cells"]["7"]
    assert pairs["text"] == "1/2, largest 0.050" and pairs["verdict"] == "some told apart"


def test_a_verdict_that_changes_with_the_seed_varies():
    table = seeds.build_table({123: run(), 42: run(recommended="stacking", member="vgg16"),
                               7: run()})
    assert "09: recommended" in table["varies"] and "06: best member" in table["varies"]
    assert "06: ensemble − control: accuracy" in table["held"]


def test_missing_keys_read_n_a_and_never_held():
    old = run()
    del old["results_families"]["families"]["deep_ensemble"]["vs_own_single"]["accuracy_ci95"]
    table = seeds.build_table({1: old, 2: run(student_control=compare(*UNSURE)), 3: {}})
    by_row = rows(table)
    assert by_row["08: student − control: accuracy"]["cells"]["1"]["text"] == "n/a"
    assert by_row["09: deep_ensemble − own single: accuracy"]["cells"]["1"]["text"] == "n/a"
    assert by_row["09: stacking − own single: accuracy"]["agreement"] == "n/a"
    assert by_row["06: test images"]["cells"]["3"]["text"] == "n/a"
    assert not table["held"]  # the empty run has nothing: no row can have held
    assert by_row["08: student − control: accuracy"]["cells"]["2"]["verdict"] == "cannot tell"


def test_several_copies_give_the_range_and_09s_rule():
    all_better = (["copy 1", "copy 2", "copy 3"],
                  [compare(0.03, (0.01, 0.05)), compare(0.15, (0.1, 0.2)),
                   compare(0.08, (0.02, 0.12))])
    mixed = (["copy 1", "copy 2", "copy 3"],
             [compare(0.03, (-0.01, 0.07)), compare(0.15, (0.1, 0.2)),
              compare(0.08, (0.02, 0.12))])
    table = rows(seeds.build_table({1: run(all_better), 2: run(all_better), 3: run(mixed)}))
    row = table["09: deep_ensemble − own single: accuracy"]
    assert row["cells"]["1"]["text"] == "+0.030 to +0.150 better (vs each of 3)"
    assert row["cells"]["1"]["range"] == [0.03, 0.15]
    assert row["cells"]["3"]["verdict"] == "varies by copy"
    assert row["agreement"] == "varies"
    # no measure in these dicts: n/a, not a crash
    assert table["09: deep_ensemble − own single: cal. log-loss"]["cells"]["1"]["text"] == "n/a"


def test_renumbering_the_copies_changes_nothing_but_the_order():
    refs = ["copy 1", "copy 2", "copy 3"]
    compares = [compare(0.03, (-0.01, 0.07)), compare(-0.15, (-0.2, -0.1)),
                compare(0.08, (0.02, 0.12))]
    one = seeds.comparison(compares, refs, "accuracy", False)
    other = seeds.comparison(compares[::-1], refs[::-1], "accuracy", False)
    assert (one["verdict"], one["range"], one["text"]) == (
        other["verdict"], other["range"], other["text"])


def test_the_old_shape_is_a_list_of_one():
    table = rows(seeds.build_table({s: run() for s in (1, 2, 3)}))
    cell = table["09: deep_ensemble − own single: cal. log-loss"]["cells"]["2"]
    assert cell["text"] == "-0.200 [-0.300, -0.100] better (vs copy 1)"
    assert seeds.as_list({"a": 1}) == [{"a": 1}] and seeds.as_list(None) == []


@pytest.mark.parametrize("words, expected", [
    (["better"] * 3, "held"), (["cannot tell"] * 3, "held"), (["better", "worse", "better"],
                                                               "varies"),
    (["varies by copy"] * 3, "varies"), (["better", "n/a", "better"], "n/a")])
def test_agreement(words, expected):
    assert seeds.agreement(words) == expected


def test_markdown_names_data_settings_and_seeds():
    result = {"seeds": [123, 42, 7], "table": seeds.build_table({s: run() for s in (123, 42, 7)}),
              "runs": {s: {"seconds": 120.0} for s in ("123", "42", "7")},
              "settings": {"preset": "smoke", "image_size": 48, "max_per_class": None},
              "data": {"generated": False, "name": "photos", "images": 248},
              "code": {"commit": "0123456789", "changed": []}}
    text = "\n".join(seeds.markdown(result))
    assert "| comparison | seed 123 | seed 42 | seed 7 | across seeds |" in text
    assert "`photos` (248 images), preset `smoke`, seeds 123, 42, 7" in text
    assert "max_per_class=all" in text and "| run, minutes | 2.0 | 2.0 | 2.0 | |" in text
    assert all(len(line) < 100 for line in seeds.__doc__.splitlines())
