"""Grade a batch on a Dask cluster instead of local workers (``grade DIR --scheduler ADDRESS``).

Each Dask worker keeps a warm grader, set up once by a worker plugin: the graded inputs, the model
cache and recordings (from its machine's warm store, built there if missing) and a sandboxed
zygote, exactly as a local worker has them; every submission is still a
fresh sandboxed child. The notebook's bytes travel with the task, so workers need no shared
filesystem, and results come back as plain dicts. The batch's client writes every output, as the
local path does. A worker that dies mid-submission loses nothing: the scheduler runs the task again
on another worker, and the client keeps one result per submission.

Only this module imports Dask, and only when ``--scheduler`` is given.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from distributed import Client, WorkerPlugin, as_completed, get_worker

from autograder import GraderError
from autograder.assignment import Assignment, load_assignment
from autograder.batch.submissions import Found, crashed, grade_one
from autograder.outputs.results import SubmissionResult, from_dict, to_dict
from autograder.sandbox import scratch, warm_sandbox
from autograder.sandbox.bwrap import resolve
from autograder.settings import Settings
from autograder.warmup import store as warm_store
from autograder.warmup import tensor_cache
from autograder.warmup.prepare import prepare_warm_store, warm_up

PLUGIN = "autograder-warm-grader"


class WarmGrader(WorkerPlugin):
    """Lives in each Dask worker: loads the worker's own copy of the course and warms up once."""

    def __init__(self, assignment: str, settings: Settings, digest: str):
        self.assignment_name, self.requested, self.digest = assignment, settings, digest

    def setup(self, worker) -> None:
        self.assignment = load_assignment(self.assignment_name)  # the course installed on the worker
        if warm_store.grading_digest(self.assignment) != self.digest:
            raise GraderError(f"worker {worker.address} has a different release of {self.assignment_name} or "
                              f"different grader code than the client; install the same kit everywhere")
        self.work = scratch.folder("dask")
        settings = replace(self.requested, sandbox=resolve(self.requested.sandbox), keep_zygote=True)
        store = prepare_warm_store(self.assignment, settings)  # this machine's, shared by its workers
        if store is not None:
            os.environ[tensor_cache.ENV] = str(store / "tensors")
            self.settings = replace(settings, warm_cache=str(store / "cache"))
        else:
            self.settings = warm_up(self.assignment, settings, self.work)
        self.one_at_a_time = threading.Lock()  # one zygote per worker process, as for a local worker

    def teardown(self, worker) -> None:
        warm_sandbox.close_shared()
        shutil.rmtree(self.work, ignore_errors=True)


def grade_on_worker(student: str, file_name: str, data: bytes | None, problem: str) -> dict:
    """The task: grade one submission's bytes with this worker's warm grader; a plain dict comes back."""
    grader: WarmGrader = get_worker().plugins[PLUGIN]
    with grader.one_at_a_time, tempfile.TemporaryDirectory(dir=grader.work) as inbox:
        path = None
        if data is not None:
            path = Path(inbox) / file_name
            path.write_bytes(data)
        return to_dict(grade_one(Found(student, path, problem), grader.assignment, grader.settings))


def grade_on_cluster(submissions: list[Found], assignment: Assignment, settings: Settings,
                     scheduler: str) -> Iterator[SubmissionResult]:
    """Grade ``submissions`` on the Dask cluster at ``scheduler``, yielding results as they finish."""
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise GraderError(f"could not reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        grader = WarmGrader(assignment.name, settings, warm_store.grading_digest(assignment))
        client.register_plugin(grader, name=PLUGIN)
        jobs = {}
        for found in submissions:
            data = found.path.read_bytes() if found.path is not None else None
            name = found.path.name if found.path is not None else ""
            job = client.submit(grade_on_worker, found.student, name, data, found.problem,
                                key=f"grade-{found.student}-{hashlib.sha256(data or b'').hexdigest()[:12]}",
                                pure=False)
            jobs[job] = found
        for job in as_completed(jobs):
            found = jobs.pop(job)
            try:
                result = from_dict(job.result())
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after too many retries
                yield crashed(found, assignment, f"{type(exc).__name__}: {exc}")
                continue
            # the worker saw its own temporary copy; the instructor knows the file by its path here
            yield replace(result, source=str(found.path or ""))
