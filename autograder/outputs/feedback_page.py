"""A student's feedback page: one self-contained HTML file per graded submission.

It shows the score, each function's points, every check's verdict and message, and the hint for a
recognised mistake. A batch writes it beside results.json and, for an nbgrader course, into the
feedback folder where ``nbgrader release_feedback`` picks it up.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.outputs.html import render
from autograder.outputs.results import SubmissionResult
from autograder.outputs.writers import write_atomic

VERDICT = {"passed": "passed", "failed": "failed", "error": "not graded (grader error)"}
VERDICT_CLASS = {"passed": "pass", "failed": "fail", "error": "error"}
# nbgrader keeps these beside a submission; release_feedback needs them beside the feedback page.
NBGRADER_SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")


def feedback_html(result: SubmissionResult) -> str:
    """The page, as text."""
    source = Path(result.source).name if result.source else ""
    return render("feedback.html.j2", result=result, source=source, VERDICT=VERDICT, VERDICT_CLASS=VERDICT_CLASS)


def write_feedback(result: SubmissionResult, path: Path) -> None:
    write_atomic(path, feedback_html(result))


def write_nbgrader_feedback(result: SubmissionResult, feedback_dir: Path, notebook: Path | None) -> Path:
    """Write the page where nbgrader keeps feedback: ``feedback_dir/<student>/<assignment>/<notebook>.html``.

    nbgrader names a feedback page after the notebook it is about, and ``release_feedback`` matches
    it to the submission through the timestamp and secret files, which are copied along.
    """
    folder = feedback_dir / result.student / result.assignment
    page = folder / f"{notebook.stem if notebook else result.assignment}.html"
    write_feedback(result, page)
    if notebook is not None:
        for name in NBGRADER_SUBMISSION_FILES:
            if (notebook.parent / name).is_file():
                shutil.copyfile(notebook.parent / name, folder / name)
    return page
