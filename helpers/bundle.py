"""Hand learners trained members: one file with what notebooks 01 to 04 made for some settings.

    python -m helpers.bundle pack FILE     # the night before: after notebooks 01-04 have run
    python -m helpers.bundle unpack FILE   # each learner, with the same settings: start at 05

The file (a zip) holds the split, the three members, their cached predictions and features, their
histories and training times, and a manifest with the settings they were made with and a digest of
every file. ``unpack`` checks all of it first: a bundle made for other settings or other data
files, a damaged file or one that is not a bundle stops with a message and writes nothing; it
never overwrites a file that differs from the bundle's.

The learner's data folder may have another name or path than the instructor's when it holds the
same files (the split's paths and sizes, as ``helpers.data.load_split`` checks them): the files
go into the learner's run folder for the same settings, and the records of what they were made
from name the learner's data folder.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from helpers import artifacts, catalogue, config, data
from helpers.config import Settings


FORMAT = "ensembling-keras3 members bundle"
VERSION = 1


def contents(settings: Settings) -> list[Path]:
    """The files of notebooks 01-04 that the later notebooks read, relative to the run folder."""
    files = [artifacts.split_path(settings), artifacts.training_seconds_path(settings)]
    for name in catalogue.MEMBER_NAMES:
        model = artifacts.model_path(settings, name)
        files += [model, artifacts.record_path(model), artifacts.predictions_path(settings, name)]
        history = artifacts.history_path(settings, name)  # and its stages' (vgg16_head.csv)
        files += sorted(history.parent.glob(f"{name}*.csv"))
    return [f.relative_to(settings.run_dir) for f in files]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _relative(path: Path, settings: Settings) -> str:
    """The name of a run folder's file inside a bundle (its path in the run folder)."""
    return path.relative_to(settings.run_dir).as_posix()


def _check_same_files(settings: Settings, split_csv: bytes, source: Path) -> None:
    """Raise a ``ValueError`` unless the learner's data folder holds every file of the bundle's
    split, with the same size (what ``data.load_split`` checks against a saved split)."""
    root = data.locate_dataset(settings.data_dir)
    rows = list(csv.DictReader(io.StringIO(split_csv.decode("utf-8"))))
    changed = [r["path"] for r in rows if not (root / r["path"]).is_file()
               or (root / r["path"]).stat().st_size != int(r["bytes"])]
    if changed:
        raise ValueError(f"{source} was packed for other data files: {len(changed)} of its "
                         f"split's {len(rows)} files are missing or differ in size in {root} "
                         f"(e.g. {changed[0]}). Point ENSEMBLE_DATA_DIR at the dataset the "
                         f"bundle was made with, or ask for a bundle of yours. Nothing was "
                         f"unpacked.")


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as an ``.npz`` file (what ``np.savez`` writes), byte for byte the same for the
    same arrays: unpacking twice finds the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for key, value in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{key}.npy"), "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)
    return buffer.getvalue()


def _relocated(name: str, content: bytes, data_dir: str) -> bytes:
    """``content`` with the data folder in its record of provenance (a model's
    ``.settings.json``, or the ``provenance`` of an ``.npz`` or ``.json``) set to ``data_dir``:
    checked to hold the same files, the learner's folder is what the files were made from."""
    if name.endswith(".npz"):
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        if "provenance" not in arrays:
            return content
        record = json.loads(str(arrays["provenance"]))
        if record.get("data_dir", data_dir) == data_dir:
            return content
        arrays["provenance"] = np.asarray(json.dumps({**record, "data_dir": data_dir}))
        return _npz_bytes(arrays)
    if name.endswith(".json"):
        payload = json.loads(content)
        record = payload if name.endswith(".settings.json") else payload.get("provenance")
        if not isinstance(record, dict) or record.get("data_dir", data_dir) == data_dir:
            return content
        record["data_dir"] = data_dir
        return json.dumps(payload, indent=2, default=str).encode("utf-8")
    return content


def pack(settings: Settings, target: Path) -> Path:
    """Write the bundle of this run's members to ``target``."""
    missing = [str(f) for f in contents(settings) if not (settings.run_dir / f).exists()]
    if missing:
        raise artifacts.MissingArtifactError(
            f"Nothing packed: {', '.join(missing)} missing in {settings.run_dir}. Run notebooks "
            f"01-04 first with these settings (`python -m helpers.run --only 01,02,03,04`).")
    files = {str(f): (settings.run_dir / f).read_bytes() for f in contents(settings)}
    manifest = {"format": FORMAT, "version": VERSION, "run": settings.run_name,
                "settings": settings.fingerprint(),
                "files": {name: _digest(data) for name, data in files.items()}}

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr("bundle.json", json.dumps(manifest, indent=2))
            for name, content in files.items():
                bundle.writestr(name, content)

    return artifacts.write_atomic(Path(target), write)


def unpack(settings: Settings, source: Path) -> list[Path]:
    """Check the bundle at ``source`` against these settings, then write its files into this
    run's folder; return the files written. Raises ``ValueError`` (nothing written) when the
    bundle is foreign, damaged, made for other settings or other data files, or would overwrite
    a different file. The data folder's name and path may differ when it holds the same files."""
    source = Path(source)
    try:
        with zipfile.ZipFile(source) as bundle:
            manifest = json.loads(bundle.read("bundle.json"))
            files = {name: bundle.read(name) for name in manifest["files"]}
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ValueError(f"{source} is not a readable bundle ({type(error).__name__}: {error}). "
                         f"Make one with `python -m helpers.bundle pack FILE`, and copy it again "
                         f"if it was damaged on the way.") from None
    if (manifest.get("format"), manifest.get("version")) != (FORMAT, VERSION):
        raise ValueError(f"{source} is not a bundle of this series (format "
                         f"{manifest.get('format')!r}, version {manifest.get('version')!r}).")
    damaged = [name for name, content in files.items()
               if _digest(content) != manifest["files"][name]]
    if damaged:
        raise ValueError(f"{source} is damaged: {', '.join(damaged)} differ from the digests it "
                         f"was packed with. Copy the bundle again. Nothing was unpacked.")
    packed, here = dict(manifest["settings"]), settings.fingerprint()
    packed_data, data_dir = packed.pop("data_dir", None), here.pop("data_dir")
    details = artifacts.differences(packed, here, "in the bundle")
    if packed_data != data_dir and (settings.uses_generated_data or packed_data == "generated"):
        details = "; ".join(filter(None, [details, f"data_dir: {packed_data!r} in the bundle, "
                                                   f"{data_dir!r} now"]))
        if packed_data == "generated":
            details += " (a bundle of the generated dataset: leave ENSEMBLE_DATA_DIR unset)"
    if details:
        raise ValueError(f"{source} was packed for other settings ({details}). Set the "
                         f"ENSEMBLE_* variables (see the README's Presets) to the bundle's, or "
                         f"ask for a bundle of yours. Nothing was unpacked.")
    if not settings.uses_generated_data:
        _check_same_files(settings, files[_relative(artifacts.split_path(settings), settings)],
                          source)
    if packed_data != data_dir:  # the same files in another folder
        files = {name: _relocated(name, content, data_dir) for name, content in files.items()}
    clashes = [name for name, content in files.items() if (settings.run_dir / name).exists()
               and (settings.run_dir / name).read_bytes() != content]
    if clashes:
        raise ValueError(f"{settings.run_dir} already holds other versions of "
                         f"{', '.join(clashes)}; move that folder away to unpack the bundle. "
                         f"Nothing was unpacked.")
    written = []
    for name, content in files.items():
        path = settings.run_dir / name
        if not path.exists():
            written.append(artifacts.write_atomic(path, lambda tmp, c=content: tmp.write_bytes(c)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bundle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["pack", "unpack"])
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    try:
        settings = config.load()
        if args.command == "pack":
            path = pack(settings, args.file)
            print(f"Packed the members of {settings.run_name} into {path} "
                  f"({path.stat().st_size / 1e6:.0f} MB).")
        else:
            written = unpack(settings, args.file)
            print(f"Unpacked {len(written)} files into {settings.run_dir}: start at notebook 05.")
    except (ValueError, artifacts.MissingArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
