"""Grade one notebook: run the assignment's pytest checks against it, in this (trusted) process."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from autograder import plugin
from autograder.assignment import Assignment
from autograder.notebook import UnusableNotebook, load
from autograder.results import SubmissionResult, unusable
from autograder.settings import Settings

log = logging.getLogger(__name__)


class _Capture:
    """Receives the session's result when pytest finishes."""

    def __init__(self, student: str):
        self.student = student
        self.result: SubmissionResult | None = None
        self.usage_error: str | None = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.result = plugin.session_result(session.config, self.student)


def pytest_args(notebook: Path, assignment: Assignment, settings: Settings, visible_only: bool) -> list[str]:
    args = [
        str(assignment.tests_dir), "-p", "autograder.plugin",
        "--submission", str(notebook), "--assignment", assignment.name, "--course", str(assignment.course),
        "--notebook-timeout", str(settings.notebook_timeout), "--call-timeout", str(settings.call_timeout),
        "--sandbox", settings.sandbox,
        # Only the grader's own settings: no project ini, no cache, no other plugins, no output.
        "-c", os.devnull, "--rootdir", str(assignment.tests_dir), "-p", "no:cacheprovider",
        "-p", "no:terminal", "-p", "no:unraisableexception", "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if settings.warm_cache:
        args += ["--warm-cache", settings.warm_cache]
    return args + (["-m", "visible"] if visible_only else [])


def grade_notebook(notebook: Path, assignment: Assignment, settings: Settings = Settings(), *,
                   student: str | None = None, visible_only: bool = False) -> SubmissionResult:
    """Grade one notebook file. Never raises for a bad submission: the result says what is wrong."""
    student = student or notebook.stem
    started = time.monotonic()
    try:
        load(notebook, assignment.release_dir / assignment.notebook_name)
    except UnusableNotebook as exc:
        return unusable(assignment, student, str(exc), source=str(notebook),
                        execution_time=time.monotonic() - started)
    capture = _Capture(student)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the grader's pytest loads only its own plugin
    code = pytest.main(pytest_args(notebook, assignment, settings, visible_only), plugins=[capture])
    if capture.result is None or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise RuntimeError(f"the grader's checks for {assignment.name} could not run (pytest exit code {code})")
    return capture.result
