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
class Needs:
    """What an assignment's checks need beside the student's code: the model to record and replay
    ("module:Class" beside the notebook), and its support module. A sandbox or a students' warm
    process prepares these and nothing else."""

    model: str | None = None
    support: Path | None = None


@dataclass(frozen=True)
class StudentFunction:
    """One function (or class) of the student contract: its name, parameters and worth. A class's
    parameters are its ``__init__``'s, without ``self``."""

    name: str
    params: tuple[str, ...]
    points: float
    kind: str = "function"  # or "class"

    def __post_init__(self) -> None:
        if self.kind not in ("function", "class"):
            raise ValueError(f"{self.name}: kind is 'function' or 'class', not {self.kind!r}")

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
    visible: str | None = None  # "module:function" giving the visible checks' calls, shipped to students
    # "module:Class" beside the notebook that its setup builds: constructions and forward passes are
    # recorded once and replayed (the grader's model cache, the students' checker's memo); None: nothing
    model: str | None = None
    # The course's default: what a command without --assignment takes (at most one assignment says so)
    default: bool = field(default=False, compare=False)

    def warm_up(self) -> None:
        if self.warm:
            _named(self.warm)()

    def visible_calls(self) -> tuple[dict, ...]:
        """The calls of the visible checks, as plain data (see the engine's ``contract``); none if not declared."""
        if not self.visible:
            return ()
        return tuple(call.data if hasattr(call, "data") else call for call in _named(self.visible)())

    @property
    def support_file(self) -> Path | None:
        """The assignment's ``support.py`` (its stand-ins, references and warm-up, which run beside the
        student's code), if it has one."""
        path = self.tests_dir / "support.py"
        return path if path.is_file() else None

    @property
    def needs(self) -> Needs:
        return Needs(self.model, self.support_file)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(f.name for f in self.functions if f.kind == "class")

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


def _named(reference: str):
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


COURSE_HELP = ("a course directory holds release/<assignment>/ as `nbgrader generate_assignment` makes it (the "
               "notebook and the files beside it), and, for validate and the "
               "batch warm-up, source/<assignment>/ with the instructor's notebook")


def find_course(course: Path | None = None) -> Path:
    """The course directory: ``course``, else ``$AUTOGRADER_COURSE``, else the checkout this package
    lives in (a clone, an editable install, Gradescope's source folder), else the current directory.

    An installed (non-editable) kit lives in site-packages, which is never a course.
    """
    if course or os.environ.get("AUTOGRADER_COURSE"):
        return Path(course or os.environ["AUTOGRADER_COURSE"]).resolve()
    for candidate in (DEFAULT_COURSE, Path.cwd().resolve()):
        if (candidate / "release").is_dir():
            return candidate
    raise GraderError(f"no course directory: this kit is installed as a package, and the current directory has no "
                      f"release/ folder. Pass --course DIR or set AUTOGRADER_COURSE; {COURSE_HELP}.")


def assignment_names() -> list[str]:
    """The assignments the kit has: one package each under ``autograder/assignments/``."""
    import pkgutil

    package = importlib.import_module(ASSIGNMENTS_PACKAGE)
    return sorted(module.name for module in pkgutil.iter_modules(package.__path__) if module.ispkg)


def default_assignment() -> str | None:
    """The assignment commands take when none is named: the one that declares itself the course's
    default (``Assignment(default=True)``), so that adding an assignment never changes what a script
    without --assignment grades; the alphabetical first when none does."""
    names = assignment_names()
    declared = [name for name in names if getattr(getattr(importlib.import_module(f"{ASSIGNMENTS_PACKAGE}.{name}"),
                                                          "ASSIGNMENT", None), "default", False)]
    if len(declared) > 1:
        raise GraderError(f"more than one assignment declares itself the default: {', '.join(declared)}")
    return declared[0] if declared else (names[0] if names else None)


def load_assignment(name: str | None = None, course: Path | None = None, released: bool = True) -> Assignment:
    """The assignment called ``name`` (by default ``default_assignment()``), bound to its course
    directory (see ``find_course``). ``released``: its release must exist (grading needs the trusted
    copy; writing the students' checker, before the first release, does not)."""
    name = name or default_assignment()
    try:
        module = importlib.import_module(f"{ASSIGNMENTS_PACKAGE}.{name}")
    except ModuleNotFoundError:
        raise GraderError(f"no assignment called {name!r}; the kit has {', '.join(assignment_names())}") from None
    course = find_course(course)
    assignment = replace(module.ASSIGNMENT, course=course)
    if released and not (assignment.release_dir / assignment.notebook_name).is_file():
        remedy = (f"run `nbgrader generate_assignment {name}` in {course} to make it"
                  if (assignment.source_dir / assignment.notebook_name).is_file() else
                  "pass --course DIR (or set AUTOGRADER_COURSE) to the course directory")
        raise GraderError(
            f"{assignment.release_dir / assignment.notebook_name} is missing: the grader needs the released notebook "
            f"as its trusted copy. {remedy[0].upper() + remedy[1:]}; {COURSE_HELP}.")
    return assignment
