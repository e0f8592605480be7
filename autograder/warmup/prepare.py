"""The warm-up: pay once per assignment what every submission would pay, and store it.

What it makes: the graded inputs (computed here, from the reference answers, through
``tensor_cache``) and the model cache with the forward recordings (made in a sandbox by
``sandbox.warm_sandbox.prepare``). ``validate``, the first batch and every Dask worker call it; the
store (``warmup.store``) keeps it for later batches and single notebooks. Never imports the checks
or the batch.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from autograder import GraderError
from autograder.assignment import Assignment
from autograder.sandbox import scratch, warm_sandbox
from autograder.sandbox.bwrap import resolve
from autograder.settings import Settings
from autograder.warmup import store as warm_store
from autograder.warmup import tensor_cache

log = logging.getLogger(__name__)

FAILED = "warm-up-failed"  # in a staging folder: not to be kept


def prepare_warm_store(assignment: Assignment, settings: Settings = Settings()) -> Path | None:
    """Warm up and store it for later batches, unless a batch already did; the store, or None if it failed.

    ``validate`` calls this, so the first batch after an instructor's pre-release check starts warm.
    """
    if warm_store.find(assignment) is None:
        with staged(assignment) as folder, graded_inputs_in(folder):
            warmed = warm_up(assignment, replace(settings, sandbox=resolve(settings.sandbox)), folder)
            if warmed.warm_cache is None:
                (folder / FAILED).touch()
    return warm_store.find(assignment)


@contextlib.contextmanager
def graded_inputs_in(folder: Path) -> Iterator[None]:
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


def warm_up(assignment: Assignment, settings: Settings, work: Path) -> Settings:
    """Pay once per batch what every submission would pay: graded inputs and the notebook's model.

    The model is recorded in a sandboxed subprocess while this process computes the inputs.
    """
    tensors = work / "tensors"
    tensors.mkdir(exist_ok=True)
    os.environ[tensor_cache.ENV] = str(tensors)  # inherited by workers spawned from now on
    with futures.ThreadPoolExecutor(max_workers=1) as background:
        recording = background.submit(warm_sandbox.prepare, assignment, settings, work)
        assignment.warm_up()
        try:
            return replace(settings, warm_cache=str(recording.result()))
        except GraderError as exc:
            log.warning("grading without a warm sandbox (each notebook starts cold): %s", exc)
            return settings


@contextlib.contextmanager
def staged(assignment: Assignment) -> Iterator[Path]:
    """A folder to warm up in; published for later batches once this one's workers are done with it."""
    try:
        folder, keep = warm_store.staging(assignment), True
    except OSError as exc:  # e.g. a read-only home: warm up for this batch alone
        log.warning("the warm-up will not be kept for later batches (%s); set AUTOGRADER_CACHE to a "
                    "writable folder to keep it", exc)
        folder, keep = scratch.folder("warm-up"), False
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if keep and not (folder / FAILED).exists():
        warm_store.publish(folder, assignment)
    else:  # a failed warm-up is tried again by the next batch
        shutil.rmtree(folder, ignore_errors=True)
