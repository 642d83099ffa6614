"""A bundle fits a learner whose data folder has another name or path when it holds the same
files (checked as the saved split checks them): its files unpack unchanged (no record names a
data folder) and the members then load; another file set, or generated data against real, is
refused and nothing is written."""

import shutil

import pytest

from helpers import artifacts, bundle, catalogue, config, data, generated_dataset
from tests.test_check import make_members


@pytest.fixture
def instructor_data(tmp_path):
    return generated_dataset.ensure_generated_dataset(tmp_path / "instructor" / "natural_images")


def settings_for(data_dir, artifacts_root):
    return config.load({"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_DATA_DIR": str(data_dir),
                        "ENSEMBLE_ARTIFACTS_DIR": str(artifacts_root)})


def cli(monkeypatch, capsys, settings, *args):
    """``python -m helpers.bundle ARGS`` with these settings: exit code and what it printed."""
    monkeypatch.setenv("ENSEMBLE_PRESET", settings.preset)
    monkeypatch.setenv("ENSEMBLE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ENSEMBLE_ARTIFACTS_DIR", str(settings.artifacts_root))
    code = bundle.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out + err


def test_a_bundle_unpacks_for_the_same_files_in_a_folder_of_another_name(
        instructor_data, tmp_path, monkeypatch, capsys):
    instructor = make_members(settings_for(instructor_data, tmp_path / "instructor_art"))
    code, printed = cli(monkeypatch, capsys, instructor, "pack", tmp_path / "members.zip")
    assert code == 0, printed
    size = (tmp_path / "members.zip").stat().st_size / 1e6
    assert f"({size:.0f} MB)" in printed

    photos = shutil.copytree(instructor_data, tmp_path / "learner" / "my photos")
    learner = settings_for(photos, tmp_path / "learner_art")
    assert learner.run_name != instructor.run_name  # the run folder is named after the data
    code, printed = cli(monkeypatch, capsys, learner, "unpack", tmp_path / "members.zip")
    assert code == 0, printed
    assert f"Unpacked {len(bundle.contents(learner))} files into {learner.run_dir}" in printed

    # what notebooks 05-09 read: the split against the learner's files, the members, their
    # predictions, each checked against the learner's settings and split
    assert data.load_split(learner).rows == data.load_split(instructor).rows
    for name in catalogue.MEMBER_NAMES:
        model = artifacts.load_model(learner, name)
        assert model.name == name
        assert set(artifacts.load_predictions(learner, name)) >= {"val_probs", "test_probs"}
    # no record was rewritten: every unpacked file is the instructor's, byte for byte, and no
    # record under either run folder names a data folder
    for name in bundle.contents(learner):
        assert (learner.run_dir / name).read_bytes() == (instructor.run_dir / name).read_bytes()
    for run_dir in (instructor.run_dir, learner.run_dir):
        for path in run_dir.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert str(instructor_data).encode() not in content, path
                assert str(photos).encode() not in content, path
    assert bundle.unpack(learner, tmp_path / "members.zip") == []  # the same again: nothing


def test_other_files_or_generated_data_are_refused_and_nothing_is_written(
        instructor_data, tmp_path, monkeypatch, capsys):
    instructor = make_members(settings_for(instructor_data, tmp_path / "instructor_art"))
    packed = bundle.pack(instructor, tmp_path / "members.zip")

    other = shutil.copytree(instructor_data, tmp_path / "learner" / "natural_images")
    with (other / "cat" / "cat_0002.jpg").open("ab") as image:
        image.write(b"\0")  # one file of the split changed size
    (other / "dog" / "dog_0005.jpg").unlink()  # and one is gone
    learner = settings_for(other, tmp_path / "learner_art")
    with pytest.raises(ValueError, match=r"packed for other data files: 2 of its split's \d+ "
                                         r"files are missing or differ in size"):
        bundle.unpack(learner, packed)
    code, printed = cli(monkeypatch, capsys, learner, "unpack", packed)
    assert code == 2 and printed.startswith("error: ") and "Traceback" not in printed

    generated = config.load({"ENSEMBLE_PRESET": "smoke",
                             "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "learner_art")})
    with pytest.raises(ValueError, match="packed for other settings .*generated_data: False in "
                                         "the bundle, True now"):
        bundle.unpack(generated, packed)
    other_seed = config.load({"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_SEED": "7",
                              "ENSEMBLE_DATA_DIR": str(instructor_data),
                              "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "learner_art")})
    with pytest.raises(ValueError, match="seed: 42 in the bundle, 7 now"):
        bundle.unpack(other_seed, packed)
    assert not (tmp_path / "learner_art").exists()
