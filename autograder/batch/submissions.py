"""What a batch is made of: the submissions found in a folder, and grading one of them.

``grade_one`` is the unit of work of every worker, local (``batch.local``) or on a Dask cluster
(``batch.cluster``): both import it from here. Comes in: a folder of submissions in nbgrader's
layout ``DIR/<student>/<assignment>/*.ipynb``, flat ``DIR/<student>.ipynb``, or one cloned
repository per student, ``DIR/<repository>/<notebook>`` (GitHub Classroom). Goes out: one ``Found``
per student, and one result per ``Found``. Never imports the batch's runners.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Assignment
from autograder.outputs.results import SubmissionResult, grader_failed, needs_review, unusable
from autograder.settings import Settings


@dataclass(frozen=True)
class Found:
    """A student's submission: the file to grade, or why there is none (``review``: a person must look)."""

    student: str
    path: Path | None
    problem: str = ""
    review: bool = False


def _linked(student: str, link: Path, root: Path) -> Found:
    """A symbolic link is never followed: it could stand for any file, the instructor's among them."""
    return Found(student, None, f"{link.relative_to(root)} is a symbolic link, not a submitted file; "
                                "it was not followed", review=True)


def discover(root: Path, assignment: Assignment) -> list[Found]:
    """Every submission under ``root``, in either layout, sorted by student."""
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        student = entry.stem if entry.suffix == ".ipynb" else entry.name
        if entry.is_symlink():
            found.append(_linked(student, entry, root))
        elif entry.is_dir():
            found.append(_in_student_dir(entry, assignment, root))
        elif entry.is_file() and entry.suffix != ".csv":
            found.append(Found(student, entry))
    return found


def _in_student_dir(student_dir: Path, assignment: Assignment, root: Path) -> Found:
    folder = student_dir / assignment.name
    if folder.is_symlink():
        return _linked(student_dir.name, folder, root)
    if not folder.is_dir():
        cloned = student_dir / assignment.notebook_name  # a student's repository, cloned: the notebook at its top
        if cloned.is_symlink():
            return _linked(student_dir.name, cloned, root)
        if cloned.is_file():
            return Found(student_dir.name, cloned)
        return Found(student_dir.name, None, f"no {assignment.name}/ folder and no {assignment.notebook_name} in "
                                             f"{student_dir.name}/: nothing was submitted")
    expected = folder / assignment.notebook_name
    if expected.is_symlink():
        return _linked(student_dir.name, expected, root)
    if expected.is_file():
        return Found(student_dir.name, expected)
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) == 1 and notebooks[0].is_symlink():
        return _linked(student_dir.name, notebooks[0], root)
    if len(notebooks) == 1:
        return Found(student_dir.name, notebooks[0])
    if not notebooks:
        return Found(student_dir.name, None, f"no notebook in {student_dir.name}/{assignment.name}/: "
                                             f"submit {assignment.notebook_name}")
    return Found(student_dir.name, None,
                 f"several notebooks and no {assignment.notebook_name} in {student_dir.name}/{assignment.name}/: "
                 f"submit only {assignment.notebook_name}")


def grade_one(found: Found, assignment: Assignment, settings: Settings) -> SubmissionResult:
    """Runs in a worker process. Never raises: a crash becomes a result flagged for the instructor."""
    from autograder.checks.grading import grade_or_flag
    if found.path is None:
        if found.review:
            return needs_review(assignment, found.student, found.problem)
        return unusable(assignment, found.student, found.problem)
    return grade_or_flag(found.path, assignment, settings, student=found.student)


def crashed(found: Found, assignment: Assignment, why: str) -> SubmissionResult:
    """The result for a submission whose grading process died: flagged for grading by hand."""
    return grader_failed(assignment, found.student, why, source=str(found.path or ""))
