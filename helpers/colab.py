"""The Colab set-up cell every notebook starts with, made from the one repository address
in ``pyproject.toml`` (``[project.urls] Repository``).

In Colab the cell clones the repository, installs it with ``requirements.txt`` and moves
into it; anywhere else it does nothing. After changing the address (in a fork, say), run
``python -m helpers.colab`` to rewrite the cell in every notebook.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from helpers import catalogue
from helpers.config import project_root


CELL_ID = "colab-setup"


def repository_url(pyproject: Path | None = None) -> str:
    """The ``Repository`` address under ``[project.urls]`` in ``pyproject.toml``."""
    path = pyproject or project_root() / "pyproject.toml"
    match = re.search(r'^\s*Repository\s*=\s*"([^"]+)"', path.read_text(encoding="utf-8"), re.M)
    if not match:
        raise ValueError(f'{path} has no Repository = "..." line under [project.urls]; add the '
                         f"address of the repository there.")
    return match.group(1)


def setup_cell_source(url: str) -> str:
    folder = "/content/" + url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return (
        "# Only in Google Colab: fetch the series and install it (elsewhere this cell does "
        "nothing).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    REPOSITORY = "{url}"\n'
        f"    !git clone --depth 1 {{REPOSITORY}} {folder}\n"
        f"    %cd {folder}\n"
        "    %pip install --quiet -r requirements.txt\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Rewrite the set-up cell of every notebook from the address in ``pyproject.toml``."""
    import nbformat

    source = setup_cell_source(repository_url())
    for path in (notebook.path for notebook in catalogue.EVERY):
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if c.get("id") == CELL_ID]
        if cells:
            cells[0].source = source
        else:  # first run: the first cell of the Setup section
            cell = nbformat.v4.new_code_cell(source)
            cell.id = CELL_ID
            setup = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Setup"))
            nb.cells.insert(setup + 1, cell)
        nbformat.write(nb, path)
        print(f"updated {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
