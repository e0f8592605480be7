"""Grade a directory of submissions: every file gets a result, whatever happens to the others.

Three layouts are understood: nbgrader's ``DIR/<student>/<assignment>/*.ipynb``, a flat
``DIR/<student>.ipynb``, and one cloned repository per student, ``DIR/<repository>/<notebook>``,
as GitHub Classroom's students have them. Submissions are graded by a pool of worker processes
(each a grader, running student code in sandboxed children of its own), or on a Dask cluster
(``batch.cluster``); a submission whose grading crashes still gets a result that says so, and the
batch goes on.
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
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from autograder import GraderError, __version__
from autograder.assignment import Assignment
from autograder.batch.submissions import Found, crashed, discover, grade_one
from autograder.outputs.feedback_page import write_feedback, write_nbgrader_feedback
from autograder.outputs.results import SubmissionResult, from_dict, to_dict
from autograder.outputs.writers import GRADING_RECORD, grades_csv, write_atomic, write_gradescope
from autograder.sandbox.bwrap import resolve
from autograder.settings import Settings
from autograder.warmup import prepare
from autograder.warmup import store as warm_store

log = logging.getLogger(__name__)



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
        from autograder.outputs import gradebook

        gradebook.record(results, assignment, url)
    except Exception as exc:  # noqa: BLE001 - every result is already saved; say so and carry on
        log.error("the gradebook at %s was not updated (%s: %s); results.json files and grades.csv are "
                  "complete; run the same command again to retry", url, type(exc).__name__, exc)
    return Batch(results, resumed, time.monotonic() - started)


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
        warmed = store or stack.enter_context(prepare.staged(assignment))
        stack.enter_context(prepare.graded_inputs_in(warmed))  # before the workers start: they inherit it
        settings = replace(settings, keep_zygote=True)
        if store:
            settings = replace(settings, warm_cache=str(store / "cache"))
        pool = stack.enter_context(_pool(assignment, settings))
        if not store:
            settings = prepare.warm_up(assignment, settings, warmed)
            if settings.warm_cache is None:
                (warmed / prepare.FAILED).touch()
        yield _graded(pool, todo, assignment, settings)


def _prepare_gradebook(assignment: Assignment, url: str) -> None:
    from autograder.outputs import gradebook  # nbgrader's import alone takes most of a second

    gradebook.prepare(assignment, url)


def _cluster():
    try:
        from autograder.batch import cluster
    except ImportError as exc:
        raise GraderError(f"grading on a Dask cluster needs Dask ({exc}): pip install 'llm-course-kit[dask]'") from None
    return cluster


@contextlib.contextmanager
def _pool(assignment: Assignment, settings: Settings) -> Iterator[futures.ProcessPoolExecutor]:
    """The batch's worker processes, started at once so they get ready while the batch warms up."""
    # spawn: workers start clean, without the parent's threads or torch state.
    context = multiprocessing.get_context("spawn")
    jobs = max(1, settings.jobs)
    pool = futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                                       initargs=(max(1, (os.cpu_count() or 1) // jobs),))
    try:
        for _ in range(jobs):
            pool.submit(_get_ready, assignment, settings)
        yield pool
    finally:  # every result is in: the workers wind down while the batch writes its outputs
        pool.shutdown(wait=False, cancel_futures=True)


def _get_ready(assignment: Assignment, settings: Settings) -> None:
    """A new worker's first task: its imports and, when the warm-up is already there, its zygote."""
    import torch  # noqa: F401

    from autograder.checks import grading  # noqa: F401 - pytest, the plugin, the submission machinery

    if settings.warm_cache:
        from autograder.sandbox.warm_sandbox import shared_sandbox

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


def _start_worker(threads: int) -> None:
    """Workers end when the batch's process does, even on kill -9 (Linux's PR_SET_PDEATHSIG), and
    share the cores: torch in each would start a thread per core, and OpenMP threads that wait by
    spinning, two workers' worth on as many cores, made a batch of small models three times slower."""
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read when torch is first imported, below
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    # A worker that ends with its pool ends its zygote and removes its folder (multiprocessing runs
    # its finalizers, not atexit's); one killed with the batch leaves them to the next grader's sweep.
    from multiprocessing.util import Finalize

    from autograder.sandbox.warm_sandbox import close_shared

    Finalize(None, close_shared, exitpriority=10)


