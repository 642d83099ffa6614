"""The run folder: where every artifact of a run lives, how it is written, and what made it.

Each combination of settings gets its own folder (``Settings.run_dir``); this module is the one
place that knows what is inside it: every artifact's path and the notebook that makes it (so a
missing one names the notebook to run); the one atomic writer (a temporary file, then a rename: a
killed kernel never leaves half a file) and the writers built on it; and provenance, the settings
and split an artifact was made with, recorded beside it and checked whenever it is read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from helpers import catalogue
from helpers.config import Settings


class MissingArtifactError(FileNotFoundError):
    """An artifact a notebook needs does not exist yet; the message says what to run."""


def _notebook_of(name: str) -> str:
    """The file name of the notebook that makes the artifact ``name``, for error messages."""
    return f"{catalogue.made_by(name)}.ipynb"


# --------------------------------------------------------------------------- paths
def split_path(settings: Settings) -> Path:
    return settings.path("split.csv")


def model_path(settings: Settings, name: str) -> Path:
    return settings.path("models", f"{name}.keras")


def combiner_path(settings: Settings, name: str) -> Path:
    return settings.path("models", "combiners", f"{name}.keras")


def predictions_path(settings: Settings, name: str) -> Path:
    return settings.path("predictions", f"{name}.npz")


def history_path(settings: Settings, name: str) -> Path:
    return settings.path("history", f"{name}.csv")


def figure_path(settings: Settings, file_name: str) -> Path:
    return settings.path("figures", file_name)


def selection_path(settings: Settings) -> Path:
    return settings.path("validation_choice.json")


def results_path(settings: Settings, notebook: str = "06_evaluation") -> Path:
    """The results file a notebook writes (``catalogue.RESULTS_FILES``)."""
    return settings.path(catalogue.RESULTS_FILES[notebook])


def summary_path(settings: Settings) -> Path:
    """The series' answer, written by notebook 09 beside its own results."""
    return settings.path("results_summary.json")


def shift_predictions_path(settings: Settings) -> Path:
    """Every model's probabilities on notebook 07's clean and corrupted copies."""
    return settings.path("predictions", "under_shift.npz")


def training_seconds_path(settings: Settings) -> Path:
    return settings.path("training_seconds.json")


def outputs(settings: Settings, notebook: str) -> list[Path]:
    """The files ``notebook`` saves that later notebooks read (none for a solutions notebook):
    the runner checks them before it starts a notebook that reads them."""
    member = {made: name for name, made in catalogue.MEMBERS.items()}.get(notebook)
    if member:
        return [model_path(settings, member), predictions_path(settings, member)]
    if notebook in catalogue.RESULTS_FILES:
        return [results_path(settings, notebook)]
    named = {catalogue.made_by("split"): split_path(settings),
             catalogue.made_by("validation_choice"): selection_path(settings)}
    return [named[notebook]] if notebook in named else []


def executed_dir(settings: Settings) -> Path:
    """Where the runner saves the executed notebooks and their timings."""
    return settings.path("executed")


# --------------------------------------------------------------------------- writing
def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)``, then rename the result to ``path``: readers see the old
    file or the new one, never half of one. The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.partial{path.suffix}")
    write(tmp)
    os.replace(tmp, path)
    return path


def write_text(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, payload: dict) -> Path:
    return write_text(path, json.dumps(payload, indent=2, default=str))


# --------------------------------------------------------------------------- provenance
def provenance(settings: Settings) -> dict:
    """What an artifact was made from: the settings that matter and a digest of the saved
    split (so a model trained on another split, or another class list, is recognised)."""
    manifest = split_path(settings)
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.exists() else None
    return {**settings.fingerprint(), "split_sha256": digest}


def differences(recorded: dict, current: dict, there: str = "there") -> str:
    """Every setting where ``recorded`` and ``current`` differ, as ``key: 'a' there, 'b' now``
    (empty when they agree)."""
    return "; ".join(f"{key}: {recorded.get(key)!r} {there}, {value!r} now"
                     for key, value in current.items() if recorded.get(key) != value)


def check_provenance(recorded: dict, settings: Settings, path: Path, name: str) -> None:
    """Raise a ``ValueError`` naming every difference between what ``path`` was made from
    and the current settings and split, and the notebook that remakes it."""
    if details := differences(recorded, provenance(settings)):
        raise ValueError(f"{path} was made with other settings or another split ({details}). "
                         f"It is not mixed into this run: rerun {_notebook_of(name)} with the "
                         f"current settings.")


def record_path(path: Path) -> Path:
    """The record of what the model at ``path`` was made from (``<name>.settings.json``)."""
    return path.with_suffix(".settings.json")


def check_record(path: Path, settings: Settings, name: str) -> None:
    """Raise a ``ValueError`` unless the saved model at ``path`` has a record of what it was
    made from that agrees with these settings and split (``check_provenance``)."""
    record = record_path(path)
    if not record.exists():
        raise ValueError(f"{path} has no record of the settings it was made with ({record.name} "
                         f"is missing), so it cannot be checked against this run. Rerun "
                         f"{_notebook_of(name)}.")
    check_provenance(json.loads(record.read_text(encoding="utf-8")), settings, path, name)


# --------------------------------------------------------------------------- models
def save_model(model, path: Path, settings: Settings | None = None) -> Path:
    """Save a Keras model atomically, without its optimizer's state: later notebooks only
    predict with it, and Adam's two averages per weight would triple the file. With
    ``settings``, what it was made from is recorded beside it first (``<name>.settings.json``)."""
    if settings is not None:
        write_json(record_path(path), provenance(settings))
    if getattr(model, "optimizer", None) is not None:  # an uncompiled copy, the same weights
        trained, model = model, type(model).from_config(model.get_config())
        model.set_weights(trained.get_weights())
    return write_atomic(path, model.save)


def load_checked(path: Path, settings: Settings, name: str, custom_objects: dict | None = None,
                 compile: bool = True):
    """Load a saved model in safe mode after checking the record beside it against the
    current settings and split; ``name`` picks the notebook named in the error.

    The series' own layers and losses are registered with Keras where they are defined
    (``keras.saving.register_keras_serializable``): the plumbing's when this function runs, the
    lesson's once the caller has imported the lesson module that defines them (importing
    ``helpers.ensembles`` imports notebook 05's). ``custom_objects`` hands Keras any others;
    ``compile=False`` skips the loss and metrics, all a model needs to predict."""
    import keras

    from helpers import models  # noqa: F401  (registers the backbones' preprocessing layer)

    if not path.exists():
        raise MissingArtifactError(f"'{name}' not found at {path}. Run {_notebook_of(name)} first "
                                   f"(with the same settings: {settings.run_name}).")
    check_record(path, settings, name)
    try:
        return keras.models.load_model(path, custom_objects=custom_objects, compile=compile,
                                       safe_mode=True)
    except TypeError as error:
        if "Could not locate" not in str(error):
            raise
        unknown = str(error).split(". ")[0]  # "Could not locate class 'WeightedAverage'"
        raise ValueError(f"{path}: {unknown}. Import the lesson module that defines it first "
                         f"(e.g. `import helpers.lesson.combiners` for notebook 05's layer), "
                         f"pass it in custom_objects, or load with compile=False when only "
                         f"its loss is missing and you only predict.") from None


def load_model(settings: Settings, name: str, custom_objects: dict | None = None,
               compile: bool = True):
    """``<run folder>/models/<name>.keras`` in safe mode, checked against the settings and split
    (see ``load_checked``)."""
    return load_checked(model_path(settings, name), settings, name, custom_objects, compile)


def load_combiner(settings: Settings, name: str, custom_objects: dict | None = None):
    """The saved combiner of ensemble ``name`` (notebook 05), checked like a model."""
    return load_checked(combiner_path(settings, name), settings, name, custom_objects)


def missing_members(settings: Settings,
                    names: tuple[str, ...] = catalogue.MEMBER_NAMES) -> list[str]:
    """The members whose model or cached predictions are not in the run folder."""
    return [n for n in names if not model_path(settings, n).exists()
            or not predictions_path(settings, n).exists()]


def check_members(settings: Settings, names: tuple[str, ...] = catalogue.MEMBER_NAMES) -> None:
    """Raise one clear error listing every member whose model or predictions are missing."""
    if missing := missing_members(settings, names):
        notebooks = ", ".join(_notebook_of(n) for n in missing)
        raise MissingArtifactError(
            f"Missing ensemble members for settings {settings.run_name}: {', '.join(missing)}. "
            f"Run {notebooks} first (or `python -m helpers.run`).")


# --------------------------------------------------------------------------- predictions
def save_predictions(settings: Settings, name: str, probabilities: dict[str, np.ndarray],
                     data, features: dict[str, np.ndarray] | None = None) -> Path:
    """Cache class probabilities of some splits (``{"val": ..., "test": ...}``), and optionally
    a member's penultimate features, with their labels, file order, class names and the
    settings and split that made them. ``data`` is a ``helpers.data.Data`` or ``Split``.
    Features are stored in float16, half the bytes of a workshop's bundle (VGG16's are the
    largest file in it), and read back as float32."""
    root = data.split.root if hasattr(data, "split") else data.root
    arrays = {}
    for split, values in (features or {}).items():
        arrays[f"{split}_features"] = np.asarray(values, dtype="float16")
    for split, probs in probabilities.items():
        labels = data.labels(split)
        if len(probs) != len(labels):
            raise ValueError(f"{name}: {len(probs)} predictions for {len(labels)} {split} images.")
        if f"{split}_features" in arrays and len(arrays[f"{split}_features"]) != len(labels):
            raise ValueError(f"{name}: features of {len(arrays[f'{split}_features'])} images for "
                             f"{len(labels)} {split} images.")
        arrays[f"{split}_probs"] = np.asarray(probs, dtype="float32")
        arrays[f"{split}_labels"] = labels
        arrays[f"{split}_files"] = np.array([str(p.relative_to(root))
                                             for p in data.files(split)])
    return _save_npz(settings, predictions_path(settings, name),
                     {"class_names": np.array(data.class_names), **arrays})


def load_predictions(settings: Settings, name: str) -> dict[str, np.ndarray]:
    """The cached predictions of one model, checked against the current settings and split."""
    return _load(settings, predictions_path(settings, name), name, f"Predictions of '{name}'")


def _save_npz(settings: Settings, path: Path, arrays: dict) -> Path:
    """Arrays in one ``.npz`` file, with the settings and split that made them."""
    return write_atomic(path, lambda tmp: np.savez(
        tmp, provenance=json.dumps(provenance(settings)), **arrays))


def _load(settings: Settings, path: Path, name: str, what: str) -> dict:
    """The ``.npz`` or JSON file at ``path``, checked against the settings and split when it
    records them; when it is missing, the error names the notebook that makes ``name``."""
    if not path.exists():
        raise MissingArtifactError(f"{what} not found at {path}. Run {_notebook_of(name)} first "
                                   f"(settings: {settings.run_name}).")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            loaded = {key: archive[key].astype("float32") if key.endswith("_features")
                      else archive[key] for key in archive.files}
        recorded = json.loads(str(loaded.pop("provenance")))
    else:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        recorded = loaded.pop("provenance", None)
    if recorded is not None:
        check_provenance(recorded, settings, path, name)
    return loaded


def record_training_seconds(settings: Settings, name: str, seconds: float) -> dict:
    """Add how long ``name`` took to train (measured by its notebook) to the run's record, which
    the families notebook reads to weigh training costs."""
    path = training_seconds_path(settings)
    record = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    record[name] = float(seconds)
    write_json(path, record)
    return record


def load_training_seconds(settings: Settings) -> dict[str, float]:
    return _load(settings, training_seconds_path(settings), "custom_cnn", "Training times")


def save_shift_predictions(settings: Settings, labels: np.ndarray, clean: dict, corrupted: dict,
                           subset: np.ndarray) -> Path:
    """Notebook 07's probabilities of every model on the clean test subset and on every
    corrupted copy of it, with the subset's indices, for the notebooks after it."""
    arrays = {"labels": labels, "subset": subset}
    for model, probs in clean.items():
        arrays[f"clean/{model}"] = probs
    for (corruption, severity), by_model in corrupted.items():
        for model, probs in by_model.items():
            arrays[f"{corruption}/{severity}/{model}"] = probs
    return _save_npz(settings, shift_predictions_path(settings), arrays)


def load_shift_predictions(settings: Settings) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """``labels, subset, clean, corrupted`` as notebook 07 computed them."""
    arrays = _load(settings, shift_predictions_path(settings), "under_shift",
                   "Predictions under shift")
    labels, subset = arrays.pop("labels"), arrays.pop("subset")
    clean, corrupted = {}, {}
    for key, probs in arrays.items():
        parts = key.split("/")
        if parts[0] == "clean":
            clean[parts[1]] = probs
        else:
            corrupted.setdefault((parts[0], int(parts[1])), {})[parts[2]] = probs
    return labels, subset, clean, corrupted


# --------------------------------------------------------------------------- what the run keeps
def fingerprints(settings: Settings) -> dict[str, str]:
    """SHA-256 of every file later notebooks read: under ``models/`` and ``predictions/``, the
    split and the results files. The solutions notebooks take it first and compare at their end,
    to show that an exercise never overwrites the run's members, predictions or results."""
    run_dir = settings.run_dir
    files = [path for folder in ("models", "predictions")
             for path in (run_dir / folder).rglob("*") if path.is_file()]
    files += [path for path in (split_path(settings), *run_dir.glob("*.json")) if path.is_file()]
    return {str(path.relative_to(run_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files}


def changed_since(settings: Settings, before: dict[str, str]) -> list[str]:
    """The kept files (see ``fingerprints``) changed, added or removed since ``before``."""
    after = fingerprints(settings)
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


# --------------------------------------------------------------------------- the validation choice
def save_selection(settings: Settings, member: str, ensemble: str, scores: dict[str, dict],
                   criterion: str, **details) -> dict:
    """Record, before the test split is opened, which member and which ensemble notebook 06
    compares, the criterion and every validation score they were chosen by, and what made
    them (settings and split). ``details`` (e.g. the number of folds) are recorded too."""
    choice = {"member": member, "ensemble": ensemble, "criterion": criterion, **details,
              "validation_scores": scores, "provenance": provenance(settings)}
    write_json(selection_path(settings), choice)
    return choice


def load_selection(settings: Settings) -> dict:
    """The choice notebook 05 recorded, checked against the current settings and split."""
    return _load(settings, selection_path(settings), "validation_choice",
                 "The record of the choice made on validation")


def load_results(settings: Settings, notebook: str = "06_evaluation") -> dict:
    """A results file written by ``notebook``, or a clear error naming the notebook to run."""
    return _load(settings, results_path(settings, notebook), notebook,
                 catalogue.RESULTS_FILES[notebook])
