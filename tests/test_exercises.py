"""Exercises, plan and solutions agree: every exercise the instructors' plan (TEACHING.md) names
is in its notebook; every solution quotes the task of the exercise with its number, word for
word; every exercise has a solution; and an exercise whose solution uses another exercise's cell
says so in the notebook (``exercise 03.1``)."""

import ast
import builtins
import json
import re

import pytest

from helpers import catalogue
from helpers.config import project_root


ROOT = project_root()
HEADING = re.compile(r"^## Exercise (\d\d)\.(\d+): ", re.M)


def cells(path) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"]))
            for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def exercises(notebook: str) -> dict[str, str]:
    """``{"03.1": text}``: the numbered items of a notebook's Exercises section, whitespace
    folded, each with its closing note on time and preset (the last parenthesis)."""
    text = "\n\n".join(source for kind, source in cells(catalogue.BY_NAME[notebook].path)
                       if kind == "markdown")
    section = text[text.index("## Exercises"):]
    items = re.findall(r"^(\d+)\. (.*?)(?=^\d+\. |^#|\Z)", section, re.M | re.S)
    return {f"{notebook[:2]}.{n}": " ".join(item.split()) for n, item in items}


def task(item: str) -> str:
    """An exercise's task: its text without the closing note in parentheses."""
    return re.sub(r"\s*\([^()]*(\([^()]*\)[^()]*)*\)$", "", item)


def solutions(notebook: catalogue.Notebook) -> dict[str, tuple[str, list[str]]]:
    """``{"03.1": (quoted task, [code of its cells])}`` of a solutions notebook; cells before the
    first exercise, and under other ``##`` headings, are shared and belong to none."""
    found, current = {}, None
    for kind, source in cells(notebook.path):
        if kind == "markdown" and source.startswith("## "):
            heading = HEADING.match(source)
            current = f"{heading[1]}.{heading[2]}" if heading else None
            if current:
                quote = " ".join(line[1:].strip() for line in source.splitlines()
                                 if line.startswith(">"))
                found[current] = (" ".join(quote.split()), [])
        elif kind == "code" and current:
            found[current][1].append(source)
    return found


def names(code: str) -> tuple[set[str], set[str]]:
    """The names a piece of code defines and those it reads."""
    tree = ast.parse("\n".join(line for line in code.splitlines()
                               if not line.lstrip().startswith(("!", "%"))))
    defined, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (defined if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
            defined |= {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return defined, read


def shared_names(notebook: catalogue.Notebook) -> set[str]:
    """What the cells outside every exercise define (set-up, helpers, the final check)."""
    inside = {code for _, codes in solutions(notebook).values() for code in codes}
    return {name for kind, source in cells(notebook.path)
            if kind == "code" and source not in inside for name in names(source)[0]}


def needed(notebook: catalogue.Notebook) -> dict[str, set[str]]:
    """For each exercise, the exercises whose cells define a name its solution reads and does
    not define itself (the last one above it that defines the name: cells run in order)."""
    found = solutions(notebook)
    known = shared_names(notebook) | set(dir(builtins))
    order = list(found)
    defines = {number: set().union(set(), *(names(code)[0] for code in codes))
               for number, (_, codes) in found.items()}
    out = {}
    for number, (_, codes) in found.items():
        read = set().union(set(), *(names(code)[1] for code in codes))
        above = order[:order.index(number)][::-1]
        out[number] = {next((other for other in above if name in defines[other]),
                            next(other for other in order if name in defines[other]))
                       for name in read - defines[number] - known
                       if any(name in defines[other] for other in order)}
    return out


SERIES = {n: exercises(n) for n in catalogue.NOTEBOOKS}
EVERY_EXERCISE = {number: text for found in SERIES.values() for number, text in found.items()}
PAIRS = [pytest.param(notebook, number, id=number)
         for notebook in catalogue.SOLUTIONS for number in solutions(notebook)]


@pytest.mark.parametrize("notebook, number", PAIRS)
def test_every_solution_quotes_its_exercise_word_for_word(notebook, number):
    assert number[:2] in {n[:2] for n in notebook.covers}, (
        f"{notebook.name} solves {number}, which is not an exercise of the notebooks it covers")
    assert number in EVERY_EXERCISE, f"{notebook.name} solves {number}: no such exercise"
    quoted, _ = solutions(notebook)[number]
    assert quoted == task(EVERY_EXERCISE[number]), (
        f"{notebook.name}'s exercise {number} quotes another task than its notebook:\n"
        f"  solution: {quoted}\n  notebook: {task(EVERY_EXERCISE[number])}")


def test_every_exercise_has_a_solution():
    solved = {number for notebook in catalogue.SOLUTIONS for number in solutions(notebook)}
    assert not set(EVERY_EXERCISE) - solved, sorted(set(EVERY_EXERCISE) - solved)


@pytest.mark.parametrize("notebook", catalogue.SOLUTIONS, ids=lambda n: n.name)
def test_an_exercise_that_needs_another_says_so(notebook):
    unsaid = {number: sorted(other for other in others if other not in EVERY_EXERCISE[number])
              for number, others in needed(notebook).items()}
    unsaid = {number: others for number, others in unsaid.items() if others}
    assert not unsaid, (f"these exercises' solutions use cells of other exercises that their "
                        f"text in the notebook does not name (add e.g. 'needs exercise 03.1' to "
                        f"the closing note): {unsaid}")


def test_the_plan_names_only_exercises_that_exist():
    text = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(0[1-9]\.\d)\b", text))
    assert named, "TEACHING.md names no exercise"
    missing = sorted(named - set(EVERY_EXERCISE))
    assert not missing, f"TEACHING.md names exercises that no notebook has: {missing}"
