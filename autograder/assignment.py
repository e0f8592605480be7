"""What the grader needs to know about one assignment, and where to find it.

Each assignment is a package under ``autograder/assignments/<name>/``: its ``__init__`` declares
an ``ASSIGNMENT`` (the student functions, their parameters and points), and its ``test_*.py``
files are the graded pytest checks. The trusted copy of the notebook and the files students get
with it come from the course's ``release/<name>/`` folder.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder import GraderError

ASSIGNMENTS_PACKAGE = "autograder.assignments"
DEFAULT_COURSE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StudentFunction:
    """One function of the student contract: its name, parameters and worth."""

    name: str
    params: tuple[str, ...]
    points: float

    @property
    def grade_id(self) -> str:
        """The nbgrader test cell that carries this function's points: ``test_<name>``."""
        return f"test_{self.name}"


@dataclass(frozen=True)
class Assignment:
    name: str
    functions: tuple[StudentFunction, ...]
    course: Path = field(default=DEFAULT_COURSE, compare=False)
    warm: str | None = None  # "module:function" computing the graded inputs once per batch
    cell_timeout: float = 60.0  # seconds one notebook cell may take before it is skipped
    call_timeout: float = 30.0  # seconds one call of a student function may take

    def warm_up(self) -> None:
        if self.warm:
            module, _, function = self.warm.partition(":")
            getattr(importlib.import_module(module), function)()

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def release_dir(self) -> Path:
        return self.course / "release" / self.name

    @property
    def source_dir(self) -> Path:
        return self.course / "source" / self.name

    @property
    def tests_dir(self) -> Path:
        return Path(importlib.import_module(f"{ASSIGNMENTS_PACKAGE}.{self.name}").__file__).parent

    @property
    def max_score(self) -> float:
        return sum(f.points for f in self.functions)

    def function(self, name: str) -> StudentFunction:
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(name)


def load_assignment(name: str = "tokens_and_loss", course: Path | None = None) -> Assignment:
    """The assignment called ``name``, bound to a course directory.

    The course is ``course``, else ``$AUTOGRADER_COURSE``, else the checkout this package lives in.
    """
    try:
        module = importlib.import_module(f"{ASSIGNMENTS_PACKAGE}.{name}")
    except ModuleNotFoundError:
        raise GraderError(f"no assignment called {name!r} in {ASSIGNMENTS_PACKAGE}") from None
    course = Path(course or os.environ.get("AUTOGRADER_COURSE") or DEFAULT_COURSE).resolve()
    assignment = replace(module.ASSIGNMENT, course=course)
    if not (assignment.release_dir / assignment.notebook_name).is_file():
        raise GraderError(
            f"{assignment.release_dir / assignment.notebook_name} is missing: the grader needs the released "
            f"notebook as its trusted copy. Run `nbgrader generate_assignment {name}` in {course}, or pass --course."
        )
    return assignment
