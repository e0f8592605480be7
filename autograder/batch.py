"""Grade a directory of submissions: every file gets a result, whatever happens to the others.

Two layouts are understood: nbgrader's ``DIR/<student>/<assignment>/*.ipynb`` and a flat
``DIR/<student>.ipynb``. Submissions are graded by a pool of worker processes (each a grader,
running student code in sandboxed children of its own); a submission whose grading crashes still
gets a result that says so, and the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import ctypes
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from autograder import GraderError, __version__, tensor_cache, warm, warm_store
from autograder.assignment import Assignment
from autograder.feedback_page import write_feedback, write_nbgrader_feedback
from autograder.results import SubmissionResult, from_dict, grader_failed, needs_review, to_dict, unusable
from autograder.sandbox import resolve
from autograder.settings import Settings
from autograder.writers import grades_csv, write_atomic, write_gradescope

log = logging.getLogger(__name__)

GRADING_RECORD = "grading.json"  # beside results.json: the full result and what it was computed from
FAILED = "warm-up-failed"  # in a staging folder: not to be kept


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
        return Found(student_dir.name, None,
                     f"no {assignment.name}/ folder in {student_dir.name}/: nothing was submitted")
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
    from autograder.grading import grade_or_flag

    if found.path is None:
        if found.review:
            return needs_review(assignment, found.student, found.problem)
        return unusable(assignment, found.student, found.problem)
    return grade_or_flag(found.path, assignment, settings, student=found.student)


def fingerprint(found: Found, assignment: Assignment) -> str:
    """What a stored result was computed from: the file's bytes, the assignment and the grader's version."""
    digest = hashlib.sha256(f"{__version__}:{assignment.name}:".encode())
    digest.update(found.path.read_bytes() if found.path is not None else found.problem.encode())
    return digest.hexdigest()


def load_done(out: Path, found: Found, stamp: str) -> SubmissionResult | None:
    """The stored result for this exact submission, if an earlier run finished it."""
    try:
        record = json.loads((out / found.student / GRADING_RECORD).read_text())
        return from_dict(record["result"]) if record.get("fingerprint") == stamp else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(out: Path, result: SubmissionResult, stamp: str) -> None:
    """results.json and feedback.html first, then the record that marks the submission done (all atomic)."""
    write_gradescope(result, out / result.student / "results.json")
    write_feedback(result, out / result.student / "feedback.html")
    record = {"fingerprint": stamp, "result": to_dict(result)}
    write_atomic(out / result.student / GRADING_RECORD, json.dumps(record, ensure_ascii=False))


@dataclass
class Batch:
    """What a batch run did: every result (new and resumed) and how many were resumed."""

    results: list[SubmissionResult]
    resumed: int
    seconds: float


def grade_directory(root: Path, out: Path, assignment: Assignment, settings: Settings = Settings(), *,
                    gradebook_url: str | None = None, feedback_dir: Path | None = None,
                    scheduler: str | None = None,
                    progress: Callable[[SubmissionResult, int, int], None] | None = None) -> Batch:
    """Grade every submission under ``root`` into ``out``, skipping those an earlier run finished.

    Safe to interrupt at any point (even kill -9) and run again: each submission is committed by an
    atomic write of its record, so it is either done, or graded again from scratch. With
    ``feedback_dir`` (nbgrader's feedback folder), each student's page is also written there. With
    ``scheduler`` (a Dask scheduler's address), submissions are graded on that cluster's workers.
    """
    started = time.monotonic()
    submissions = discover(root, assignment)
    if not scheduler:  # on a cluster, each worker checks its own sandbox
        settings = replace(settings, sandbox=resolve(settings.sandbox))
    stamps = {found.student: fingerprint(found, assignment) for found in submissions}
    results, todo = [], []
    for found in submissions:
        done = load_done(out, found, stamps[found.student])
        if done is not None:
            results.append(done)
        else:
            todo.append(found)
    resumed = len(results)
    out.mkdir(parents=True, exist_ok=True)
    url = gradebook_url or f"sqlite:///{(out / 'gradebook.db').resolve()}"
    with futures.ThreadPoolExecutor(max_workers=1) as background:
        background.submit(_prepare_gradebook, assignment, url)  # creating a gradebook takes seconds
        with _grading(todo, assignment, settings, scheduler) as graded:
            for result in graded:
                save(out, result, stamps[result.student])
                results.append(result)
                if progress:
                    progress(result, len(results) - resumed, len(todo))
    results.sort(key=lambda r: r.student)
    write_atomic(out / "grades.csv", grades_csv(results))
    if feedback_dir is not None:
        paths = {found.student: found.path for found in submissions}
        for result in results:
            write_nbgrader_feedback(result, feedback_dir, paths.get(result.student))
    try:
        from autograder import gradebook

        gradebook.record(results, assignment, url)
    except Exception as exc:  # noqa: BLE001 - every result is already saved; say so and carry on
        log.error("the gradebook at %s was not updated (%s: %s); results.json files and grades.csv are "
                  "complete; run the same command again to retry", url, type(exc).__name__, exc)
    return Batch(results, resumed, time.monotonic() - started)


def prepare_warm_store(assignment: Assignment, settings: Settings = Settings()) -> Path | None:
    """Warm up and store it for later batches, unless a batch already did; the store, or None if it failed.

    ``validate`` calls this, so the first batch after an instructor's pre-release check starts warm.
    """
    if warm_store.find(assignment) is None:
        with _staged(assignment) as folder, _graded_inputs_in(folder):
            warmed = warm_up(assignment, replace(settings, sandbox=resolve(settings.sandbox)), folder)
            if warmed.warm_cache is None:
                (folder / FAILED).touch()
    return warm_store.find(assignment)


@contextlib.contextmanager
def _grading(todo: list[Found], assignment: Assignment, settings: Settings,
             scheduler: str | None) -> Iterator[Iterator[SubmissionResult]]:
    """The results of ``todo`` as they come: from a Dask cluster, or from local workers."""
    if not todo:
        yield iter(())
    elif scheduler:
        yield _cluster().grade_on_cluster(todo, assignment, settings, scheduler)
    else:
        with _local_workers(todo, assignment, settings) as graded:
            yield graded


@contextlib.contextmanager
def _local_workers(todo: list[Found], assignment: Assignment,
                   settings: Settings) -> Iterator[Iterator[SubmissionResult]]:
    """Start the workers, warm up while they get ready (unless the store has it), then grade."""
    store = warm_store.find(assignment)
    with contextlib.ExitStack() as stack:
        warmed = store or stack.enter_context(_staged(assignment))
        stack.enter_context(_graded_inputs_in(warmed))  # before the workers start: they inherit it
        settings = replace(settings, keep_zygote=True)
        if store:
            settings = replace(settings, warm_cache=str(store / "cache"))
        pool = stack.enter_context(_pool(assignment, settings))
        if not store:
            settings = warm_up(assignment, settings, warmed)
            if settings.warm_cache is None:
                (warmed / FAILED).touch()
        yield _graded(pool, todo, assignment, settings)


@contextlib.contextmanager
def _graded_inputs_in(folder: Path) -> Iterator[None]:
    """Point the graded-input cache at ``folder``/tensors for this process and the workers it starts."""
    saved = os.environ.get(tensor_cache.ENV)
    os.environ[tensor_cache.ENV] = str(folder / "tensors")
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(tensor_cache.ENV, None)
        else:
            os.environ[tensor_cache.ENV] = saved


def _prepare_gradebook(assignment: Assignment, url: str) -> None:
    from autograder import gradebook  # nbgrader's import alone takes most of a second

    gradebook.prepare(assignment, url)


def warm_up(assignment: Assignment, settings: Settings, work: Path) -> Settings:
    """Pay once per batch what every submission would pay: graded inputs and the notebook's model.

    The model is recorded in a sandboxed subprocess while this process computes the inputs.
    """
    tensors = work / "tensors"
    tensors.mkdir(exist_ok=True)
    os.environ[tensor_cache.ENV] = str(tensors)  # inherited by workers spawned from now on
    with futures.ThreadPoolExecutor(max_workers=1) as background:
        recording = background.submit(warm.prepare, assignment, settings, work)
        assignment.warm_up()
        try:
            return replace(settings, warm_cache=str(recording.result()))
        except GraderError as exc:
            log.warning("grading without a warm sandbox (each notebook starts cold): %s", exc)
            return settings


def _cluster():
    try:
        from autograder import cluster
    except ImportError as exc:
        raise GraderError(f"grading on a Dask cluster needs Dask ({exc}): pip install 'llm-course-kit[dask]'") from None
    return cluster


@contextlib.contextmanager
def _staged(assignment: Assignment) -> Iterator[Path]:
    """A folder to warm up in; published for later batches once this one's workers are done with it."""
    try:
        folder, keep = warm_store.staging(assignment), True
    except OSError as exc:  # e.g. a read-only home: warm up for this batch alone
        log.warning("the warm-up will not be kept for later batches (%s); set AUTOGRADER_CACHE to a "
                    "writable folder to keep it", exc)
        folder, keep = Path(tempfile.mkdtemp(prefix="autograder-warm-up-")), False
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if keep and not (folder / FAILED).exists():
        warm_store.publish(folder, assignment)
    else:  # a failed warm-up is tried again by the next batch
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _pool(assignment: Assignment, settings: Settings) -> Iterator[futures.ProcessPoolExecutor]:
    """The batch's worker processes, started at once so they get ready while the batch warms up."""
    # spawn: workers start clean, without the parent's threads or torch state.
    context = multiprocessing.get_context("spawn")
    jobs = max(1, settings.jobs)
    pool = futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_die_with_parent)
    try:
        for _ in range(jobs):
            pool.submit(_get_ready, assignment, settings)
        yield pool
    finally:  # every result is in: the workers wind down while the batch writes its outputs
        pool.shutdown(wait=False, cancel_futures=True)


def _get_ready(assignment: Assignment, settings: Settings) -> None:
    """A new worker's first task: its imports and, when the warm-up is already there, its zygote."""
    import torch  # noqa: F401

    from autograder import grading  # noqa: F401 - pytest, the plugin, the submission machinery

    if settings.warm_cache:
        from autograder.warm import shared_sandbox

        sandbox = shared_sandbox(assignment, settings)
        if not sandbox.alive:
            try:
                sandbox.start()
            except GraderError:
                pass  # the first submission tries again and reports it


def _graded(pool: futures.ProcessPoolExecutor, submissions: list[Found], assignment: Assignment,
            settings: Settings) -> Iterator[SubmissionResult]:
    jobs = {pool.submit(grade_one, found, assignment, settings): found for found in submissions}
    for job in futures.as_completed(jobs):
        try:
            yield job.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker costs a result, never the batch
            log.error("worker failed on %s: %s", jobs[job].student, exc)
            yield crashed(jobs[job], assignment, "worker process died")


def _die_with_parent() -> None:
    """Workers end when the batch's process does, even on kill -9 (Linux's PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def crashed(found: Found, assignment: Assignment, why: str) -> SubmissionResult:
    """The result for a submission whose grading process died: flagged for grading by hand."""
    return grader_failed(assignment, found.student, why, source=str(found.path or ""))
