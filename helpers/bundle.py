"""Hand learners trained members: one file with what notebooks 01 to 04 made for some settings.

    python -m helpers.bundle pack FILE     # the night before: after notebooks 01-04 have run
    python -m helpers.bundle unpack FILE   # each learner, with the same settings: start at 05

The file (a zip) holds the split, the three members, their cached predictions and features, their
histories and training times, and a manifest with the settings they were made with and a digest of
every file. ``unpack`` checks all of it first: a bundle made for other settings, a damaged file or
one that is not a bundle stops with a message and writes nothing; it never overwrites a file that
differs from the bundle's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from helpers import artifacts, catalogue, config
from helpers.config import Settings


FORMAT = "ensembling-keras3 members bundle"
VERSION = 1


def contents(settings: Settings) -> list[Path]:
    """The files of notebooks 01-04 that the later notebooks read, relative to the run folder."""
    names = catalogue.MEMBER_NAMES
    files = [Path("split.csv"), Path("training_seconds.json")]
    for name in names:
        model = artifacts.model_path(settings, name)
        files += [model, model.with_suffix(".settings.json"),
                  artifacts.predictions_path(settings, name)]
        files += sorted(settings.path("history").glob(f"{name}*.csv"))
    return [Path(f).relative_to(settings.run_dir) if Path(f).is_absolute() else Path(f)
            for f in files]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
            for name, data in files.items():
                bundle.writestr(name, data)

    return artifacts.write_atomic(Path(target), write)


def unpack(settings: Settings, source: Path) -> list[Path]:
    """Check the bundle at ``source`` against these settings, then write its files into this
    run's folder; return the files written. Raises ``ValueError`` (nothing written) when the
    bundle is foreign, damaged, made for other settings, or would overwrite a different file."""
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
    damaged = [name for name, data in files.items() if _digest(data) != manifest["files"][name]]
    if damaged:
        raise ValueError(f"{source} is damaged: {', '.join(damaged)} differ from the digests it "
                         f"was packed with. Copy the bundle again. Nothing was unpacked.")
    details = artifacts.differences(manifest["settings"], settings.fingerprint(), "in the bundle")
    if details:
        raise ValueError(f"{source} was packed for other settings ({details}). Set the "
                         f"ENSEMBLE_* variables (see the README's Presets) to the bundle's, or "
                         f"ask for a bundle of yours. Nothing was unpacked.")
    clashes = [name for name, data in files.items() if (settings.run_dir / name).exists()
               and (settings.run_dir / name).read_bytes() != data]
    if clashes:
        raise ValueError(f"{settings.run_dir} already holds other versions of "
                         f"{', '.join(clashes)}; move that folder away to unpack the bundle. "
                         f"Nothing was unpacked.")
    written = []
    for name, data in files.items():
        path = settings.run_dir / name
        if not path.exists():
            written.append(artifacts.write_atomic(path, lambda tmp, d=data: tmp.write_bytes(d)))
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
            print(f"Packed the members of {settings.run_name} into {pack(settings, args.file)}")
        else:
            written = unpack(settings, args.file)
            print(f"Unpacked {len(written)} files into {settings.run_dir}: start at notebook 05.")
    except (ValueError, artifacts.MissingArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
