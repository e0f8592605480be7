"""Only the student's own file is graded: a symbolic link is never followed, and a notebook carrying
the instructor's solutions or hidden tests earns nothing automatically and is listed for a look."""

from __future__ import annotations

import csv
import json
import re

import nbformat
import pytest

from autograder.batch.local import grade_directory
from autograder.checks.provenance import instructor_material
from autograder.outputs.class_report import load_batch, summarize
from autograder.outputs.gradebook import scores
from autograder.outputs.report import batch_summary
from autograder.settings import Settings
from tests import corpus

SOURCE = corpus.ROOT / "source" / "tokens_and_loss" / "tokens_and_loss.ipynb"


def without_markers(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The instructor's notebook with every nbgrader marker line deleted: the hidden tests remain."""
    for cell in notebook.cells:
        cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*\n?", "", cell.source)
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assignment):
    submitted = tmp_path_factory.mktemp("submitted")
    out = tmp_path_factory.mktemp("graded")
    corpus.write(corpus.with_answers(), submitted / "ada" / "tokens_and_loss" / "tokens_and_loss.ipynb")
    (submitted / "mallory" / "tokens_and_loss").mkdir(parents=True)
    (submitted / "mallory" / "tokens_and_loss" / "tokens_and_loss.ipynb").symlink_to(SOURCE)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    corpus.write(corpus.with_answers(), elsewhere / "tokens_and_loss" / "tokens_and_loss.ipynb")
    (submitted / "oscar").symlink_to(elsewhere, target_is_directory=True)  # a folder leading out
    (submitted / "eve" / "tokens_and_loss").mkdir(parents=True)
    (submitted / "eve" / "tokens_and_loss" / "tokens_and_loss.ipynb").write_bytes(SOURCE.read_bytes())
    corpus.write(without_markers(nbformat.read(SOURCE, as_version=4)),
                 submitted / "trudy" / "tokens_and_loss" / "tokens_and_loss.ipynb")
    batch = grade_directory(submitted, out, assignment, Settings(jobs=2, sandbox="bwrap"))
    return {r.student: r for r in batch.results}, out


@pytest.mark.parametrize("student, why", [
    ("mallory", "mallory/tokens_and_loss/tokens_and_loss.ipynb is a symbolic link"),
    ("oscar", "oscar is a symbolic link"),
    ("eve", 'carries nbgrader\'s "BEGIN SOLUTION" marker'),
    ("trudy", "carries the hidden tests of the instructor's notebook"),
])
def test_links_and_instructor_notebooks_earn_nothing_and_are_flagged(graded, student, why):
    results, _ = graded
    assert results[student].score == 0
    assert why in results[student].review
    assert results["ada"].score == 10 and not results["ada"].review


def test_they_are_listed_for_a_look_in_every_output(graded, assignment):
    results, out = graded
    flagged = {"eve", "mallory", "oscar", "trudy"}
    rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert {s for s, row in rows.items() if row["note"].startswith("NEEDS A LOOK")} == flagged
    summary = batch_summary(list(results.values()), 1.0)
    assert "NEEDS A LOOK" in summary and all(student in summary for student in flagged)
    assert set(summarize(load_batch(out)).problems["needs a look"]) == flagged
    assert json.loads((out / "eve" / "results.json").read_text())["score"] == 0

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        for student in flagged | {"ada"}:
            notebook = gradebook.find_submission_notebook(assignment.name, assignment.name, student)
            assert notebook.flagged == (student in flagged)
            assert all(grade.needs_manual_grade == (student in flagged) for grade in notebook.grades)
    assert scores(f"sqlite:///{out / 'gradebook.db'}", assignment.name)["eve"] == 0


def test_a_students_own_notebook_carries_no_instructor_material():
    for notebook in [corpus.with_answers(), nbformat.read(corpus.RELEASE, as_version=4),
                     *(make() for make in corpus.AS_SAVED.values())]:
        assert instructor_material(notebook, SOURCE) is None
