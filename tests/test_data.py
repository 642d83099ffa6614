import hashlib
import inspect
import time

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers import artifacts, catalogue, config, data, generated_dataset
from helpers.lesson import data_prep
from tests.builders import make_image_folder, write_image


# ---------------------------------------------------------------- generated dataset
def _digest(folder):
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.jpg")))).hexdigest()


def test_generated_dataset_layout_and_determinism(tmp_path):
    first = generated_dataset.ensure_generated_dataset(tmp_path / "a" / "natural_images", seed=1, images_per_class=5)
    second = generated_dataset.ensure_generated_dataset(tmp_path / "b" / "natural_images", seed=1, images_per_class=5)
    assert sorted(p.name for p in first.iterdir() if p.is_dir()) == sorted(catalogue.CLASS_NAMES)
    assert (first / "cat" / "cat_0001.jpg").exists()
    assert _digest(first) == _digest(second)
    assert not (tmp_path / "a" / "natural_images.partial").exists()


def test_generated_dataset_is_not_regenerated(tmp_path):
    root = generated_dataset.ensure_generated_dataset(tmp_path / "natural_images", images_per_class=3)
    stamp = (root / "cat" / "cat_0001.jpg").stat().st_mtime_ns
    generated_dataset.ensure_generated_dataset(root, images_per_class=3)
    assert (root / "cat" / "cat_0001.jpg").stat().st_mtime_ns == stamp


# ---------------------------------------------------------------- locate
@pytest.mark.parametrize("layout", ["natural_images", "data/natural_images", "x/natural_images"])
def test_locate_accepts_any_parent(tmp_path, layout):
    root = make_image_folder(tmp_path / layout)
    assert data.locate_dataset(tmp_path) == root
    assert data.locate_dataset(root) == root


def test_missing_folder_says_where_and_how(tmp_path):
    with pytest.raises(data.DatasetError) as error:
        data.locate_dataset(tmp_path / "nowhere")
    message = str(error.value)
    assert "nowhere" in message and "python -m helpers.data download" in message and "kaggle.com" in message


def test_folder_without_images_says_where_it_looked(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(data.DatasetError, match="looked in"):
        data.locate_dataset(tmp_path / "empty")


def test_download_offline_fails_fast_with_the_manual_route(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "can_reach", lambda host, timeout=5.0: False)
    with pytest.raises(data.DatasetError) as error:
        data.download(tmp_path)
    assert "by hand" in str(error.value) and data.KAGGLE_URL in str(error.value)


def test_download_online_calls_kagglehub_as_the_installed_version_allows(tmp_path, monkeypatch):
    """The pinned handle, into the target folder; binding to the real signature fails on a
    kagglehub too old for ``output_dir`` (before 0.4.3), which requirements.txt excludes."""
    import kagglehub

    real = inspect.signature(kagglehub.dataset_download)
    calls = []

    def fake_download(*args, **kwargs):
        real.bind(*args, **kwargs)
        calls.append((args, kwargs))
        out = tmp_path / "target" / "natural_images"
        return str(generated_dataset.ensure_generated_dataset(out, seed=1, images_per_class=6).parent)

    monkeypatch.setattr(helpers, "can_reach", lambda host, timeout=5.0: True)
    monkeypatch.setattr(kagglehub, "dataset_download", fake_download)
    root = data.download(tmp_path / "target")
    assert calls == [((f"{data.KAGGLE_DATASET}/versions/{data.KAGGLE_VERSION}",),
                      {"output_dir": str(tmp_path / "target")})]
    assert root == tmp_path / "target" / "natural_images"


def test_reachability_check_never_hangs():
    start = time.perf_counter()
    helpers.can_reach("www.kaggle.com", timeout=1.0)
    assert time.perf_counter() - start < 10


# ---------------------------------------------------------------- scan and bad files
def test_scan_skips_and_reports_bad_files(tiny_dataset):
    cat = tiny_dataset / "cat"
    (cat / "Thumbs.db").write_bytes(b"\x00" * 50)
    (cat / "empty.jpg").write_bytes(b"")
    good = (cat / "cat_0000.jpg").read_bytes()
    (cat / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (cat / "garbage.jpg").write_bytes(b"this is not a jpeg at all" * 10)
    (cat / "notes.txt").write_text("hello")
    write_image(cat / "picture.tiff", fmt="TIFF")
    (tiny_dataset / ".ipynb_checkpoints").mkdir()
    result = data.scan(tiny_dataset)
    reasons = {p.name: r for p, r in result.skipped}
    assert result.counts == {"cat": 6, "dog": 6, "fruit": 6}
    assert reasons["Thumbs.db"] == "not an image file" and reasons["notes.txt"] == "not an image file"
    assert reasons["picture.tiff"] == "not an image file"
    assert reasons["empty.jpg"].startswith("empty file")
    assert reasons["truncated.jpg"].startswith("cannot be decoded")
    assert reasons["garbage.jpg"].startswith("cannot be decoded")
    assert ".ipynb_checkpoints" in reasons
    assert "Skipped 7 file(s)" in str(result) and "truncated.jpg" in str(result)


def test_unusual_but_valid_images_are_kept(tiny_dataset):
    cat = tiny_dataset / "cat"
    write_image(cat / "grey.jpg", mode="L")
    write_image(cat / "alpha.png", mode="RGBA", fmt="PNG")
    write_image(cat / "cmyk.jpg", mode="CMYK")
    write_image(cat / "huge.jpg", size=(3000, 2000))
    write_image(cat / "tiny.png", size=(1, 1), fmt="PNG")
    write_image(cat / "Straße mit Café.jpg")
    assert not data.scan(tiny_dataset).skipped
    assert data.scan(tiny_dataset).counts["cat"] == 12


def test_unusual_images_decode_to_three_channels(tiny_dataset):
    files = [write_image(tiny_dataset / "cat" / "grey.jpg", mode="L"),
             write_image(tiny_dataset / "cat" / "alpha.png", mode="RGBA", fmt="PNG"),
             write_image(tiny_dataset / "cat" / "cmyk.jpg", mode="CMYK"),
             write_image(tiny_dataset / "cat" / "tiny.png", size=(1, 1), fmt="PNG"),
             write_image(tiny_dataset / "cat" / "ünïcode name.jpg")]
    ds = data.make_dataset(files, np.zeros(len(files)), image_size=32, batch_size=8, training=False)
    images, _ = next(iter(ds))
    assert images.shape == (5, 32, 32, 3) and images.dtype.name == "float32"
    assert float(images.numpy().max()) <= 255 and float(images.numpy().max()) > 1


def test_empty_class_folder_is_a_clear_error(tiny_dataset):
    (tiny_dataset / "dog_empty").mkdir()
    (tiny_dataset / "dog_empty" / "Thumbs.db").write_bytes(b"x")
    (tiny_dataset / "dog_empty" / "x.jpg").write_bytes(b"")
    with pytest.raises(data.DatasetError, match="dog_empty has no readable images"):
        data.scan(tiny_dataset)


def test_extra_folder_beside_the_eight_classes_is_ignored_and_reported(tmp_path):
    root = make_image_folder(tmp_path / "natural_images", classes=catalogue.CLASS_NAMES, per_class=3)
    make_image_folder(root, classes=("extra stuff",), per_class=3)
    result = data.scan(root)
    assert result.class_names == sorted(catalogue.CLASS_NAMES)
    assert any(p.name == "extra stuff" and "not a class folder" in r for p, r in result.skipped)


# ---------------------------------------------------------------- split
#: Notebook 01's split function, which makes a run's split when none is saved yet.
SPLIT = data_prep.stratified_split


def test_without_a_split_function_a_missing_split_names_notebook_01(tmp_path):
    root = make_image_folder(tmp_path / "natural_images", per_class=6)
    with pytest.raises(artifacts.MissingArtifactError, match="Run 01_data_preview.ipynb first"):
        data.load_split(_settings(tmp_path, root))


def _settings(tmp_path, data_dir, **extra):
    env = {"ENSEMBLE_PRESET": "cpu", "ENSEMBLE_WEIGHTS": "none", "ENSEMBLE_DATA_DIR": str(data_dir),
           "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / "artifacts"), **extra}
    return config.load(env)


def test_split_is_stratified_saved_and_reproduced(tmp_path):
    root = make_image_folder(tmp_path / "natural_images", per_class=20)
    first = data.load_split(_settings(tmp_path, root), split_with=SPLIT)
    manifest_text = first.manifest.read_text()
    sizes = first.sizes()
    assert {s: sum(v.values()) for s, v in sizes.items()} == {"train": 42, "val": 9, "test": 9}
    assert all(sizes[s][c] == 3 for s in ("val", "test") for c in first.class_names)  # stratified
    first.manifest.unlink()
    second = data.load_split(_settings(tmp_path, root), split_with=SPLIT)
    assert second.manifest.read_text() == manifest_text
    other_seed = data.load_split(_settings(tmp_path, root, ENSEMBLE_SEED="5"), split_with=SPLIT)
    assert other_seed.manifest.read_text() != manifest_text


def test_the_notebooks_split_function_is_what_load_split_uses(tmp_path):
    """Notebook 01 passes its own ``stratified_split``; a learner's edit of it changes the
    split that is saved."""
    root = make_image_folder(tmp_path / "natural_images", per_class=10)
    everything_for_training = lambda labels, *_: np.full(len(labels), "train", dtype=object)  # noqa: E731
    split = data.load_split(_settings(tmp_path, root), split_with=everything_for_training)
    assert set(split.sizes()) == {"train", "val", "test"} and not split.files("val")


def test_every_split_has_every_class_even_when_small():
    labels = np.repeat(np.array(["a", "b", "c"]), [6, 7, 100])
    splits = data_prep.stratified_split(labels, 0.15, 0.15, seed=0)
    for name in ("a", "b", "c"):
        assert {"train", "val", "test"} <= set(splits[labels == name])


def test_class_too_small_to_split_is_a_clear_error(tmp_path):
    root = make_image_folder(tmp_path / "natural_images", per_class=10)
    for path in sorted((root / "dog").iterdir())[data.MIN_PER_CLASS - 1:]:
        path.unlink()
    with pytest.raises(data.DatasetError, match=r"in class\(es\) dog \(5 images\)"):
        data.load_split(_settings(tmp_path, root), split_with=SPLIT)


def test_changed_dataset_is_detected(tmp_path):
    root = make_image_folder(tmp_path / "natural_images", per_class=6)
    settings = _settings(tmp_path, root)
    data.load_split(settings, split_with=SPLIT)
    (root / "dog" / "dog_0002.jpg").unlink()
    with pytest.raises(data.DatasetError, match="changed since the split was saved"):
        data.load_split(settings)


def test_max_per_class_caps_the_training_split_only(tmp_path):
    root = make_image_folder(tmp_path / "natural_images", per_class=20)
    whole = data.load_split(_settings(tmp_path / "a", root), split_with=SPLIT).sizes()
    capped = data.load_split(_settings(tmp_path / "b", root, ENSEMBLE_MAX_PER_CLASS="5"),
                             split_with=SPLIT)
    sizes = capped.sizes()
    assert all(sizes["train"][c] == 5 for c in capped.class_names)
    assert sizes["val"] == whole["val"] and sizes["test"] == whole["test"]  # the whole 15% each
    assert all(sizes["train_unused"][c] == whole["train"][c] - 5 for c in capped.class_names)
    assert set(map(str, capped.files("train"))) < set(map(str, data.load_split(
        _settings(tmp_path / "a", root)).files("train")))
    assert "Only the training split is capped" in str(capped)


# ---------------------------------------------------------------- pipelines
def test_evaluation_pipeline_keeps_file_order_and_training_one_shuffles(tmp_path):
    files = [write_image(tmp_path / f"img_{i}.png", fmt="PNG", size=(8, 8), value=i) for i in range(12)]
    expected = np.stack([data.decode_and_resize(str(f), 16).numpy() for f in files]).astype("float32")
    labels = np.arange(12)
    ordered = data.make_dataset(files, labels, 16, batch_size=5, training=False)
    got_images = np.concatenate([x.numpy() for x, _ in ordered])
    got_labels = np.concatenate([y.numpy() for _, y in ordered])
    np.testing.assert_array_equal(got_labels, labels)
    np.testing.assert_array_equal(got_images, expected)
    shuffled = data.make_dataset(files, labels, 16, batch_size=12, training=True, seed=1)
    order = next(iter(shuffled))[1].numpy()
    assert sorted(order) == list(labels) and list(order) != list(labels)
    # images still travel with their labels when shuffled
    images = next(iter(shuffled))[0].numpy()
    assert any(np.array_equal(images[0], expected[k]) for k in range(12))


def test_augmentation_only_acts_in_training():
    layer = data_prep.augmentation(seed=0)
    batch = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    np.testing.assert_array_equal(layer(batch, training=False).numpy(), batch)
    assert not np.array_equal(layer(batch, training=True).numpy(), batch)


def test_describe_command_on_the_generated_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENSEMBLE_ARTIFACTS_DIR", str(tmp_path))  # the smoke preset (conftest)
    monkeypatch.delenv("ENSEMBLE_DATA_DIR", raising=False)  # the generated dataset, even then
    assert data.main(["describe"]) == 0
    assert "No split yet: 01_data_preview.ipynb makes it." in capsys.readouterr().out
    data.load_split(config.load(), split_with=data_prep.stratified_split)  # notebook 01's
    assert data.main(["describe"]) == 0
    out = capsys.readouterr().out
    assert "8 classes, 192 images" in out and "Skipped 0 file(s)" in out
    # What notebook 01 shows for the smoke preset: 15% of the 192 images for validation and for
    # test, 3 or 4 of every class.
    rows = [line.split() for line in out.splitlines()]
    split = {row[0]: [int(v) for v in row[1:]] for row in rows
             if len(row) == 4 and row[0] in (*catalogue.CLASS_NAMES, "total")}
    assert split["total"] == [134, 29, 29]
    assert all(3 <= split[name][k] <= 4 for name in catalogue.CLASS_NAMES for k in (1, 2))


def test_describe_command_reports_a_missing_dataset_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENSEMBLE_PRESET", "cpu")
    monkeypatch.setenv("ENSEMBLE_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("ENSEMBLE_ARTIFACTS_DIR", str(tmp_path))
    assert data.main(["describe"]) == 2  # an error message and exit code 2, not an exception
    err = capsys.readouterr().err
    assert err.startswith("error: Dataset folder not found") and "python -m helpers.data download" in err


def test_target_rows_stay_with_their_files_when_the_training_pipeline_shuffles(tmp_path):
    """Notebook 08's teacher targets: row i is computed for file i, and must arrive with it."""
    files, targets = [], []
    for i in range(12):
        path = tmp_path / f"img_{i}.png"
        Image.fromarray(np.full((8, 8, 3), i * 20, dtype=np.uint8)).save(path)
        files.append(path)
        targets.append(np.eye(12, dtype="float32")[i])
    pipeline = data.make_dataset(files, np.array(targets), 8, 5, training=True, seed=3)
    seen = []
    for images, rows in pipeline:
        for image, row in zip(images.numpy(), rows.numpy()):
            assert round(image[0, 0, 0] / 20) == row.argmax()
            seen.append(int(row.argmax()))
    assert sorted(seen) == list(range(12)) and seen != list(range(12))  # all there, and shuffled


def test_smoke_on_real_photos_is_a_small_stratified_seeded_subset(tmp_path):
    """``ENSEMBLE_PRESET=smoke`` with a real-layout folder: at most a few dozen images per class
    in each part, every class in every part, drawn from the whole split the same way twice."""
    photos = generated_dataset.ensure_generated_dataset(tmp_path / "photos" / "natural_images",
                                                        images_per_class=60)
    sizes = []
    for run in ("a", "b"):
        settings = config.load({"ENSEMBLE_PRESET": "smoke", "ENSEMBLE_DATA_DIR": str(photos),
                                "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / run)})
        split = data.load_split(settings, split_with=data_prep.stratified_split)
        sizes.append(split.sizes())
        assert set(split.sizes()) == {"train", "val", "test"}
        for part, counts in split.sizes().items():
            assert all(2 <= count <= settings.subset_per_class for count in counts.values()), part
        assert sum(map(sum, (c.values() for c in split.sizes().values()))) <= 8 * 24
        whole = config.load({"ENSEMBLE_PRESET": "cpu", "ENSEMBLE_MAX_PER_CLASS": "none",
                             "ENSEMBLE_DATA_DIR": str(photos),
                             "ENSEMBLE_ARTIFACTS_DIR": str(tmp_path / f"whole_{run}")})
        full = data.load_split(whole, split_with=data_prep.stratified_split)
        parts = {row["path"]: row["split"] for row in full.rows}
        assert all(parts[row["path"]] == row["split"] for row in split.rows)  # of the whole split
    assert sizes[0] == sizes[1]
    assert "a seeded stratified subset" in str(settings)
