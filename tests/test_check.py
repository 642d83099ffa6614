"""``python -m helpers.check``: on a generated dataset, exit 0 when the machine is set up for the
settings, and 1 naming the missing part and its fix when the data, the weights or the members are
missing; never a traceback, and nothing written."""

import pytest

from helpers import artifacts, catalogue, check, config, data, generated_dataset, models
from helpers.lesson.data_prep import stratified_split
from tests.builders import random_probs, run_python, tiny_member


def snapshot(folder):
    """Every file and folder under ``folder`` with its size and modification time."""
    return {p.relative_to(folder): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def make_members(settings):
    """What notebooks 01-04 leave, at tiny size: the split, three saved members, their cached
    predictions, histories and training times, with the records of the settings and split they
    were made with."""
    split = data.load_split(settings, split_with=stratified_split)
    for name in catalogue.MEMBER_NAMES:
        path = artifacts.model_path(settings, name)
        artifacts.save_model(tiny_member(settings, name, None), path, settings)
        artifacts.save_predictions(settings, name, {s: random_probs(len(split.labels(s)))
                                                    for s in ("val", "test")}, split)
        artifacts.write_text(artifacts.history_path(settings, name), "epoch,loss\n0,2.0\n")
        artifacts.record_training_seconds(settings, name, 1.0)
    return settings


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """An environment with only the given ``ENSEMBLE_*`` variables, an empty Keras cache and
    plenty of memory (the memory rule has its own test)."""
    for variable in (config.PRESET_VARIABLE, *config.VARIABLES.values()):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(config.VARIABLES["artifacts_root"], str(tmp_path / "artifacts"))
    monkeypatch.setattr(check, "memory", lambda: (64 * 2 ** 30, 64 * 2 ** 30))

    def use(**variables):
        for variable, value in variables.items():
            monkeypatch.setenv(variable, str(value))
        return config.load()

    return use


def checked(capsys, tmp_path):
    """Run the check; return its exit code, its lines by item, and all it printed. Asserts
    that nothing under ``tmp_path`` was written."""
    before = snapshot(tmp_path)
    code = check.main([])
    out, err = capsys.readouterr()
    assert snapshot(tmp_path) == before
    assert "Traceback" not in out + err
    lines = {line[2:].split("  ")[0].strip(): line for line in out.splitlines()[:-1]}
    return code, lines, out


def test_set_up_for_smoke_exits_0(machine, capsys, tmp_path):
    make_members(machine(ENSEMBLE_PRESET="smoke"))
    code, lines, out = checked(capsys, tmp_path)
    assert code == 0, out
    assert set(lines) == {"Python", "packages", "tools", "preset", "data", "weights", "members",
                          "disk, memory"}
    assert all(line.startswith("✓") for line in lines.values()), out
    assert "auto would choose cpu here: TensorFlow sees no GPU" in lines["preset"]
    assert "smoke preset needs no real data" in lines["data"]
    assert "made with these settings and this split" in lines["members"]
    assert out.splitlines()[-1] == "Ready for these settings."


def test_missing_members_are_named_with_the_fix(machine, capsys, tmp_path):
    machine(ENSEMBLE_PRESET="smoke")
    code, lines, out = checked(capsys, tmp_path)
    assert code == 1
    assert lines["members"].startswith("✗ members")
    assert "custom_cnn, vgg16, mobilenet not found" in lines["members"]
    assert "python -m helpers.bundle unpack FILE" in lines["members"]
    assert "python -m helpers.run --only 01,02,03,04" in lines["members"]
    assert out.splitlines()[-1].startswith("Not ready: 1 item(s)")


def test_members_of_another_split_are_refused(machine, capsys, tmp_path):
    settings = make_members(machine(ENSEMBLE_PRESET="smoke"))
    manifest = artifacts.split_path(settings)
    manifest.write_text(manifest.read_text().replace(",val,", ",test,", 1))
    code, lines, _ = checked(capsys, tmp_path)
    assert code == 1
    assert "made with other settings or another split" in lines["members"]
    assert "split_sha256" in lines["members"]


def test_missing_data_is_named_with_the_fix(machine, capsys, tmp_path):
    machine(ENSEMBLE_PRESET="cpu", ENSEMBLE_WEIGHTS="none",
            ENSEMBLE_DATA_DIR=tmp_path / "no_data_here")
    code, lines, out = checked(capsys, tmp_path)
    assert code == 1
    assert lines["data"].startswith("✗ data")
    assert "Dataset folder not found" in lines["data"]
    assert "python -m helpers.data download" in lines["data"]
    assert "ENSEMBLE_DATA_DIR" in lines["data"]


def test_cpu_needs_the_weights_and_a_generated_dataset_is_not_the_real_one(
        machine, capsys, tmp_path):
    generated = generated_dataset.ensure_generated_dataset(tmp_path / "data" / "natural_images")
    settings = make_members(machine(ENSEMBLE_PRESET="cpu", ENSEMBLE_DATA_DIR=generated))
    code, lines, out = checked(capsys, tmp_path)
    assert code == 1
    assert lines["weights"].startswith("✗ weights")
    assert "python -m helpers.models fetch-weights" in lines["weights"]
    for path in models.weight_files(settings.image_size).values():
        assert path.name in lines["weights"]
    assert str(tmp_path / "keras" / "models") in lines["weights"]
    # the generated dataset works, but is not the real one: said, without failing the check
    assert lines["data"].startswith("! data")
    assert "8 classes, 192 images" in lines["data"]
    assert "the real dataset has 8 classes, 6,899 images" in lines["data"]
    assert "members" in lines and lines["members"].startswith("✓"), out
    # with the weights in Keras' cache the machine is ready for these settings
    for path in models.weight_files(settings.image_size).values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
    code, lines, out = checked(capsys, tmp_path)
    assert code == 0, out
    assert lines["weights"].startswith("✓ weights")


def test_changed_data_files_are_found_by_the_split(machine, capsys, tmp_path):
    generated = generated_dataset.ensure_generated_dataset(tmp_path / "data" / "natural_images")
    make_members(machine(ENSEMBLE_PRESET="cpu", ENSEMBLE_WEIGHTS="none",
                         ENSEMBLE_DATA_DIR=generated))
    (generated / "cat" / "cat_0003.jpg").unlink()
    code, lines, _ = checked(capsys, tmp_path)
    assert code == 1
    assert "The dataset changed since the split was saved" in lines["members"]


def test_too_little_memory_or_disk_fails_and_a_busy_machine_is_a_note(smoke_settings,
                                                                        monkeypatch):
    monkeypatch.setattr(check, "memory", lambda: (1 * 2 ** 30, 1 * 2 ** 30))
    line = check.resources(smoke_settings)
    assert line.status == check.MISSING and "more memory" in line.fix
    monkeypatch.setattr(check, "memory", lambda: (1 * 2 ** 30, 16 * 2 ** 30))
    line = check.resources(smoke_settings)
    assert line.status == check.NOTE and "close other programs" in line.fix
    monkeypatch.setitem(check.NEEDS_GIB, "smoke", {"memory": 1.0, "disk": 10 ** 6})
    line = check.resources(smoke_settings)
    assert line.status == check.MISSING and "ENSEMBLE_ARTIFACTS_DIR" in line.fix


def test_memory_needs_cover_the_measured_peaks():
    """The needs are at least the peaks ``benchmarks/peak_memory.py`` measured."""
    import json

    results = config.project_root() / "benchmarks" / "results"
    measured = {path.stem.removeprefix("peak_memory_"): json.loads(path.read_text())
                for path in results.glob("peak_memory_*.json")}
    assert "cpu" in measured
    for preset, result in measured.items():
        assert check.NEEDS_GIB[preset]["memory"] * 2 ** 30 >= result["peak_total_bytes"], preset


def test_packages_outside_their_range_are_named(monkeypatch):
    wrong, checked_count = check._outside_range(["numpy>=1000", "no-such-package-xyz>=1",
                                                 "keras>=3", "tensorflow; sys_platform == 'x'"])
    assert checked_count == 3
    assert wrong[0].startswith("numpy ") and "(needs >=1000)" in wrong[0]
    assert wrong[1] == "no-such-package-xyz missing"
    assert len(wrong) == 2


def test_a_bad_setting_is_named_without_a_traceback(machine, capsys, tmp_path, monkeypatch):
    machine(ENSEMBLE_PRESET="smoke")
    monkeypatch.setenv("ENSEMBLE_IMAGE_SIZE", "big")
    code, lines, _ = checked(capsys, tmp_path)
    assert code == 1
    assert "ENSEMBLE_IMAGE_SIZE='big' is not a whole number" in lines["settings"]


@pytest.mark.slow
def test_the_command_runs_in_a_fresh_process(tmp_path):
    env = {"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
           "KERAS_HOME": str(tmp_path / "keras"), "PYTHONIOENCODING": "utf-8"}
    result = run_python("from helpers.check import main; raise SystemExit(main())", env=env)
    assert result.returncode == 1, result.stderr
    assert "✗ members" in result.stdout and "Traceback" not in result.stderr
    assert not (tmp_path / "artifacts").exists()
