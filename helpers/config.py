"""One place that decides every setting of the series.

Each notebook starts with ``settings = config.load()`` and prints it, so a learner
always sees which data, image size, epochs and weights a run used. Settings come from
a *preset* (``smoke``, ``cpu``, ``gpu``) chosen by ``ENSEMBLE_PRESET`` and can each be
overridden by an environment variable; the names below are an interface that other
tools rely on, so they never change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


PRESET_VARIABLE = "ENSEMBLE_PRESET"
PRESET_NAMES = ("smoke", "cpu", "gpu")

#: The defaults of each preset, and every rule that differs between presets (no code elsewhere
#: tests the preset's name). ``data_dir=None`` means "the generated dataset"
#: (``helpers.generated_dataset``).
#: - ``needs_gpu``: the preset is too heavy without a GPU (Colab refuses it on a CPU runtime);
#: - ``corruptions``: notebook 07's corruption types (None: all); ``cpu``: one of each kind, as
#:   256 images per copy tell models apart better than more kinds of fewer images;
#: - ``latency_calls``: timed calls per model and batch size after a warm-up call (notebooks 06,
#:   08, 09); ``smoke``'s two only check the plumbing; ``cpu``'s three save time, a noisier median;
#: - ``views``: augmented views stored per training image in 03 and 04 (benchmarks/stored_views);
#: - ``combiner_epochs``: the most epochs of a combiner's fit in notebook 05 (early stopping);
#: - ``folds``: the most folds of notebook 05's cross-fitting (fewer when a class is smaller);
#: - ``subset_per_class``: on real photos, at most this many images per class of the whole split,
#:   in its proportions (seeded): ``smoke`` on photos then takes about its time on generated ones;
#: - ``family_members``, ``dropout_samples``: M, the copies and snapshots of notebook 09's
#:   ensembles, and S, its MC-dropout samples.
PRESETS: dict[str, dict] = {
    # smoke: the cpu preset's code path (random weights frozen where ImageNet weights would be)
    # on generated images, as small and short as the code allows.
    "smoke": {"image_size": 48, "epochs": 2, "weights": "random", "batch_size": 32,
              "max_per_class": None, "generated_data": True, "needs_gpu": False,
              "shift_images": None, "corruptions": ("gaussian_noise", "gaussian_blur"),
              "latency_calls": 2, "views": 2, "combiner_epochs": 20, "family_members": 2,
              "dropout_samples": 2, "folds": 2, "subset_per_class": 24},
    # The split is the whole dataset's; only training is capped (100 images per class). Frozen
    # parts run once per stored view (2 views: more leave no margin for a slower machine).
    # Sized by end-to-end runs on a generated dataset of the real size
    # (benchmarks/real_size_run.py; its results record the time). Notebook 07 corrupts 256 of
    # the test images in three corruption types (enough to tell gaps of a few points apart).
    "cpu": {"image_size": 128, "epochs": 10, "weights": "imagenet", "batch_size": 32,
            "max_per_class": 100, "generated_data": False, "needs_gpu": False,
            "shift_images": 256, "corruptions": ("gaussian_noise", "gaussian_blur", "contrast"),
            "latency_calls": 3, "views": 2, "combiner_epochs": 100, "family_members": 3,
            "dropout_samples": 16, "folds": 5, "subset_per_class": None},
    "gpu": {"image_size": 224, "epochs": 80, "weights": "imagenet", "batch_size": 32,
            "max_per_class": None, "generated_data": False, "needs_gpu": True,
            "shift_images": None, "corruptions": None, "latency_calls": 5, "views": 4,
            "combiner_epochs": 100, "family_members": 3, "dropout_samples": 16, "folds": 5,
            "subset_per_class": None},
}

#: The environment variables, one per setting.
VARIABLES = {
    "data_dir": "ENSEMBLE_DATA_DIR",
    "artifacts_root": "ENSEMBLE_ARTIFACTS_DIR",
    "image_size": "ENSEMBLE_IMAGE_SIZE",
    "epochs": "ENSEMBLE_EPOCHS",
    "batch_size": "ENSEMBLE_BATCH_SIZE",
    "weights": "ENSEMBLE_WEIGHTS",
    "max_per_class": "ENSEMBLE_MAX_PER_CLASS",
    "seed": "ENSEMBLE_SEED",
    "shift_images": "ENSEMBLE_SHIFT_IMAGES",
}
DEFAULT_SEED = 42
#: The custom CNN's four 3x3 convolutions and 2x2 poolings need at least 46 pixels, and the
#: pre-trained backbones at least 32; below that notebook 02 would fail with a shape error.
MIN_IMAGE_SIZE = 48
#: ``random``: random weights, frozen where ImageNet weights would be. The members then learn
#: little, but cost exactly what they cost with ImageNet weights: for timing ``cpu`` offline.
WEIGHT_CHOICES = ("imagenet", "none", "random")


def project_root() -> Path:
    """The repository folder (where ``pyproject.toml`` is), else the current folder."""
    candidate = Path(__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").exists() else Path.cwd()


#: How each variable's value is read: the smallest whole number allowed, and whether ``none``
#: (all images) is allowed.
WHOLE_NUMBERS = {"image_size": (MIN_IMAGE_SIZE, False), "epochs": (1, False),
                 "batch_size": (1, False), "max_per_class": (3, True), "seed": (0, False),
                 "shift_images": (8, True)}


@dataclass(frozen=True)
class Settings:
    """Every setting of a run: the preset's row of ``PRESETS``, with the environment's
    overrides. ``run_dir`` holds all artifacts of exactly these settings."""

    preset: str
    data_dir: Path | None  # None: the generated dataset
    artifacts_root: Path
    image_size: int
    epochs: int
    batch_size: int
    weights: str  # "imagenet", "none" or "random"
    max_per_class: int | None
    seed: int
    shift_images: int | None  # test images per corrupted copy in notebook 07 (None: all)
    corruptions: tuple[str, ...] | None  # corruption types of notebook 07 (None: all)
    latency_calls: int  # timed inference calls per model and batch size
    views: int  # stored augmented views per training image
    combiner_epochs: int  # the most epochs of a combiner's fit
    family_members: int  # M: deep-ensemble copies and snapshots
    dropout_samples: int  # S: MC-dropout samples
    folds: int  # the most folds of the cross-fitting
    subset_per_class: int | None  # on real photos: at most this many images per class in all
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    overrides: tuple[str, ...] = field(default=(), compare=False)

    @property
    def keras_weights(self) -> str | None:
        """The ``weights=`` argument for ``keras.applications`` models."""
        return "imagenet" if self.weights == "imagenet" else None

    @property
    def uses_generated_data(self) -> bool:
        return self.data_dir is None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.image_size, self.image_size, 3)

    @property
    def run_name(self) -> str:
        """A readable folder name: runs with different data-affecting settings never mix."""
        data_tag = "generated" if self.data_dir is None else self.data_dir.name.replace(" ", "_")
        name = f"{self.preset}-{data_tag}-{self.image_size}px-{self.weights}-seed{self.seed}"
        return name + (f"-max{self.max_per_class}" if self.max_per_class else "")

    @property
    def run_dir(self) -> Path:
        return self.artifacts_root / self.run_name

    @property
    def generated_data_dir(self) -> Path:
        """Where the generated dataset lives (shared by every run that uses it)."""
        return self.artifacts_root / "generated_data" / "natural_images"

    def path(self, *parts: str) -> Path:
        """A path inside this run's artifacts folder. Nothing is created: the writers in
        ``helpers.artifacts`` make the folders they write into."""
        return self.run_dir.joinpath(*parts)

    def fingerprint(self) -> dict:
        """The settings that make artifacts comparable; recorded beside every artifact. The
        data are named by kind only (generated or a folder of photos), never by path: the
        split's digest (``artifacts.provenance``) identifies the files, wherever they are."""
        keys = ("preset", "image_size", "weights", "seed", "max_per_class", "val_fraction",
                "test_fraction")
        return {"generated_data": self.uses_generated_data,
                **{key: getattr(self, key) for key in keys}}

    def __str__(self) -> str:
        rows = [("preset", self.preset), ("data", "the generated dataset"
                                          if self.data_dir is None else str(self.data_dir))]
        rows += [(name, getattr(self, name)) for name in
                 ("image_size", "epochs", "batch_size", "weights", "max_per_class", "seed",
                  "shift_images", "views", "combiner_epochs", "folds", "family_members",
                  "dropout_samples")]
        rows.append(("artifacts", str(self.run_dir)))
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}} : {v}" + ("   (from environment)" if k in self.overrides else "")
                 for k, v in rows]
        return "\n".join(lines + [f"Note: {note}" for note in self.notes()])

    def notes(self) -> list[str]:
        """What a reader must know before trusting the numbers of a run with these settings,
        and which of the notebooks' marked passages describe this run."""
        tiny = ("a generated dataset" if self.uses_generated_data else f"a seeded stratified "
                f"subset of the photos (at most {self.subset_per_class} per class)")
        notes = [f"{tiny} and few epochs: the numbers test the code, not the method. Use the cpu "
                 f"or gpu preset for findings."] if self.subset_per_class else []
        if self.weights == "none":
            notes += ["no ImageNet weights: the members are weaker than the series is designed "
                      "for.", "passages marked **With ImageNet weights:** describe the other "
                      "path; those marked **Without ImageNet weights:** describe this run."]
        elif self.weights == "random":
            notes += ["random weights frozen where ImageNet weights would be: the members learn "
                      "little; this times the code.", "passages marked **With ImageNet "
                      "weights:** describe this run's code path (a frozen bottom), here with "
                      "random weights in it; those marked **Without ImageNet weights:** "
                      "describe ENSEMBLE_WEIGHTS=none."]
        elif self.image_size < 96:
            notes.append(f"images of {self.image_size} px: passages marked **With ImageNet "
                         f"weights:** assume photos of 96 px or more, as ImageNet's features "
                         f"were learned at 224 px.")
        return notes


def _read(name: str, raw: str):
    """The value of the variable for setting ``name``, or a ``ValueError`` naming the fix."""
    variable, raw = VARIABLES[name], raw.strip()
    if name == "weights":
        if raw.lower() not in WEIGHT_CHOICES:
            raise ValueError(f"{variable}={raw!r} is not allowed; choose one of: "
                             f"{', '.join(WEIGHT_CHOICES)}.")
        return raw.lower()
    if name in ("data_dir", "artifacts_root"):
        path = Path(raw).expanduser()  # relative: from here, else from the project root,
        if not path.is_absolute() and not path.exists() and (project_root() / path).exists():
            path = project_root() / path  # as Jupyter kernels run inside notebooks/
        return path.resolve()
    minimum, allow_none = WHOLE_NUMBERS[name]
    if allow_none and raw.lower() in ("", "none", "all", "0"):
        return None
    try:
        value = int(raw)
    except ValueError:
        hint = " (or 'none' for all images)" if allow_none else ""
        raise ValueError(f"{variable}={raw!r} is not a whole number; use an integer >= "
                         f"{minimum}{hint}.") from None
    if value < minimum:
        raise ValueError(f"{variable}={value} is too small; use an integer >= {minimum}.")
    return value


def gpus() -> int:
    """How many GPUs TensorFlow sees (the preset ``auto`` is ``gpu`` when there is one)."""
    from helpers import quiet_tensorflow

    quiet_tensorflow()  # a no-op where TensorFlow is already imported
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def load(env: dict | None = None) -> Settings:
    """Build the settings from the preset and the ``ENSEMBLE_*`` environment variables.

    Raises ``ValueError`` naming the variable and the allowed values for any bad value.
    """
    env = dict(os.environ if env is None else env)
    preset = env.get(PRESET_VARIABLE, "auto").strip().lower() or "auto"
    preset = ("gpu" if gpus() else "cpu") if preset == "auto" else preset
    if preset not in PRESETS:
        raise ValueError(f"{PRESET_VARIABLE}={preset!r} is not a preset; "
                         f"choose one of: auto, {', '.join(PRESET_NAMES)}.")
    row = {key: value for key, value in PRESETS[preset].items()
           if key not in ("generated_data", "needs_gpu")}
    defaults = {"data_dir": None if PRESETS[preset]["generated_data"] else project_root() / "data",
                "artifacts_root": project_root() / "artifacts", "seed": DEFAULT_SEED}
    given = {name: _read(name, env[var]) for name, var in VARIABLES.items()
             if env.get(var, "").strip()}
    return Settings(preset=preset, **{**row, **defaults, **given},
                    overrides=tuple(sorted(given)))


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call.

    The original tutorial wrote ``random.seed = 1``: that *replaces* the function
    ``random.seed`` with the number 1 and seeds nothing. ``keras.utils.set_random_seed``
    calls ``random.seed``, ``np.random.seed`` and ``tf.random.set_seed`` for us.
    """
    import keras

    keras.utils.set_random_seed(seed)


def get_strategy():
    """``MirroredStrategy`` over all GPUs when there is more than one, else the default strategy,
    so model-building code runs unchanged on any machine."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    return tf.distribute.get_strategy()
