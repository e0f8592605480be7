"""Grade one notebook: run the assignment's pytest checks against it, in this (trusted) process."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from autograder import GraderError
from autograder.assignment import Assignment
from autograder.checks import plugin, visible_checks
from autograder.checks.provenance import instructor_material, resembles
from autograder.outputs.results import SubmissionResult, grader_failed, needs_review, unusable
from autograder.sandbox.inside.checker.cells import foreign
from autograder.sandbox.notebook import UnusableNotebook, load, parse
from autograder.settings import Settings
from autograder.warmup import store as warm_store
from autograder.warmup import tensor_cache

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
        # The visible checks (the plugin runs each function's first, the ones students ran with check.py).
        str(Path(visible_checks.__file__)), str(assignment.tests_dir), "-p", "autograder.checks.plugin",
        "--submission", str(notebook), "--assignment", assignment.name, "--course", str(assignment.course),
        "--notebook-timeout", str(settings.notebook_timeout), "--sandbox", settings.sandbox,
        # Only the grader's own settings: no project ini, no cache, no other plugins, no output.
        "-c", os.devnull, "--rootdir", str(assignment.tests_dir), "-p", "no:cacheprovider",
        "-p", "no:terminal", "-p", "no:unraisableexception", "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if settings.warm_cache:
        args += ["--warm-cache", settings.warm_cache]
    if settings.keep_zygote:
        args.append("--keep-zygote")
    limits = settings.limits
    args += ["--memory-mb", str(limits.memory_bytes // 2**20), "--temp-mb", str(limits.temp_bytes // 2**20),
             "--max-tasks", str(limits.tasks)]
    if settings.max_notebook_bytes != Settings.max_notebook_bytes:
        args += ["--max-notebook-mb", str(settings.max_notebook_bytes / 1024**2)]
    if settings.call_timeout:
        args += ["--call-timeout", str(settings.call_timeout)]
    if settings.cell_timeout:
        args += ["--cell-timeout", str(settings.cell_timeout)]
    return args + (["-m", "visible"] if visible_only else [])


@contextlib.contextmanager
def _stored_warm_up(assignment: Assignment, settings: Settings) -> Iterator[Settings]:
    """One notebook starts warm, as a batch does, when the warm store has this assignment's warm-up:
    the graded inputs are mapped instead of computed, and the zygote maps the recorded models."""
    store = None if settings.warm_cache or os.environ.get(tensor_cache.ENV) else warm_store.find(assignment)
    if store is None:
        yield settings
        return
    os.environ[tensor_cache.ENV] = str(store / "tensors")
    try:
        yield replace(settings, warm_cache=str(store / "cache"))
    finally:
        os.environ.pop(tensor_cache.ENV, None)


def _zygote_ahead(assignment: Assignment, settings: Settings):
    """Start this notebook's zygote while pytest gets ready, unless a batch worker's is kept anyway."""
    if settings.keep_zygote:
        return contextlib.nullcontext()
    from autograder.sandbox.warm_sandbox import prestarted

    return prestarted(assignment.release_dir, settings.fitted(assignment), assignment.needs)


def grade_notebook(notebook: Path, assignment: Assignment, settings: Settings = Settings(), *,
                   student: str | None = None, visible_only: bool = False,
                   instructor: bool = False) -> SubmissionResult:
    """Grade one notebook file. Never raises for a bad submission: the result says what is wrong.

    ``instructor`` is for the instructor's own solution notebook (``validate``): it may carry the
    solutions and hidden tests that would make a student's submission need a look.
    """
    student = student or notebook.stem
    started = time.monotonic()
    try:
        loaded = load(notebook, assignment.release_dir / assignment.notebook_name, settings.max_notebook_bytes)
    except UnusableNotebook as exc:
        return unusable(assignment, student, str(exc), source=str(notebook),
                        execution_time=time.monotonic() - started)
    raw = parse(loaded.file_bytes)
    if not resembles(raw, assignment):
        return unusable(assignment, student, foreign(notebook.name, assignment.name,
                                                     [f.name for f in assignment.functions]), source=str(notebook))
    if not instructor:
        found = instructor_material(raw, assignment.source_dir / assignment.notebook_name)
        if found:
            return needs_review(assignment, student, f"it contains instructor-only material ({found})",
                                source=str(notebook))
    capture = _Capture(student)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the grader's pytest loads only its own plugin
    with _stored_warm_up(assignment, settings) as settings, _zygote_ahead(assignment, settings):
        code = pytest.main(pytest_args(notebook, assignment, settings, visible_only), plugins=[capture])
    if capture.result is None or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise GraderError(f"the grader's checks for {assignment.name} could not run (pytest exit code {code}); "
                          "this is a problem with the grader or its installation, not with the notebook")
    return capture.result


def grade_or_flag(notebook: Path, assignment: Assignment, settings: Settings = Settings(),
                  **options) -> SubmissionResult:
    """``grade_notebook``, except that a failure of the grader itself becomes a result that says so
    (``grader_errors``), never a traceback or a zero passed off as the student's."""
    try:
        return grade_notebook(notebook, assignment, settings, **options)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the student must not pay for it
        log.exception("grading %s failed", notebook)
        return grader_failed(assignment, options.get("student") or notebook.stem, f"{type(exc).__name__}: {exc}",
                             source=str(notebook))
