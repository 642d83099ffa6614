"""Hand learners trained members: one file with what notebooks 01 to 04 made for some settings.

    python -m helpers.bundle pack FILE     # the night before: after notebooks 01-04 have run
    python -m helpers.bundle unpack FILE   # each learner, with the same settings: start at 05

The file (a zip) holds the split, the three members, their cached predictions and features, their
histories and training times, and a manifest with the settings they were made with and a digest of
every file. ``unpack`` checks all of it first: a bundle made for other settings or other data
files, a damaged file or one that is not a bundle stops with a message and writes nothing; it
never overwrites a file that differs from the bundle's.

The learner's data folder may have another name or path than the instructor's when it holds the
same files (the split's paths and sizes, as ``helpers.data.load_split`` checks them): the records
of what each file was made from name the settings and the split's digest, never a folder, so the
files go unchanged into the learner's run folder for the same settings.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

from helpers import artifacts, catalogue, command_line, config, data
from helpers.config import Settings


FORMAT = "ensembling-keras3 members bundle"
VERSION = 2  # 2: records name no data folder


def contents(settings: Settings) -> list[Path]:
    """The files of notebooks 01-04 that the later notebooks read, relative to the run folder."""
    files = [artifacts.split_path(settings), artifacts.training_seconds_path(settings)]
    for name in catalogue.MEMBER_NAMES:
        model = artifacts.model_path(settings, name)
        files += [model, artifacts.record_path(model), artifacts.predictions_path(settings, name)]
        history = artifacts.history_path(settings, name)  # and its stages' (vgg16_head.csv)
        files += sorted(history.parent.glob(f"{name}*.csv"))
    return [f.relative_to(settings.run_dir) for f in files]


def pack(settings: Settings, target: Path) -> Path:
    """Write the bundle of this run's members to ``target``."""
    if missing := [str(f) for f in contents(settings) if not (settings.run_dir / f).exists()]:
        raise artifacts.MissingArtifactError(
            f"Nothing packed: {', '.join(missing)} missing in {settings.run_dir}. Run notebooks "
            f"01-04 first with these settings (`python -m helpers.run --only 01,02,03,04`).")
    files = {str(f): (settings.run_dir / f).read_bytes() for f in contents(settings)}
    manifest = {"format": FORMAT, "version": VERSION, "run": settings.run_name,
                "settings": settings.fingerprint(),
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}

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
    try:
        with zipfile.ZipFile(source) as bundle:
            manifest = json.loads(bundle.read("bundle.json"))
            files = {name: bundle.read(name) for name in manifest["files"]}
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ValueError(f"{source} is not a readable bundle ({type(error).__name__}: {error}). "
                         f"Make one with `python -m helpers.bundle pack FILE`, and copy it again "
                         f"if it was damaged on the way.") from None
    if (manifest.get("format"), manifest.get("version")) != (FORMAT, VERSION):
        raise ValueError(f"{source} is not a bundle of this version of the series (format "
                         f"{manifest.get('format')!r}, version {manifest.get('version')!r}; this "
                         f"one reads version {VERSION}): ask for a bundle packed with it.")
    if damaged := [name for name, content in files.items()
                   if hashlib.sha256(content).hexdigest() != manifest["files"][name]]:
        raise ValueError(f"{source} is damaged: {', '.join(damaged)} differ from the digests it "
                         f"was packed with. Copy the bundle again. Nothing was unpacked.")
    details = artifacts.differences(manifest["settings"], settings.fingerprint(), "in the bundle")
    if details and manifest["settings"].get("generated_data") and not settings.uses_generated_data:
        details += " (a bundle of the generated dataset: leave ENSEMBLE_DATA_DIR unset)"
    if details:
        raise ValueError(f"{source} was packed for other settings ({details}). Set the "
                         f"ENSEMBLE_* variables (see the README's Presets) to the bundle's, or "
                         f"ask for a bundle of yours. Nothing was unpacked.")
    if not settings.uses_generated_data:  # the same files as the split's (in any folder)
        root = data.locate_dataset(settings.data_dir)
        split = files[str(artifacts.split_path(settings).relative_to(settings.run_dir))]
        rows = data.read_manifest(split.decode("utf-8"))
        if changed := data.changed_files(root, rows):
            raise ValueError(f"{source} was packed for other data files: {len(changed)} of its "
                             f"split's {len(rows)} files are missing or differ in size in "
                             f"{root} (e.g. {changed[0]}). Point ENSEMBLE_DATA_DIR at the dataset "
                             f"the bundle was made with, or ask for a bundle of yours. Nothing "
                             f"was unpacked.")
    if clashes := [name for name, content in files.items() if (settings.run_dir / name).exists()
                   and (settings.run_dir / name).read_bytes() != content]:
        raise ValueError(f"{settings.run_dir} already holds other versions of "
                         f"{', '.join(clashes)}; move that folder away to unpack the bundle. "
                         f"Nothing was unpacked.")
    return [artifacts.write_atomic(settings.run_dir / name, lambda t, c=content: t.write_bytes(c))
            for name, content in files.items() if not (settings.run_dir / name).exists()]


def main(argv: list[str] | None = None) -> int:
    parser = command_line("bundle", __doc__)
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
