"""The Colab set-up, tested here with a stand-in ``google.colab`` module (Colab itself cannot be
reached from a test): what it would install, which variables it sets, what it says."""

import os
import sys
import types

import pytest

from helpers import colab, config


LAPTOP_ONLY = ("jupyterlab", "pytest", "ruff", "nbval", "nbstripout", "nbconvert")


def names(requirements) -> set[str]:
    return {colab._name(r) for r in requirements}


@pytest.fixture
def in_colab(monkeypatch, tmp_path):
    """A stand-in ``google.colab`` whose ``drive.mount`` makes a ``MyDrive`` folder; pip is not
    run, its commands are recorded; the ``ENSEMBLE_*`` variables are restored afterwards."""
    mounted, commands = [], []

    def mount(point):
        mounted.append(point)
        (tmp_path / "drive" / "MyDrive").mkdir(parents=True, exist_ok=True)

    google = types.ModuleType("google")
    google.colab = types.ModuleType("google.colab")
    google.colab.drive = types.SimpleNamespace(mount=mount)
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    monkeypatch.setattr(colab, "_run", commands.append)
    monkeypatch.setattr(colab, "gpu_runtime", lambda: False)
    for variable in (config.PRESET_VARIABLE, *config.VARIABLES.values()):
        monkeypatch.setenv(variable, "")  # recorded, so that teardown removes what setup() sets
        monkeypatch.delenv(variable)
    return types.SimpleNamespace(mounted=mounted, commands=commands,
                                 point=str(tmp_path / "drive"), google=google)


def test_runtime_dependencies_are_what_the_notebooks_import():
    runtime = names(colab.runtime_dependencies())
    assert {"tensorflow", "keras", "numpy", "scikit-learn", "matplotlib"} <= runtime
    assert not runtime & set(LAPTOP_ONLY)
    assert all(any(c in r for c in "<>=") for r in colab.runtime_dependencies()), "ranges"


def test_requirements_list_each_dependency_once_and_install_the_package():
    lines = [line.split("#")[0].strip() for line in
             (config.project_root() / "requirements.txt").read_text().splitlines()]
    listed = [line for line in lines if line and not line.startswith("-")]
    assert "-e ." in lines, "pip install -r requirements.txt must install the package too"
    assert not names(listed) & names(colab.runtime_dependencies()), (
        "a runtime dependency is listed in requirements.txt as well as in pyproject.toml")
    assert len(names(listed)) == len(listed)


def test_install_leaves_out_tensorflow_keras_and_the_laptop_tools(in_colab):
    colab.setup()
    package, others = in_colab.commands
    assert package[-3:] == ["--no-deps", "-e", str(config.project_root())]
    installed = names(others[others.index("--quiet") + 1:])
    assert installed == names(colab.runtime_dependencies()) - {"tensorflow", "keras"}
    assert not installed & {*LAPTOP_ONLY, "tensorflow", "keras"}
    assert not any("requirements" in part for command in in_colab.commands for part in command)


def test_drive_keeps_the_data_and_the_run_folder(in_colab, capsys):
    env = colab.setup(mount_point=in_colab.point)
    folder = os.path.join(in_colab.point, "MyDrive", config.project_root().name)
    assert in_colab.mounted == [in_colab.point]
    assert env == {"ENSEMBLE_PRESET": "cpu",
                   "ENSEMBLE_DATA_DIR": os.path.join(folder, "data"),
                   "ENSEMBLE_ARTIFACTS_DIR": os.path.join(folder, "artifacts")}
    assert {k: os.environ[k] for k in env} == env
    settings = config.load()  # what a notebook's settings cell then reads
    assert settings.preset == "cpu" and str(settings.artifacts_root).startswith(folder)
    said = capsys.readouterr().out
    assert "helpers.bundle unpack" in said and os.path.join(folder, "members.zip") in said
    assert "helpers.data download" in said


def test_smoke_keeps_its_generated_images(in_colab):
    env = colab.setup(preset="smoke", mount_point=in_colab.point)
    assert "ENSEMBLE_DATA_DIR" not in env and config.load().uses_generated_data


def test_refused_drive_carries_on_and_says_what_is_lost(in_colab, capsys):
    def refuse(point):
        raise ValueError("mount failed")

    in_colab.google.colab.drive.mount = refuse
    env = colab.setup(mount_point=in_colab.point)
    assert env == {"ENSEMBLE_PRESET": "cpu"}
    assert "lost when the runtime stops" in capsys.readouterr().out


def test_without_drive_nothing_is_mounted(in_colab):
    assert colab.setup(drive=False) == {"ENSEMBLE_PRESET": "cpu"} and not in_colab.mounted


def test_gpu_preset_needs_a_gpu_runtime(in_colab, monkeypatch):
    with pytest.raises(ValueError, match="GPU runtime"):
        colab.setup(preset="gpu")
    assert not in_colab.commands, "nothing installed before the error"
    monkeypatch.setattr(colab, "gpu_runtime", lambda: True)
    assert colab.setup(preset="gpu", drive=False)["ENSEMBLE_PRESET"] == "gpu"
    with pytest.raises(ValueError, match="choose one of"):
        colab.setup(preset="fast")


def test_the_cell_calls_setup_in_colab_only():
    source = colab.setup_cell_source(colab.repository_url())
    assert 'if "google.colab" in sys.modules:' in source
    assert "colab.setup(" in source and "requirements.txt" not in source
    assert "pip install" not in source
    assert max(len(line) for line in source.splitlines()) < 100


def test_a_failed_install_shows_pips_output():
    with pytest.raises(RuntimeError, match="No module named nosuchmodule"):
        colab._run([sys.executable, "-m", "nosuchmodule"])
