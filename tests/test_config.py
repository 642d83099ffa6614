import random

import numpy as np
import pytest

from helpers import config


BASE = {"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": "/tmp/a"}


@pytest.mark.parametrize("preset", config.PRESET_NAMES)
def test_every_preset_loads_its_table_row_into_settings(preset):
    """Each preset's settings are its row of ``config.PRESETS``; only ``smoke`` needs no data."""
    s = config.load({**BASE, "ENSEMBLE_PRESET": preset})
    row = config.PRESETS[preset]
    assert all(getattr(s, key) == value for key, value in row.items()
               if key not in ("generated_data", "needs_gpu"))
    assert s.uses_generated_data == row["generated_data"]
    assert s.keras_weights == ("imagenet" if s.weights == "imagenet" else None)
    assert (not s.notes()) == (not s.uses_generated_data and s.weights == "imagenet")
    assert all(f"Note: {note}" in str(s) for note in s.notes())


def test_no_code_tests_the_preset_name_outside_config():
    """Every preset rule lives in ``config.PRESETS``; code elsewhere reads settings, not names."""
    import re

    from helpers.config import project_root

    for path in (project_root() / "helpers").rglob("*.py"):
        if path.name != "config.py":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"preset\s*[!=]=", text), f"{path.name} tests the preset's name"


def test_shift_images_can_be_set_and_bad_values_are_named():
    assert config.load({**BASE, "ENSEMBLE_SHIFT_IMAGES": "40"}).shift_images == 40
    assert config.load({**BASE, "ENSEMBLE_PRESET": "cpu", "ENSEMBLE_SHIFT_IMAGES": "none"}).shift_images is None
    with pytest.raises(ValueError, match="ENSEMBLE_SHIFT_IMAGES='many' is not a whole number"):
        config.load({**BASE, "ENSEMBLE_SHIFT_IMAGES": "many"})


def test_the_cpu_preset_subset_can_be_switched_off():
    s = config.load({**BASE, "ENSEMBLE_PRESET": "cpu", "ENSEMBLE_MAX_PER_CLASS": "none"})
    assert s.max_per_class is None and "-max" not in s.run_name


def test_auto_preset_is_cpu_without_gpu():
    assert config.load({"ENSEMBLE_ARTIFACTS_DIR": "/tmp/a"}).preset == "cpu"


def test_every_variable_overrides(tmp_path):
    s = config.load({**BASE, "ENSEMBLE_DATA_DIR": str(tmp_path), "ENSEMBLE_IMAGE_SIZE": "96",
                     "ENSEMBLE_EPOCHS": "3", "ENSEMBLE_BATCH_SIZE": "8", "ENSEMBLE_WEIGHTS": "imagenet",
                     "ENSEMBLE_MAX_PER_CLASS": "50", "ENSEMBLE_SEED": "7"})
    assert (s.data_dir, s.image_size, s.epochs, s.batch_size, s.weights, s.max_per_class, s.seed) == (
        tmp_path, 96, 3, 8, "imagenet", 50, 7)
    assert "image_size" in s.overrides and "(from environment)" in str(s)


@pytest.mark.parametrize("variable,value,mentions", [
    ("ENSEMBLE_PRESET", "laptop", "smoke, cpu, gpu"),
    ("ENSEMBLE_IMAGE_SIZE", "40", ">= 48"),
    ("ENSEMBLE_IMAGE_SIZE", "big", "whole number"),
    ("ENSEMBLE_EPOCHS", "2.5", "whole number"),
    ("ENSEMBLE_WEIGHTS", "pretrained", "imagenet, none, random"),
    ("ENSEMBLE_MAX_PER_CLASS", "-1", ">= 3"),
    ("ENSEMBLE_SEED", "abc", "whole number"),
])
def test_bad_values_name_the_variable_and_the_fix(variable, value, mentions):
    with pytest.raises(ValueError) as error:
        config.load({**BASE, variable: value})
    assert variable in str(error.value) and mentions in str(error.value)


def test_artifacts_of_different_settings_never_mix():
    dirs = {config.load({**BASE, **extra}).run_dir for extra in (
        {}, {"ENSEMBLE_PRESET": "cpu"}, {"ENSEMBLE_IMAGE_SIZE": "96"}, {"ENSEMBLE_SEED": "1"},
        {"ENSEMBLE_WEIGHTS": "imagenet"}, {"ENSEMBLE_MAX_PER_CLASS": "10"})}
    assert len(dirs) == 6


def test_relative_data_dir_is_found_from_the_project_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # like a kernel started inside notebooks/
    s = config.load({**BASE, "ENSEMBLE_DATA_DIR": "helpers"})
    assert s.data_dir == config.project_root() / "helpers"


def test_set_seed_seeds_python_numpy_and_tensorflow():
    import tensorflow as tf

    def draw():
        return random.random(), np.random.rand(), float(tf.random.uniform(()))

    config.set_seed(3)
    first = draw()
    config.set_seed(3)
    assert draw() == first


def test_default_strategy_without_gpus():
    """Logical CPUs are not mirrored: one replica, whatever the cores."""
    assert config.get_strategy().num_replicas_in_sync == 1


def test_random_weights_are_frozen_like_imagenet_ones_for_timing():
    from helpers.lesson.mobilenet import is_bottom_frozen

    s = config.load({**BASE, "ENSEMBLE_PRESET": "cpu", "ENSEMBLE_WEIGHTS": "random"})
    assert s.keras_weights is None and is_bottom_frozen(s)
    assert not is_bottom_frozen(config.load({**BASE, "ENSEMBLE_WEIGHTS": "none"}))


@pytest.mark.parametrize("extra, marked", [
    ({"ENSEMBLE_PRESET": "cpu"}, None),
    ({"ENSEMBLE_PRESET": "cpu", "ENSEMBLE_WEIGHTS": "none"}, "describe this run"),
    ({"ENSEMBLE_PRESET": "smoke"}, "describe this run's code path"),
    ({"ENSEMBLE_PRESET": "cpu", "ENSEMBLE_IMAGE_SIZE": "64"}, "assume photos of 96 px"),
])
def test_the_banner_names_the_passages_of_the_other_path(extra, marked):
    """Without ImageNet weights, or on small images, the settings cell says which marked
    passages describe another run than this one."""
    shown = str(config.load({**BASE, **extra}))
    if marked is None:
        assert "**With ImageNet weights:**" not in shown
    else:
        assert "Note: " in shown and "**With ImageNet weights:**" in shown and marked in shown
