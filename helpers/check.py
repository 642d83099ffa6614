"""Is this machine ready for the day? One command, offline, in seconds::

    python -m helpers.check

One line per item, each marked ``✓`` (ready), ``✗`` (missing: the settings need it) or ``!``
(works, but differs from the workshop's set-up), with the fix: the Python version, the packages
against ``requirements.txt``, the preset and why, the dataset, the ImageNet weights in Keras'
cache, the members of these settings (unpacked from a bundle or trained), and the free disk and
memory. It exits with 1 when something the settings need is missing, else 0. It reads only:
no split, no folder, no download (importing Keras may create Keras' own ``keras.json``).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers import catalogue, colab, command_line, config
from helpers.config import Settings


#: What a whole run of each preset needs (GiB), with a margin. Memory: the peak of every process
#: of a run, as ``benchmarks/peak_memory.py`` measures it (its results are in benchmarks/); gpu
#: is not measured, so it asks at least what cpu does. Disk: the run folder (mostly saved models),
#: plus the real dataset and the weights for cpu and gpu.
NEEDS_GIB = {"smoke": {"memory": 1.5, "disk": 1.0},
             "cpu": {"memory": 3.5, "disk": 2.0},
             "gpu": {"memory": 3.5, "disk": 3.0}}
SETUP = "pip install -r requirements.txt"
GET_MEMBERS = ("python -m helpers.bundle unpack FILE (the instructor's bundle), or run notebooks "
               "01-04: python -m helpers.run --only 01,02,03,04")

OK, MISSING, NOTE = "ok", "missing", "note"


@dataclass
class Line:
    """One item of the check: its status, what was found, and what to do about it."""

    status: str  # OK, MISSING (the settings need it) or NOTE (works, but worth knowing)
    item: str
    found: str
    fix: str = ""


# --------------------------------------------------------------------------- the items
def python_version() -> Line:
    """This Python against pyproject.toml's ``requires-python``."""
    from packaging.specifiers import SpecifierSet

    needed = SpecifierSet(colab.pyproject()["project"]["requires-python"])
    version = ".".join(map(str, sys.version_info[:3]))
    if needed.contains(version):
        return Line(OK, "Python", f"{version} (needs {needed})")
    return Line(MISSING, "Python", f"{version}, the series needs {needed}",
                f"install a Python {needed} and make the venv with it")


def requirements() -> list[str]:
    """The requirement lines of ``requirements.txt`` (options such as ``-e .`` left out)."""
    lines = (config.project_root() / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines
            if line.split("#")[0].strip() and not line.strip().startswith("-")]


def _outside_range(listed: list[str]) -> tuple[list[str], int]:
    """The packages of ``listed`` that are missing or outside their range, and how many apply
    to this machine (environment markers)."""
    from packaging.requirements import Requirement

    applying = [r for r in map(Requirement, listed) if not r.marker or r.marker.evaluate()]
    wrong = []
    for requirement in applying:
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{requirement.name} missing")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{requirement.name} {version} (needs {requirement.specifier})")
    return wrong, len(applying)


def packages() -> list[Line]:
    """What the notebooks import (pyproject.toml) and the tools (requirements.txt), each
    installed version against its range. Missing tools do not stop the notebooks."""
    lines = []
    for item, listed, status, why in (
            ("packages", colab.runtime_dependencies(), MISSING,
             "what the notebooks import"),
            ("tools", requirements(), NOTE, "JupyterLab and the tests")):
        wrong, checked = _outside_range(listed)
        lines.append(Line(status, item, ", ".join(wrong), f"{SETUP} (in the venv)") if wrong
                     else Line(OK, item, f"all {checked} in their ranges ({why})"))
    return lines


def preset(env: dict, seen_gpus: int) -> Line:
    """The preset these settings use, what ``auto`` chooses here and why."""
    auto = "gpu" if seen_gpus else "cpu"
    why = (f"TensorFlow sees {seen_gpus} GPU(s)" if seen_gpus else "TensorFlow sees no GPU")
    given = env.get(config.PRESET_VARIABLE, "").strip().lower()
    if given and given != "auto":
        return Line(OK, "preset", f"{given}, set by {config.PRESET_VARIABLE} (auto would choose "
                                  f"{auto} here: {why})")
    return Line(NOTE, "preset", f"{auto}, chosen by auto ({why})",
                f"set {config.PRESET_VARIABLE}=cpu (or smoke, gpu) so that a bundle made for "
                f"that preset fits whatever this machine is")


def dataset(settings: Settings) -> Line:
    """The dataset these settings read, with its class counts against the real dataset's."""
    from helpers import data

    if settings.uses_generated_data:
        return Line(OK, "data", f"the generated dataset (the {settings.preset} preset needs no "
                                f"real data; notebook 01 generates it)")
    fix = (f"python -m helpers.data download (online), or download {data.KAGGLE_URL}, unzip "
           f"it and set ENSEMBLE_DATA_DIR to its folder")
    try:
        found = data.scan(settings.data_dir, check=False)
    except data.DatasetError as error:
        return Line(MISSING, "data", str(error).splitlines()[0], fix)
    real = catalogue.CLASS_COUNTS
    counts = f"{len(found.counts)} classes, {found.total:,} images in {found.root}"
    if found.counts == real:
        return Line(OK, "data", f"{counts}: the real dataset's counts")
    differ = [f"{name} {found.counts.get(name, 0)} (real {count})"
              for name, count in real.items() if found.counts.get(name) != count]
    differ += [f"{name} (not a class of it)" for name in found.counts if name not in real]
    return Line(NOTE, "data", f"{counts}; the real dataset has {len(real)} classes, "
                              f"{sum(real.values()):,} images (differ: {', '.join(differ[:3])}"
                              f"{', ...' if len(differ) > 3 else ''})",
                f"fine for a trial; for the day's bundle, the whole dataset: {fix}")


def weights(settings: Settings) -> Line:
    """Both backbones' ImageNet weights in Keras' cache, for these settings' image size."""
    from helpers import models

    files = models.weight_files(settings.image_size)
    missing = {name: path for name, path in files.items() if not path.exists()}
    if not missing:
        return Line(OK, "weights", f"{' and '.join(path.name for path in files.values())} in "
                                   f"{next(iter(files.values())).parent}")
    if settings.weights != "imagenet":
        return Line(OK, "weights", f"none needed (ENSEMBLE_WEIGHTS is {settings.weights} in "
                                   f"these settings)")
    return Line(MISSING, "weights", f"not in Keras' cache: {', '.join(missing)}",
                f"python -m helpers.models fetch-weights (online; offline: copy "
                f"{' and '.join(path.name for path in missing.values())} into "
                f"{next(iter(missing.values())).parent})")


def members(settings: Settings) -> Line:
    """The three members of these settings, checked against the settings and the split."""
    from helpers import artifacts, data

    names = catalogue.MEMBER_NAMES
    if missing := artifacts.missing_members(settings, names):
        return Line(MISSING, "members", f"{', '.join(missing)} not found in {settings.run_dir}",
                    GET_MEMBERS)
    split = artifacts.split_path(settings)
    if not split.exists():
        return Line(MISSING, "members", f"no split ({split} is missing) to check them against",
                    GET_MEMBERS)
    try:
        for name in names:
            artifacts.check_record(artifacts.model_path(settings, name), settings, name)
            artifacts.load_predictions(settings, name)
        try:
            root = settings.generated_data_dir if settings.uses_generated_data else (
                data.locate_dataset(settings.data_dir))
        except data.DatasetError:
            root = None
        files = "its files not checked: no data yet"
        if root is not None and root.is_dir():  # the split's files, as they are on disk
            rows = data.load_split(settings, data.Scan(root=root, files={})).rows
            files = f"its {len(rows):,} files unchanged"
    except ValueError as error:
        return Line(MISSING, "members", str(error), GET_MEMBERS)
    return Line(OK, "members", f"{', '.join(names)} in {settings.run_dir}, made with these "
                               f"settings and this split ({files})")


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2 ** 30:.1f} GiB"


def memory() -> tuple[float | None, float | None]:
    """Available and total memory in bytes (None where the system does not say)."""
    try:
        info = dict(line.split(":", 1) for line in
                    Path("/proc/meminfo").read_text(encoding="utf-8").splitlines())
        return (int(info["MemAvailable"].split()[0]) * 1024,
                int(info["MemTotal"].split()[0]) * 1024)
    except (OSError, KeyError, ValueError):
        pass
    try:
        return None, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None, None


def resources(settings: Settings) -> Line:
    """Free disk where the run folder goes, and memory, against what the preset needs."""
    needs = NEEDS_GIB[settings.preset]
    folder = settings.artifacts_root
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    available, total = memory()
    shown = (f"{_gib(available)} of {_gib(total)} memory free" if available is not None
             else f"{_gib(total)} memory" if total is not None else "memory unknown")
    found = (f"{_gib(free)} disk free in {folder}, {shown} (the {settings.preset} preset needs "
             f"{needs['disk']:.1f} GiB disk, {needs['memory']:.1f} GiB memory)")
    if free < needs["disk"] * 2 ** 30:
        return Line(MISSING, "disk, memory", found,
                    "free disk space, or set ENSEMBLE_ARTIFACTS_DIR to a disk with room")
    if total is not None and total < needs["memory"] * 2 ** 30:
        return Line(MISSING, "disk, memory", found,
                    "use a machine with more memory, or the smoke preset")
    if available is not None and available < needs["memory"] * 2 ** 30:
        return Line(NOTE, "disk, memory", found, "close other programs before the day starts")
    return Line(OK, "disk, memory", found)


# --------------------------------------------------------------------------- the report
def _attempt(item: str, check: Callable[[], Line | list[Line]]) -> list[Line]:
    """Run one item's check; an unexpected error is that item's ✗, never a traceback."""
    try:
        result = check()
    except Exception as error:  # a readiness check reports, it does not crash
        return [Line(MISSING, item, f"could not be checked ({type(error).__name__}: {error})",
                     SETUP)]
    return result if isinstance(result, list) else [result]


def run(env: dict | None = None) -> list[Line]:
    """Every line of the check for the settings of ``env`` (default: the environment)."""
    env = dict(os.environ if env is None else env)
    lines = _attempt("Python", python_version)
    lines += _attempt("packages", packages)
    lines += _attempt("preset", lambda: preset(env, config.gpus()))
    try:
        settings = config.load(env)
    except ValueError as error:
        return lines + [Line(MISSING, "settings", str(error), "fix or unset that variable")]
    for item, check in (("data", dataset), ("weights", weights), ("members", members),
                        ("disk, memory", resources)):
        lines += _attempt(item, lambda check=check: check(settings))
    return lines


def marks() -> dict[str, str]:
    """✓, ✗ and ! where the console can print them, else OK, NO and !."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
        return {OK: "✓", MISSING: "✗", NOTE: "!"}
    except (UnicodeEncodeError, LookupError):
        return {OK: "OK", MISSING: "NO", NOTE: "!"}


def report(lines: list[Line]) -> str:
    """The lines as printed: mark, item, what was found, and the fix."""
    shown = marks()
    width = max(len(line.item) for line in lines)
    text = [f"{shown[line.status]} {line.item:<{width}}  {line.found}"
            + (f"  -> {line.fix}" if line.fix else "") for line in lines]
    problems = sum(line.status == MISSING for line in lines)
    text.append(f"Not ready: {problems} item(s) marked {shown[MISSING]} above; fix them and run "
                f"`python -m helpers.check` again." if problems else
                "Ready for these settings.")
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    command_line("check", __doc__).parse_args(argv)  # only --help
    lines = run()
    print(report(lines))
    return 1 if any(line.status == MISSING for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
