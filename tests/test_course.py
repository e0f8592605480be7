"""The nbgrader course: release/ is what nbgrader generates from source/, and nbgrader's own
autograde agrees with the pytest grader on the solution and the stub."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbgrader.api import Gradebook

from autograder.authoring.course import release_differences
from autograder.batch.local import grade_directory
from autograder.settings import Settings
from tests import corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("assignment_name", ["tokens_and_loss", "train_and_generate", "attention", "gpt_model"])
def test_release_is_in_sync_with_source(assignment_name):
    assert release_differences(ROOT, assignment_name) == []


def _graded_cells(notebook: Path) -> dict[str, str | None]:
    """Run a notebook in a real kernel, in its own folder, leaving out the cells tagged
    skip-when-grading; the error (or None) of each graded test cell, by its nbgrader id."""
    book = nbformat.read(notebook, as_version=4)
    client = NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}})
    outcomes = {}
    with client.setup_kernel():
        for index, cell in enumerate(book.cells):
            if cell.cell_type != "code" or "skip-when-grading" in cell.metadata.get("tags", []):
                continue
            try:
                client.execute_cell(cell, index)
                error = None
            except CellExecutionError as exc:
                error = exc.ename
            if cell.metadata.get("nbgrader", {}).get("grade"):
                outcomes[cell.metadata["nbgrader"]["grade_id"]] = error
    return outcomes


def test_train_and_generate_solution_passes_its_checks_and_the_release_stubs_none():
    """The second assignment's notebook (its grader checks are not written yet): the instructor's
    solutions pass every visible and hidden test cell, the students' stubs pass none. Its training
    cell, the only slow one, is tagged skip-when-grading and left out here as a grader will."""
    functions = ("input_target_pairs", "calc_loss_batch", "calc_loss_loader", "train_step", "generate")
    source = ROOT / "source" / "train_and_generate" / "train_and_generate.ipynb"
    assert _graded_cells(source) == {f"test_{name}": None for name in functions}
    stubs = _graded_cells(ROOT / "release" / "train_and_generate" / "train_and_generate.ipynb")
    assert sorted(stubs) == sorted(f"test_{name}" for name in functions) and None not in stubs.values()


def test_a_stale_release_is_reported(tmp_path):
    course = tmp_path / "course"
    for part in ("source", "release"):
        shutil.copytree(ROOT / part, course / part, symlinks=False)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    (course / "release" / "tokens_and_loss" / "gpt2.py").write_text("# edited by hand\n")
    assert release_differences(course, "tokens_and_loss") == [
        "release/tokens_and_loss/gpt2.py differs from what source/tokens_and_loss generates"]


@pytest.fixture(scope="module")
def nbgrader_scores(tmp_path_factory):
    """nbgrader generate_assignment + autograde on a copy of the course, scores read from its gradebook."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source", course / "source", symlinks=False)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    mistakes = {m.name: m for m in corpus.MISTAKES}
    submissions = {
        "solution": ROOT / "source" / "tokens_and_loss" / "tokens_and_loss.ipynb",
        "stub": corpus.RELEASE,
    }
    for name in ("no_batch_dimension", "torch_loss_via_getattr", "sum_not_mean"):
        code = {mistakes[name].function: mistakes[name].code}
        submissions[name] = corpus.write(corpus.with_answers(**code), course / f"{name}.ipynb")
    for student, notebook in submissions.items():
        target = course / "submitted" / student / "tokens_and_loss"
        target.mkdir(parents=True)
        shutil.copy(notebook, target / "tokens_and_loss.ipynb")
    for command in (["generate_assignment", "tokens_and_loss"], ["autograde", "tokens_and_loss"]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=course, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission("tokens_and_loss", s).score for s in submissions}
    return scores, submissions


def test_nbgrader_autograde_agrees_with_the_pytest_grader(nbgrader_scores, assignment, tmp_path):
    scores, submissions = nbgrader_scores
    assert scores == {"solution": 10, "stub": 0, "no_batch_dimension": 8,
                      "torch_loss_via_getattr": 7, "sum_not_mean": 7}
    for student, path in submissions.items():
        shutil.copy(path, tmp_path / f"{student}.ipynb")
    ours = {r.student: r for r in grade_directory(tmp_path, tmp_path / "out", assignment, Settings(jobs=2)).results}
    # nbgrader grades a copy of the instructor's own notebook like any other; ours flags it for a look.
    assert {s: r.score for s, r in ours.items() if s != "solution"} == {s: v for s, v in scores.items()
                                                                       if s != "solution"}
    assert ours["solution"].score == 0 and "instructor-only material" in ours["solution"].review
