"""The README says what is true: the modules it tells you to run exist, its notebook table is the
catalogue's, and its preset table is ``config.PRESETS``."""

import importlib.util
import re

from helpers import catalogue, config
from helpers.config import project_root


ROOT = project_root()
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_notebook_table_lists_the_catalogue():
    rows = re.findall(r"^\| `(\d\d_\w+)` \|", README, re.M)
    assert tuple(rows) == catalogue.NOTEBOOKS


def test_every_module_the_readme_runs_exists():
    modules = set(re.findall(r"python -m (helpers(?:\.\w+)*)", README))
    assert modules, "the README runs no helpers command"
    missing = [name for name in sorted(modules) if importlib.util.find_spec(name) is None]
    assert not missing, f"the README runs modules that do not exist: {missing}"


def test_every_file_the_readme_names_exists():
    named = set(re.findall(r"`((?:helpers|notebooks|benchmarks|tests)/[\w./-]+\.\w+)`", README))
    missing = [name for name in sorted(named) if "NAME" not in name and not (ROOT / name).exists()]
    assert not missing, f"the README names files that do not exist: {missing}"


def test_the_preset_table_is_config_presets():
    """Each preset's row: data, image size, ImageNet weights, training images per class, stored
    views and epochs, as ``config.PRESETS`` sets them."""
    rows = {m[1]: [cell.strip() for cell in m[2].split("|")]
            for m in re.finditer(r"^\| `(\w+)` \|(.*)\|$", README, re.M)
            if m[1] in config.PRESETS}
    assert set(rows) == set(config.PRESETS), "the README's preset table lists every preset once"
    for name, (source, size, weights, per_class, _, views, epochs) in rows.items():
        row = config.PRESETS[name]
        assert (source == "generated") == row["generated_data"], name
        assert size == str(row["image_size"]), name
        assert weights.startswith("yes") == (row["weights"] == "imagenet"), name
        assert per_class.startswith("all" if row["max_per_class"] is None
                                    else str(row["max_per_class"])), name
        assert views == str(row["views"]), name
        assert epochs.split(",")[0] == str(row["epochs"]), name
