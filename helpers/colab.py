"""Google Colab: the set-up cell every notebook starts with, and what it calls.

The cell is made from the one repository address in ``pyproject.toml`` (``[project.urls]
Repository``). In Colab it clones the repository, moves into it and calls ``setup()``, which

- installs what the notebooks import: the package without its dependencies, then its runtime
  dependencies (``[project] dependencies`` in ``pyproject.toml``) except TensorFlow and Keras,
  which Colab has already (no JupyterLab, pytest or ruff: those are for laptops);
- offers to mount Google Drive and keeps the data and the run folder there
  (``ENSEMBLE_DATA_DIR``, ``ENSEMBLE_ARTIFACTS_DIR``): every Colab notebook runs on a machine of
  its own, so without Drive notebook 06 would not find what notebook 05 saved;
- sets ``ENSEMBLE_PRESET`` (``cpu`` unless a GPU runtime and ``gpu`` are asked for);
- says how to get the data and how to unpack a members bundle on Drive.

Anywhere else the cell does nothing. Under each notebook's title, a badge opens the notebook in
Colab, made from the same address. After changing the address (in a fork, say), run
``python -m helpers.colab`` to rewrite the cell and the badge in every notebook (or name the
notebooks to rewrite: ``python -m helpers.colab notebooks/05_ensembles.ipynb``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import catalogue, command_line
from helpers.config import PRESET_NAMES, PRESET_VARIABLE, PRESETS, VARIABLES, project_root


CELL_ID = "colab-setup"
BADGE_ID = "colab-badge"
#: The branch whose notebooks the badges open.
BRANCH = "main"
#: Packages Colab's runtime has already, built for its hardware: never reinstalled.
PROVIDED = ("tensorflow", "keras")
#: Where Colab mounts Google Drive.
MOUNT_POINT = "/content/drive"


def pyproject(path: Path | None = None) -> dict:
    """``pyproject.toml``, parsed: the one reader of the address, the dependencies and the
    Python versions that the tools use (before the package is installed, as in Colab)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomli, listed in pyproject.toml for it
        import tomli as tomllib

    with (path or project_root() / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def repository_url(path: Path | None = None) -> str:
    """The ``Repository`` address under ``[project.urls]`` in ``pyproject.toml``."""
    url = pyproject(path).get("project", {}).get("urls", {}).get("Repository")
    if not url:
        raise ValueError(f"{path or 'pyproject.toml'} has no Repository = \"...\" line under "
                         f"[project.urls]; add the address of the repository there.")
    return url


def runtime_dependencies() -> list[str]:
    """The ``[project] dependencies`` of ``pyproject.toml``: what the notebooks import."""
    return list(pyproject()["project"]["dependencies"])


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def gpu_runtime() -> bool:
    """Whether this machine has an NVIDIA GPU (Colab's GPU runtimes have ``nvidia-smi``)."""
    return shutil.which("nvidia-smi") is not None


def _run(command: list[str]) -> None:
    """Run ``command``; on failure raise with its output (a subprocess's own output would not
    reach the notebook)."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")


def setup(drive: bool = True, preset: str = "cpu", mount_point: str = MOUNT_POINT) -> dict:
    """Install what the notebooks import, mount Google Drive (``drive=True``) and set the
    ``ENSEMBLE_*`` variables for this notebook; return the variables set.

    ``preset="gpu"`` needs a GPU runtime (Runtime > Change runtime type). With ``drive=False``,
    or if mounting is refused, everything stays on this runtime's disk and is lost when it stops.
    """
    if preset not in PRESET_NAMES:
        raise ValueError(f"colab.setup(preset={preset!r}): choose one of "
                         f"{', '.join(PRESET_NAMES)}.")
    if PRESETS[preset]["needs_gpu"] and not gpu_runtime():
        raise ValueError("colab.setup(preset='gpu') needs a GPU runtime: choose Runtime > Change "
                         "runtime type > a GPU, then run this cell again; or use preset='cpu'.")
    # The package itself without dependencies, then its runtime dependencies except those Colab
    # provides (pip leaves the ones already satisfied).
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    _run([*pip, "--no-deps", "-e", str(project_root())])
    _run([*pip, *(r for r in runtime_dependencies() if _name(r) not in PROVIDED)])

    env = {PRESET_VARIABLE: preset}
    folder = _drive_folder(mount_point) if drive else None
    if folder is not None:
        if not PRESETS[preset]["generated_data"]:  # smoke generates its own images
            env[VARIABLES["data_dir"]] = str(folder / "data")
        env[VARIABLES["artifacts_root"]] = str(folder / "artifacts")
    os.environ.update(env)

    print("\n".join(f"{name}={value}" for name, value in env.items()))
    if gpu_runtime() and not PRESETS[preset]["needs_gpu"]:
        print("This runtime has a GPU: colab.setup(preset='gpu') would use it.")
    if folder is None:
        print("Not on Google Drive: what this notebook saves is lost when the runtime stops, and "
              "the next notebook (another runtime) will not find it.")
        return env
    print(f"Data and runs are kept in {folder} on your Drive (every notebook's first cell sets "
          f"the same folders).\n"
          f"- Data, once: !python -m helpers.data download (or unzip the dataset into "
          f"{folder / 'data'}).\n"
          f"- Members handed out as members.zip: put it in {folder} and run once\n"
          f"  !python -m helpers.bundle unpack {folder / 'members.zip'}\n"
          f"  then start at notebook 05.")
    return env


def _drive_folder(mount_point: str) -> Path | None:
    """Mount Google Drive (Colab asks for permission) and return this series' folder on it, or
    None when mounting was refused or failed."""
    from google.colab import drive  # only in Colab

    try:
        drive.mount(mount_point)
    except Exception as error:  # refused, or timed out: carry on without Drive
        print(f"Google Drive not mounted ({error}).")
        return None
    folder = Path(mount_point) / "MyDrive" / project_root().name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup_cell_source(url: str) -> str:
    """The first cell of every notebook, made from the repository address ``url``."""
    folder = "/content/" + url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return (
        "# Only in Google Colab: fetch the series, install what the notebooks import and keep the"
        "\n# data and the run folder on Google Drive (helpers/colab.py). Elsewhere it does "
        "nothing.\nimport sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    REPOSITORY = "{url}"\n'
        f'    FOLDER = "{folder}"\n'
        "    ![ -d {FOLDER} ] || git clone --quiet --depth 1 {REPOSITORY} {FOLDER}\n"
        "    %cd {FOLDER}\n"
        "    from helpers import colab\n"
        '    colab.setup(drive=True, preset="cpu")  # preset="gpu" on a GPU runtime\n'
    )


def badge_source(url: str, notebook: Path) -> str:
    """The Markdown badge that opens ``notebook`` (a path in the repository) in Colab."""
    repository = url.rstrip("/").removesuffix(".git").split("github.com/", 1)[-1]
    path = Path(notebook).resolve().relative_to(project_root()).as_posix()
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{repository}/blob/{BRANCH}/{path})")


def _sync(nb, cell_id: str, source: str, kind: str, after: int) -> None:
    """Set the cell ``cell_id`` to ``source``, inserting it after cell ``after`` if missing."""
    import nbformat

    found = [c for c in nb.cells if c.get("id") == cell_id]
    if not found:
        found = [getattr(nbformat.v4, f"new_{kind}_cell")(source, id=cell_id)]
        nb.cells.insert(after + 1, found[0])
    found[0].source = source


def main(argv: list[str] | None = None) -> int:
    """Rewrite the set-up cell and the badge of every notebook (or of those named) from the
    address in ``pyproject.toml``."""
    import nbformat

    parser = command_line("colab", main.__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    url = repository_url()
    for path in parser.parse_args(argv).notebooks or [n.path for n in catalogue.EVERY]:
        nb = nbformat.read(path, as_version=4)
        setup = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Setup"))
        _sync(nb, CELL_ID, setup_cell_source(url), "code", setup)
        _sync(nb, BADGE_ID, badge_source(url, path), "markdown", 0)  # under the title
        nbformat.write(nb, path)
        print(f"updated {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
