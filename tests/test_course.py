"""The nbgrader course: release/ is what nbgrader generates from source/, and nbgrader's own
autograde agrees with the pytest grader on the solution and the stub."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.authoring.course import release_differences
from autograder.batch.local import grade_directory
from autograder.settings import Settings
from tests import corpus

ROOT = Path(__file__).resolve().parents[1]


def test_release_is_in_sync_with_source():
    assert release_differences(ROOT, "tokens_and_loss") == []


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
