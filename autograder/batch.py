"""Grade a directory of submissions: every file gets a result, whatever happens to the others.

Two layouts are understood: nbgrader's ``DIR/<student>/<assignment>/*.ipynb`` and a flat
``DIR/<student>.ipynb``. Submissions are graded by a pool of worker processes (each a grader,
running student code in sandboxed children of its own); a submission whose grading crashes still
gets a result that says so, and the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
import multiprocessing
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from autograder.assignment import Assignment
from autograder.results import SubmissionResult, unusable
from autograder.sandbox import resolve
from autograder.settings import Settings
from autograder.writers import grades_csv, write_atomic, write_gradescope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    """A student's submission: the file to grade, or why there is none."""

    student: str
    path: Path | None
    problem: str = ""


def discover(root: Path, assignment: Assignment) -> list[Found]:
    """Every submission under ``root``, in either layout, sorted by student."""
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            found.append(_in_student_dir(entry, assignment))
        elif entry.is_file() and entry.suffix != ".csv":
            found.append(Found(entry.stem if entry.suffix == ".ipynb" else entry.name, entry))
    return found


def _in_student_dir(student_dir: Path, assignment: Assignment) -> Found:
    folder = student_dir / assignment.name
    if not folder.is_dir():
        return Found(student_dir.name, None,
                     f"no {assignment.name}/ folder in {student_dir.name}/: nothing was submitted")
    expected = folder / assignment.notebook_name
    if expected.is_file():
        return Found(student_dir.name, expected)
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) == 1:
        return Found(student_dir.name, notebooks[0])
    if not notebooks:
        return Found(student_dir.name, None, f"no notebook in {student_dir.name}/{assignment.name}/: "
                                             f"submit {assignment.notebook_name}")
    return Found(student_dir.name, None,
                 f"several notebooks and no {assignment.notebook_name} in {student_dir.name}/{assignment.name}/: "
                 f"submit only {assignment.notebook_name}")


def _grade_one(found: Found, assignment: Assignment, settings: Settings) -> SubmissionResult:
    """Runs in a worker process. Never raises: a crash becomes a result flagged for the instructor."""
    from autograder.grading import grade_notebook

    if found.path is None:
        return unusable(assignment, found.student, found.problem)
    try:
        return grade_notebook(found.path, assignment, settings, student=found.student)
    except Exception as exc:  # noqa: BLE001 - one submission's failure must not end the batch
        log.exception("grading %s failed", found.student)
        result = unusable(assignment, found.student, "The grader failed on this submission; "
                          "your instructor has been told and will grade it by hand.", source=str(found.path))
        return SubmissionResult(**{**result.__dict__, "grader_errors": (f"{type(exc).__name__}: {exc}",)})


def grade_directory(root: Path, out: Path, assignment: Assignment, settings: Settings = Settings(),
                    progress: Callable[[SubmissionResult, int, int], None] | None = None) -> list[SubmissionResult]:
    """Grade every submission under ``root`` into ``out``; returns the results, sorted by student."""
    submissions = discover(root, assignment)
    settings = replace(settings, sandbox=resolve(settings.sandbox))
    results = []
    for result in _run_pool(submissions, assignment, settings):
        write_gradescope(result, out / result.student / "results.json")
        results.append(result)
        if progress:
            progress(result, len(results), len(submissions))
    results.sort(key=lambda r: r.student)
    write_atomic(out / "grades.csv", grades_csv(results))
    return results


def _run_pool(submissions: list[Found], assignment: Assignment, settings: Settings) -> Iterator[SubmissionResult]:
    # spawn: workers start clean, without the parent's threads or torch state.
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=max(1, settings.jobs), mp_context=context) as pool:
        jobs = {pool.submit(_grade_one, found, assignment, settings): found for found in submissions}
        for job in futures.as_completed(jobs):
            try:
                yield job.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker costs a result, never the batch
                log.error("worker failed on %s: %s", jobs[job].student, exc)
                yield _crashed(jobs[job], assignment)


def _crashed(found: Found, assignment: Assignment) -> SubmissionResult:
    result = unusable(assignment, found.student, "The grader's worker process died while grading this "
                      "submission; your instructor will grade it by hand.", source=str(found.path or ""))
    return SubmissionResult(**{**result.__dict__, "grader_errors": ("worker process died",)})


def summary(results: list[SubmissionResult], seconds: float) -> str:
    """A short report for the end of a batch."""
    if not results:
        return "No submissions found."
    mean = sum(r.score for r in results) / len(results)
    lines = [f"Graded {len(results)} submissions in {seconds:.1f} s; mean score {mean:.2f} / {results[0].max_score:g}."]
    for index, function in enumerate(results[0].functions):
        passed = sum(r.functions[index].passed for r in results)
        lines.append(f"  {function.name:<24} passed by {passed}/{len(results)}")
    flagged = [r for r in results if r.grader_errors]
    if flagged:
        lines.append("Check by hand (the grader failed): " + ", ".join(r.student for r in flagged))
    return "\n".join(lines)


def timed(call: Callable[[], list[SubmissionResult]]) -> tuple[list[SubmissionResult], float]:
    started = time.monotonic()
    results = call()
    return results, time.monotonic() - started
