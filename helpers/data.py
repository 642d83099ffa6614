"""The dataset: find it, download it, scan it, split it once, and serve it with ``tf.data``.

Command line::

    python -m helpers.data describe   # classes, counts, skipped files, split sizes
    python -m helpers.data download   # fetch the Kaggle dataset with kagglehub
"""

from __future__ import annotations

import csv
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import helpers
from helpers import artifacts, catalogue, config, generated_dataset
from helpers.config import Settings


KAGGLE_DATASET = "prasunroy/natural-images"
KAGGLE_VERSION = 1  # pinned, so every learner trains on the same files
KAGGLE_URL = f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
#: Formats that both Pillow (scan) and ``tf.io.decode_image`` (training) read.
DECODABLE_FORMATS = {"JPEG", "PNG", "BMP", "GIF", "MPO"}
MANIFEST_COLUMNS = ("path", "label", "split", "bytes")


class DatasetError(ValueError):
    """A problem with the dataset on disk; the message says which file or folder and the fix."""


# --------------------------------------------------------------------------- locate / download
def how_to_get_the_data(target: Path) -> str:
    return (f"Get the Natural Images dataset in one of two ways:\n"
            f"  1. python -m helpers.data download   (uses kagglehub; puts it in {target})\n"
            f"  2. download it by hand from {KAGGLE_URL}, unzip it, and point "
            f"ENSEMBLE_DATA_DIR at the folder that holds the class folders (or any parent of it).\n"
            f"To try the series without it, use ENSEMBLE_PRESET=smoke (a generated dataset).")


def _looks_like_root(folder: Path) -> bool:
    """Whether two or more of ``folder``'s subfolders hold image files (class folders)."""
    return sum(any(p.suffix.lower() in IMAGE_SUFFIXES for p in sub.iterdir() if p.is_file())
               for sub in folder.iterdir() if sub.is_dir() and not sub.name.startswith((".", "_"))
               ) >= 2


def locate_dataset(path: Path, max_depth: int = 3) -> Path:
    """Return the folder that holds the class folders: ``path`` itself or a folder below it.

    Kaggle's zip unpacks to ``natural_images/`` and kagglehub to ``.../natural_images/``
    inside ``data/``; both are found from any parent folder.
    """
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"Dataset folder not found: {path}\n" + how_to_get_the_data(path))
    looked, frontier = [], [path]
    for _ in range(max_depth + 1):
        looked += frontier
        if found := [f for f in frontier if _looks_like_root(f)]:
            # Prefer the canonical name when several candidates exist (data/, natural_images/).
            return min(found, key=lambda f: (f.name != "natural_images", len(f.parts), str(f)))
        frontier = [c for f in frontier for c in sorted(f.iterdir())
                    if c.is_dir() and not c.name.startswith(".")]
    shown = ", ".join(str(p) for p in looked[:6]) + (" ..." if len(looked) > 6 else "")
    raise DatasetError(f"No class folders with images found in {path} (looked in: {shown}).\n"
                       + how_to_get_the_data(path))


def download(target: Path, timeout: float = 5.0) -> Path:
    """Download the pinned dataset version with kagglehub into ``target``; fail fast offline."""
    target = Path(target)
    if not helpers.can_reach("www.kaggle.com", timeout):
        raise DatasetError(
            f"Cannot reach www.kaggle.com (no internet connection?), so the download was not "
            f"started.\nDownload {KAGGLE_URL} by hand on a machine that is online, unzip it into "
            f"{target}, or set ENSEMBLE_DATA_DIR to where it is.")
    import kagglehub

    target.mkdir(parents=True, exist_ok=True)
    return locate_dataset(Path(kagglehub.dataset_download(
        f"{KAGGLE_DATASET}/versions/{KAGGLE_VERSION}", output_dir=str(target))))


# --------------------------------------------------------------------------- scan
@dataclass
class Scan:
    """What is on disk: readable images per class, and every file skipped with the reason."""

    root: Path
    files: dict[str, list[Path]]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        return sorted(self.files)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.files[name]) for name in self.class_names}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def skipped_summary(self) -> dict[str, int]:
        return dict(Counter(reason.split(":")[0] for _, reason in self.skipped))

    def __str__(self) -> str:
        lines = [f"Dataset: {self.root}", f"{len(self.files)} classes, {self.total} images"]
        lines += [f"  {name:<10} {count:>5}" for name, count in self.counts.items()]
        lines.append(f"Skipped {len(self.skipped)} file(s)" + (":" if self.skipped else "."))
        for reason, count in sorted(self.skipped_summary().items()):
            lines.append(f"  {count:>4} x {reason}")
        for path, reason in self.skipped[:10]:
            lines.append(f"       {path.relative_to(self.root)} ({reason})")
        if len(self.skipped) > 10:
            lines.append(f"       ... and {len(self.skipped) - 10} more")
        return "\n".join(lines)


def check_image(path: Path, decode: bool = True) -> str | None:
    """Return why ``path`` cannot be used as a training image, or None when it can.

    Decoding at reduced size (``draft``) is fast and still catches truncated JPEGs, so a
    bad file is reported here instead of crashing a training loop halfway through an epoch.
    ``decode=False`` checks the file's suffix only.
    """
    from PIL import Image

    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return "not an image file"
    if not decode:
        return None
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                if image.format not in DECODABLE_FORMATS:
                    return f"unsupported format: {image.format} (use JPEG or PNG)"
                image.draft("RGB", (64, 64))
                image.load()
    except Exception as error:  # Pillow raises many types for broken files
        return f"cannot be decoded: {type(error).__name__}: {error}"
    return None


def scan(data_dir: Path, check: bool = True) -> Scan:
    """List the images of each class and skip (and report) everything unusable.

    Hidden folders and, when the eight Natural Images classes are all present, folders
    with other names are ignored and reported. A class left without images is an error.
    """
    root = locate_dataset(Path(data_dir))
    skipped: list[tuple[Path, str]] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    canonical = set(catalogue.CLASS_NAMES) <= {p.name for p in folders}
    files: dict[str, list[Path]] = {}
    for folder in folders:
        stray = canonical and folder.name not in catalogue.CLASS_NAMES
        if folder.name.startswith((".", "_")) or stray:
            skipped.append((folder, "folder ignored: not a class folder"))
            continue
        kept = []
        for path in sorted(folder.iterdir()):
            if reason := ("folder ignored: nested folder" if path.is_dir()
                          else check_image(path, decode=check)):
                skipped.append((path, reason))
            else:
                kept.append(path)
        if not kept:
            raise DatasetError(f"Class folder {folder} has no readable images. Add images to it "
                               f"or remove the folder (skipped there: "
                               f"{sum(1 for p, _ in skipped if p.parent == folder)} file(s)).")
        files[folder.name] = kept
    return Scan(root=root, files=files, skipped=skipped)


# --------------------------------------------------------------------------- split
@dataclass
class Split:
    """The fixed train / validation / test assignment of every image, from the manifest."""

    root: Path
    class_names: list[str]
    rows: list[dict]
    manifest: Path

    def files(self, split: str) -> list[Path]:
        return [self.root / r["path"] for r in self.rows if r["split"] == split]

    def labels(self, split: str) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[r["label"]] for r in self.rows if r["split"] == split],
                        dtype="int32")

    def sizes(self) -> dict[str, dict[str, int]]:
        """Images per class in each split, and in ``train_unused`` (training images left out by
        ``ENSEMBLE_MAX_PER_CLASS``) when there are any."""
        table = {s: dict.fromkeys(self.class_names, 0) for s in ("train", "val", "test", UNUSED)}
        for r in self.rows:
            table[r["split"]][r["label"]] += 1
        if not any(table[UNUSED].values()):
            del table[UNUSED]
        return table

    def __str__(self) -> str:
        sizes = self.sizes()
        lines = [f"{'class':<10} " + " ".join(f"{s.removeprefix('train_'):>6}" for s in sizes)]
        for name in self.class_names:
            lines.append(f"{name:<10} " + " ".join(f"{sizes[s][name]:>6}" for s in sizes))
        lines.append(f"{'total':<10} " + " ".join(f"{sum(sizes[s].values()):>6}" for s in sizes))
        if UNUSED in sizes:
            shares = [f"{sum(sizes[s].values()) / len(self.rows):.0%}" for s in ("val", "test")]
            lines.append("Only the training split is capped (ENSEMBLE_MAX_PER_CLASS): 'unused' "
                         "training images are left out of this run; validation and test keep "
                         f"the dataset's own {shares[0]} and {shares[1]}.")
        return "\n".join(lines)


#: The split name of training images that ``ENSEMBLE_MAX_PER_CLASS`` leaves out of this run.
UNUSED = "train_unused"
#: The fewest images a class needs for the stratified split to give each split one of them.
MIN_PER_CLASS = 6


def _manifest_rows(scan_result: Scan, settings: Settings, split_with) -> list[dict]:
    """Every image of the dataset with its split, cut by ``split_with`` (notebook 01's
    ``stratified_split``) from the whole dataset, so validation and test are the dataset's own
    shares (``Settings.val_fraction``, ``test_fraction``); ``max_per_class`` then keeps at most
    that many training images per class (a seeded choice) and marks the others
    ``train_unused``: it caps the cost of training, not the data that judges the models."""
    files = [(name, path) for name in sorted(scan_result.files)
             for path in scan_result.files[name]]
    labels = np.array([name for name, _ in files])
    if small := [f"{n} ({c} images)" for n, c in zip(*np.unique(labels, return_counts=True))
                 if c < MIN_PER_CLASS]:
        raise DatasetError(f"Too few images to split in class(es) {', '.join(small)}: every class "
                           f"needs at least {MIN_PER_CLASS} images to give each split some. Add "
                           f"images to {scan_result.root}.")
    splits = split_with(labels, settings.val_fraction, settings.test_fraction, settings.seed)
    rng = np.random.default_rng(settings.seed)
    for name in sorted(scan_result.files):
        train = np.flatnonzero((labels == name) & (splits == "train"))
        if settings.max_per_class and len(train) > settings.max_per_class:
            kept = rng.choice(train, settings.max_per_class, replace=False)
            splits[np.setdiff1d(train, kept)] = UNUSED
    kept = (_subset(labels, splits, settings, rng) if settings.subset_per_class
            and not settings.uses_generated_data else np.ones(len(files), dtype=bool))
    return [{"path": path.relative_to(scan_result.root).as_posix(), "label": name,
             "split": str(split), "bytes": path.stat().st_size}
            for (name, path), split, keep in zip(files, splits, kept) if keep]


def _subset(labels: np.ndarray, splits: np.ndarray, settings: Settings, rng) -> np.ndarray:
    """Which images a run on a subset keeps: of every class, at most ``subset_per_class`` in all,
    drawn from each part of the whole split in the split's proportions (at least two of each
    part, as cross-fitting needs), a seeded choice."""
    n = settings.subset_per_class
    caps = {"val": max(2, round(n * settings.val_fraction)),
            "test": max(2, round(n * settings.test_fraction))}
    caps["train"] = max(2, n - caps["val"] - caps["test"])
    kept = np.zeros(len(labels), dtype=bool)
    for name in np.unique(labels):
        for part, cap in caps.items():
            index = np.flatnonzero((labels == name) & (splits == part))
            kept[rng.choice(index, min(cap, len(index)), replace=False)] = True
    return kept


def changed_files(root: Path, rows: list[dict]) -> list[str]:
    """The split's files (``rows`` of ``split.csv``) missing from ``root`` or of another size."""
    return [r["path"] for r in rows if not (root / r["path"]).is_file()
            or (root / r["path"]).stat().st_size != int(r["bytes"])]


def write_manifest(path: Path, rows: list[dict]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    artifacts.write_atomic(path, write)


def read_manifest(text: str) -> list[dict]:
    """The rows of a ``split.csv`` (its text), sizes as numbers."""
    return [dict(r, bytes=int(r["bytes"])) for r in csv.DictReader(text.splitlines())]


def dataset_root(settings: Settings) -> Path:
    """The folder with the class folders, making the generated dataset when needed."""
    if settings.uses_generated_data:
        return generated_dataset.ensure_generated_dataset(settings.generated_data_dir,
                                                     seed=config.DEFAULT_SEED)
    return locate_dataset(settings.data_dir)


def load_split(settings: Settings, scan_result: Scan | None = None, split_with=None) -> Split:
    """The split of this run: read from ``split.csv`` if it exists, else made once with
    ``split_with`` (notebook 01 passes its ``stratified_split``) and saved. Without
    ``split_with`` and without a saved split, a ``MissingArtifactError`` names notebook 01.

    If files listed in the manifest are gone or changed size, a ``DatasetError`` says how
    many and how to start over, instead of training on a different split silently.
    """
    root = scan_result.root if scan_result else dataset_root(settings)
    manifest = artifacts.split_path(settings)
    if manifest.exists():
        rows = read_manifest(manifest.read_text(encoding="utf-8"))
        if changed := changed_files(root, rows):
            raise DatasetError(
                f"The dataset changed since the split was saved in {manifest}: {len(changed)} "
                f"file(s) missing or modified (e.g. {changed[0]}). Restore them, or delete "
                f"{manifest} (and the models in {settings.run_dir}) to split again and retrain.")
    elif split_with is None:
        raise artifacts.MissingArtifactError(
            f"No split saved for settings {settings.run_name} ({manifest} is missing). Run "
            f"{catalogue.made_by('split')}.ipynb first: it makes the split that every later "
            f"notebook reads.")
    else:
        rows = _manifest_rows(scan_result or scan(root), settings, split_with)
        write_manifest(manifest, rows)
        artifacts.write_json(settings.path("settings.json"), settings.fingerprint())
    class_names = sorted({r["label"] for r in rows})
    return Split(root=root, class_names=class_names, rows=rows, manifest=manifest)


# --------------------------------------------------------------------------- tf.data
def decode_and_resize(path, image_size: int):
    """Read one file as RGB (grayscale, PNG alpha and CMYK become 3 channels), resize it,
    and keep raw 0-255 values as uint8: every model does its own preprocessing."""
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, (image_size, image_size), antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def make_dataset(files: list[Path], labels: np.ndarray, image_size: int, batch_size: int,
                 training: bool, seed: int = 0):
    """A batched ``tf.data`` pipeline of (float32 0-255 images, int labels), or of (images,
    float target rows) when ``labels`` is 2-D, each row staying with its file.

    Decoded images are cached in memory (the uint8 copy is 4x smaller than float32).
    Only the training pipeline is shuffled; evaluation pipelines keep file order, so
    predictions line up with ``labels`` and with the file list.
    """
    import tensorflow as tf

    # integer labels, or one row of float targets per image (e.g. notebook 08's teacher targets)
    targets = np.asarray(labels, dtype="int32" if np.ndim(labels) == 1 else "float32")
    ds = tf.data.Dataset.from_tensor_slices((tf.constant([str(p) for p in files]), targets))
    ds = ds.map(lambda p, y: (decode_and_resize(p, image_size), y),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).cache()
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.prefetch(tf.data.AUTOTUNE)


def stratified_subset(labels: np.ndarray, max_images: int | None, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_images`` images with every class kept in proportion (a seeded
    choice, in file order), e.g. the test images notebook 07 corrupts within its budget."""
    if not max_images or max_images >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    index, _ = train_test_split(np.arange(len(labels)), train_size=max_images, stratify=labels,
                                random_state=seed)
    return np.sort(index)


def array_dataset(inputs: list[np.ndarray], labels: np.ndarray, batch_size: int = 32,
                  shuffle_seed: int | None = None):
    """A ``tf.data`` pipeline over in-memory arrays (one per model input) and labels, built once
    and shuffled only when given a seed. Given NumPy arrays, ``fit`` would rebuild its input
    pipeline at every epoch, which costs more than an epoch of a small combiner."""
    import tensorflow as tf

    features = inputs[0] if len(inputs) == 1 else tuple(inputs)
    pipeline = tf.data.Dataset.from_tensor_slices((features, np.asarray(labels)))
    if shuffle_seed is not None:
        pipeline = pipeline.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    # stored features may be float16 and views uint8 (less memory); the models take float32
    return pipeline.batch(batch_size).map(
        lambda x, y: (tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), x), y))


@dataclass
class Data:
    """Everything a notebook needs to train or evaluate: pipelines, labels, files, classes."""

    split: Split
    train: object
    val: object
    test: object
    image_size: int = 0
    batch_size: int = 32

    @property
    def class_names(self) -> list[str]:
        return self.split.class_names

    def labels(self, split: str) -> np.ndarray:
        return self.split.labels(split)

    def files(self, split: str) -> list[Path]:
        return self.split.files(split)

    def images(self, split: str) -> np.ndarray:
        """Every image of a split as one uint8 array, in file order (for stored views and
        features; the training pipeline itself is shuffled)."""
        pipeline = make_dataset(self.files(split), self.labels(split), self.image_size,
                                self.batch_size, training=False)
        return np.concatenate([images.numpy() for images, _ in pipeline]).astype(np.uint8)


def load_data(settings: Settings, split_with=None) -> Data:
    """The three pipelines of this run's fixed split (training shuffled, the others not);
    ``split_with`` makes the split when none is saved yet (see ``load_split``)."""
    split = load_split(settings, split_with=split_with)
    train, val, test = (
        make_dataset(split.files(name), split.labels(name), settings.image_size,
                     settings.batch_size, training=name == "train", seed=settings.seed)
        for name in ("train", "val", "test"))
    return Data(split, train, val, test, settings.image_size, settings.batch_size)


def image_sizes(files: list[Path]) -> np.ndarray:
    """(width, height) of each image, read from the headers only (fast)."""
    from PIL import Image

    sizes = []
    for path in files:
        with Image.open(path) as image:
            sizes.append(image.size)
    return np.array(sizes)


# --------------------------------------------------------------------------- command line
def describe(settings: Settings) -> str:
    """The dataset summary printed by ``python -m helpers.data describe``."""
    result = scan(dataset_root(settings))
    if not artifacts.split_path(settings).exists():
        return (f"{settings}\n\n{result}\n\nNo split yet: "
                f"{catalogue.made_by('split')}.ipynb makes it.")
    split = load_split(settings, result)
    return f"{settings}\n\n{result}\n\nSplit ({split.manifest}):\n{split}"


def main(argv: list[str] | None = None) -> int:
    parser = helpers.command_line("data", __doc__)
    parser.add_argument("command", choices=["describe", "download"])
    parser.add_argument("--target", type=Path, default=None,
                        help="download folder (default: ENSEMBLE_DATA_DIR or ./data)")
    args = parser.parse_args(argv)
    try:
        settings = config.load()
        if args.command == "describe":
            print(describe(settings))
        else:
            target = args.target or settings.data_dir or config.project_root() / "data"
            print(f"Downloading {KAGGLE_DATASET} (version {KAGGLE_VERSION}) into {target} ...")
            print(f"Done: {download(target)}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
