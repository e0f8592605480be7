"""Batch results into nbgrader's gradebook, through nbgrader's own API (SQLAlchemy underneath).

Each student function's score becomes the automatic score of its nbgrader test cell
(``test_<function>``), so ``nbgrader export``, formgrader and ``nbgrader generate_feedback`` see
our grades as if ``nbgrader autograde`` had written them. Recording the same result again only
updates those scores: manual scores and comments that an instructor entered are left alone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterable

import nbgrader
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning

from autograder.assignment import Assignment
from autograder.outputs.results import SubmissionResult


def _ensure_assignment(gradebook: Gradebook, assignment: Assignment) -> None:
    notebook = assignment.name
    gradebook.update_or_create_assignment(assignment.name)
    gradebook.update_or_create_notebook(notebook, assignment.name)
    for function in assignment.functions:
        gradebook.update_or_create_grade_cell(function.grade_id, notebook, assignment.name,
                                              max_score=function.points, cell_type="code")


@contextlib.contextmanager
def _alembic_on_path():
    """nbgrader runs the `alembic` command by name; find it beside this Python even outside a venv."""
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), saved])
    try:
        yield
    finally:
        os.environ["PATH"] = saved


def _sqlite_file(db_url: str) -> Path | None:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _blank_gradebook() -> Path:
    """An empty gradebook made by nbgrader itself, once per machine and nbgrader version.

    nbgrader stamps a new database by running ``alembic`` in a subprocess (seconds of CPU); a copy
    of one it made is the same database, made in milliseconds.
    """
    from autograder.warmup import store as warm_store

    blank = warm_store.root() / f"blank-gradebook-nbgrader-{nbgrader.__version__}.db"
    if not blank.is_file():
        blank.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=blank.parent, suffix=".db")
        os.close(fd)
        os.unlink(tmp)
        with warnings.catch_warnings(), _alembic_on_path(), Gradebook(f"sqlite:///{tmp}"):
            warnings.simplefilter("ignore", SAWarning)
        os.replace(tmp, blank)
    return blank


def prepare(assignment: Assignment, db_url: str) -> None:
    """Create the gradebook and the assignment's cells ahead of ``record`` (a new database takes seconds).

    Runs beside a batch's grading; if it fails, ``record`` tries again and reports the error.
    """
    try:
        target = _sqlite_file(db_url)
        if target is not None and not target.exists():
            shutil.copyfile(_blank_gradebook(), target)
        with warnings.catch_warnings(), _alembic_on_path(), Gradebook(db_url) as gradebook:
            warnings.simplefilter("ignore", SAWarning)
            _ensure_assignment(gradebook, assignment)
    except Exception:  # noqa: BLE001 - record() reports it
        pass


def record(results: Iterable[SubmissionResult], assignment: Assignment, db_url: str) -> None:
    """Write (or overwrite) the automatic scores of ``results`` into the gradebook at ``db_url``."""
    with warnings.catch_warnings(), _alembic_on_path(), Gradebook(db_url) as gradebook:
        # nbgrader's own add_submission trips SQLAlchemy's autoflush warnings; they are harmless.
        warnings.simplefilter("ignore", SAWarning)
        _ensure_assignment(gradebook, assignment)
        for result in results:
            gradebook.update_or_create_student(result.student)
            try:
                gradebook.find_submission(assignment.name, result.student)
            except MissingEntry:
                gradebook.add_submission(assignment.name, result.student)
            for function in result.functions:
                grade_id = assignment.function(function.name).grade_id
                grade = gradebook.find_grade(grade_id, assignment.name, assignment.name, result.student)
                grade.auto_score = function.score
                grade.needs_manual_grade = bool(result.review or result.grader_errors)
            notebook = gradebook.find_submission_notebook(assignment.name, assignment.name, result.student)
            # formgrader's flag: a person must look
            notebook.flagged = notebook.flagged or bool(result.review or result.look)
            gradebook.db.commit()


def scores(db_url: str, assignment: str) -> dict[str, float]:
    """Every student's total for ``assignment``, as nbgrader computes it."""
    with Gradebook(db_url) as gradebook:
        return {s.student.id: s.score for s in gradebook.assignment_submissions(assignment)}
