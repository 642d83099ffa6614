"""``python -m helpers.bundle``: an instructor packs what notebooks 01-04 made, a learner unpacks
it and starts at notebook 05; a bundle for other settings, a damaged or a foreign file stops with a
clear message and writes nothing."""

import zipfile

import pytest

from helpers import artifacts, bundle, config
from tests.builders import with_settings


def fake_run(settings):
    """The files notebooks 01-04 leave, with made-up contents."""
    for name in bundle.contents(settings):
        path = settings.run_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"made by notebooks 01-04: {name}")
    return settings


def every_file(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_bundle_unpacks_what_was_packed(tmp_path):
    source = fake_run(config.load({"ENSEMBLE_PRESET": "smoke",
                                   "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "instructor")}))
    path = bundle.pack(source, tmp_path / "members.zip")
    learner = with_settings(source, artifacts_root=tmp_path / "learner")
    written = bundle.unpack(learner, path)
    assert len(written) == len(bundle.contents(source))
    assert every_file(learner.run_dir) == every_file(source.run_dir)
    assert bundle.unpack(learner, path) == []  # the same files again: nothing to do


def test_packing_without_the_members_names_the_notebooks_to_run(smoke_settings, tmp_path):
    with pytest.raises(artifacts.MissingArtifactError, match="Run notebooks 01-04 first"):
        bundle.pack(smoke_settings, tmp_path / "members.zip")
    assert not (tmp_path / "members.zip").exists()


def bad_bundles(tmp_path, good):
    """A foreign zip, a file that is no zip, a damaged member and a truncated bundle."""
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("readme.txt", "hello")
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("not a zip at all")
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data.replace(b"made by", b"MADE BY") if item.filename.endswith(
                ".keras") else data)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:200])
    return {"is not a readable bundle": [foreign, not_zip, truncated], "is damaged": [damaged]}


def test_bad_bundles_and_other_settings_stop_with_a_message_and_write_nothing(tmp_path):
    source = fake_run(config.load({"ENSEMBLE_PRESET": "smoke",
                                   "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "instructor")}))
    good = bundle.pack(source, tmp_path / "members.zip")
    learner = with_settings(source, artifacts_root=tmp_path / "learner")
    for message, paths in bad_bundles(tmp_path, good).items():
        for path in paths:
            with pytest.raises(ValueError, match=message):
                bundle.unpack(learner, path)
    other_seed = with_settings(learner, seed=7)
    with pytest.raises(ValueError, match="packed for other settings .*seed: 42 in the bundle, 7 now"):
        bundle.unpack(other_seed, good)
    assert not (tmp_path / "learner").exists()  # nothing written anywhere
    # a learner's own, different member is never overwritten
    mine = artifacts.model_path(learner, "vgg16")
    mine.parent.mkdir(parents=True)
    mine.write_text("my own VGG16")
    with pytest.raises(ValueError, match="already holds other versions of models/vgg16.keras"):
        bundle.unpack(learner, good)
    assert every_file(learner.run_dir) == {mine.relative_to(learner.run_dir): b"my own VGG16"}


def test_the_command_line_says_what_went_wrong(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENSEMBLE_ARTIFACTS_DIR", str(tmp_path))
    assert bundle.main(["unpack", str(tmp_path / "missing.zip")]) == 2
    assert "is not a readable bundle" in capsys.readouterr().err
