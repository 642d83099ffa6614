"""The README says what is true: its commands are CI's, the modules it tells you to run exist,
and its notebook table is the catalogue's."""

import importlib.util
import re

from helpers import catalogue
from helpers.config import project_root


ROOT = project_root()
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_notebook_table_lists_the_catalogue():
    rows = re.findall(r"^\| `(\d\d_\w+)` \|", README, re.M)
    assert tuple(rows) == catalogue.NOTEBOOKS


def test_every_module_the_readme_runs_exists():
    modules = set(re.findall(r"python -m (helpers(?:\.\w+)*)", README))
    assert modules, "the README runs no helpers command"
    missing = [name for name in sorted(modules) if importlib.util.find_spec(name) is None]
    assert not missing, f"the README runs modules that do not exist: {missing}"


def test_every_file_the_readme_names_exists():
    named = set(re.findall(r"`((?:helpers|notebooks|benchmarks|tests)/[\w./-]+\.\w+)`", README))
    missing = [name for name in sorted(named) if "NAME" not in name and not (ROOT / name).exists()]
    assert not missing, f"the README names files that do not exist: {missing}"


def test_ci_runs_the_readmes_commands_in_a_fresh_environment():
    """CI must see what a newcomer sees: the README's commands, in a new virtual environment."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("python3 -m venv ") for line in ci)
    for command in ("pip install -r requirements.txt", "pytest"):
        assert command in ci, f".ci/run does not run `{command}`"
        assert re.search(rf"^{re.escape(command)}(\s|$)", README, re.M), (
            f"the README does not show `{command}`")
