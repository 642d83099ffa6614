"""The catalogue of the series: the one module that names its notebooks.

Every notebook and solutions notebook, in the order they run, with the notebooks whose artifacts
each one reads; the dataset's classes; the members and the notebook that trains each; the
ensembles; the results files; which notebook makes each artifact. The runner (which checks what a
notebook needs before starting it), the exporter, the Colab tool, the site, the tests and the
benchmarks read it from here. It imports nothing heavy, so tools that only start kernels stay
light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


#: Where the notebooks are: ``notebooks/``, and the solutions in ``notebooks/solutions/``.
FOLDER = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Notebook:
    """One notebook: its name (the file's stem), the notebooks whose artifacts it reads, and,
    for a solutions notebook, the notebooks whose exercises it solves (``covers``)."""

    name: str
    reads: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return self.name[:2]

    @property
    def path(self) -> Path:
        """Where the notebook is stored: ``notebooks/``, or ``notebooks/solutions/``."""
        return (FOLDER / "solutions" if self.covers else FOLDER) / f"{self.name}.ipynb"


#: The series, in order. ``reads``: the notebooks whose saved artifacts each one loads (the split
#: of 01, the members of 02-04, the ensembles and the choice of 05, the leaderboard of 06, the
#: corrupted copies of 07, the student of 08).
SERIES = (
    Notebook("01_data_preview"),
    Notebook("02_custom_cnn", ("01_data_preview",)),
    Notebook("03_vgg16", ("01_data_preview",)),
    Notebook("04_mobilenet", ("01_data_preview",)),
    Notebook("05_ensembles", ("02_custom_cnn", "03_vgg16", "04_mobilenet")),
    Notebook("06_evaluation", ("05_ensembles",)),
    Notebook("07_under_shift", ("05_ensembles",)),
    Notebook("08_distillation", ("06_evaluation",)),
    Notebook("09_families", ("07_under_shift", "08_distillation")),
)
NOTEBOOKS = tuple(notebook.name for notebook in SERIES)
#: The worked solutions of the exercises, one notebook per group of notebooks, with what each
#: reads (07-09's solutions train their own variants on the members and 05's choice) and the
#: notebooks whose exercises it solves.
SOLUTIONS = (
    Notebook("01-04_solutions", ("02_custom_cnn", "03_vgg16", "04_mobilenet"), NOTEBOOKS[0:4]),
    Notebook("05-06_solutions", ("06_evaluation",), NOTEBOOKS[4:6]),
    Notebook("07-09_solutions", ("05_ensembles",), NOTEBOOKS[6:9]),
)
EVERY = SERIES + SOLUTIONS
BY_NAME = {notebook.name: notebook for notebook in EVERY}
SOLUTION_NOTEBOOKS = tuple(notebook.name for notebook in SOLUTIONS)

#: The eight classes of Natural Images, with their image counts as published on Kaggle (6,899 in
#: all); the generated dataset has the same classes.
CLASS_COUNTS = {"airplane": 727, "car": 968, "cat": 885, "dog": 702, "flower": 843, "fruit": 1000,
                "motorbike": 788, "person": 986}
CLASS_NAMES = tuple(CLASS_COUNTS)

#: The three members, each with the notebook that trains it.
MEMBERS = {"custom_cnn": "02_custom_cnn", "vgg16": "03_vgg16", "mobilenet": "04_mobilenet"}
MEMBER_NAMES = tuple(MEMBERS)
#: The ensembles notebook 05 makes; the first three are the original's methods. Their combiners
#: take the members' class probabilities.
PROBABILITY_ENSEMBLE_NAMES = ("average", "concatenation", "weighted_average", "average_dense",
                              "weighted_average_scipy")
#: Ensembles whose combiners take the members' penultimate features instead.
FEATURE_ENSEMBLE_NAMES = ("feature_concatenation",)
ALL_ENSEMBLE_NAMES = PROBABILITY_ENSEMBLE_NAMES + FEATURE_ENSEMBLE_NAMES
#: The combiners that learn more than a few weights from the validation labels. Each also gets
#: one-member controls: the same combiner, fitted the same way on one member's outputs, named
#: ``combiner[member]`` (notebook 05).
CONTROLLED = ("concatenation", "average_dense", "feature_concatenation")


def control_name(combiner: str, member: str) -> str:
    """The name of ``combiner``'s one-member control on ``member``: ``combiner[member]``."""
    return f"{combiner}[{member}]"


def keras_name(name: str) -> str:
    """``name`` as Keras accepts it for a model or a layer: ``combiner_member`` for a control."""
    return name.replace("[", "_").replace("]", "")


def control_parts(name: str) -> tuple[str, str]:
    """``("feature_concatenation", "vgg16")`` for ``"feature_concatenation[vgg16]"``."""
    combiner, _, member = name.partition("[")
    if not member.endswith("]"):
        raise ValueError(f"{name!r} is not a control's name (combiner[member]).")
    return combiner, member[:-1]


CONTROL_NAMES = tuple(control_name(c, m) for c in CONTROLLED for m in MEMBERS)
#: The results files, by the notebook that writes them (09 also writes the series' answer,
#: ``artifacts.summary_path``).
RESULTS_FILES = {"06_evaluation": "results.json", "07_under_shift": "results_shift.json",
                 "08_distillation": "results_distillation.json",
                 "09_families": "results_families.json"}
#: Which notebook makes each named artifact: the members (and their heads' histories), the
#: ensembles and controls, and the rest.
MADE_BY = {**{f"{member}{part}": notebook for member, notebook in MEMBERS.items()
              for part in ("", "_head")},
           **dict.fromkeys((*ALL_ENSEMBLE_NAMES, *CONTROL_NAMES, "validation_choice",
                            "combiners"), "05_ensembles"),
           "split": "01_data_preview", "under_shift": "07_under_shift",
           "student": "08_distillation", "student_head": "08_distillation",
           "summary": "09_families"}


def made_by(artifact: str) -> str:
    """The notebook that makes the artifact called ``artifact`` (a member, an ensemble, a
    control, the student, a notebook's own results...)."""
    if artifact in BY_NAME:
        return artifact
    if artifact not in MADE_BY:
        raise ValueError(f"No notebook makes an artifact called {artifact!r}; add it to "
                         f"catalogue.MADE_BY with the notebook that saves it.")
    return MADE_BY[artifact]


def plan(names) -> list[str]:
    """``names`` and every notebook they need (their reads, and theirs), each once, in the order
    they must run: the series in order, then the solutions."""
    if unknown := [name for name in names if name not in BY_NAME]:
        raise ValueError(f"No notebook called {unknown[0]!r}; the notebooks are: "
                         f"{', '.join(BY_NAME)}.")
    found, todo = set(), list(names)
    while todo:
        if (current := todo.pop()) not in found:
            found.add(current)
            todo += BY_NAME[current].reads
    return [notebook.name for notebook in EVERY if notebook.name in found]
