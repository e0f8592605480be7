"""The grader's settings: one frozen value, built from CLI flags (or pytest options)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from autograder.sandbox.bwrap import Limits

if TYPE_CHECKING:
    from autograder.assignment import Assignment


@dataclass(frozen=True)
class Settings:
    """How to grade.

    The time limits left at None come from the assignment (``fitted``): what fits a notebook that
    builds a 124M-parameter model is not what fits one that trains a model.
    """

    notebook_timeout: float = 300.0  # seconds for all of a notebook's cells, restarts included: a backstop
    call_timeout: float | None = None  # seconds for one call of a student function
    cell_timeout: float | None = None  # seconds for one cell; a cell past it is skipped, not fatal
    sandbox: str = "auto"  # "auto": bwrap if it works here, else a warning; "bwrap": required; "none"
    limits: Limits = field(default_factory=Limits)
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    warm_cache: str | None = None  # a prepared model cache (a batch's, or the warm store's): map it in the zygote
    keep_zygote: bool = False  # a batch worker's: one zygote per process, kept for the next submission
    max_notebook_bytes: int = 100 * 1024**2  # a larger file is not graded (notebooks with plots are tens of MB)

    def fitted(self, assignment: Assignment) -> Settings:
        """These settings with the assignment's time limits wherever none was given."""
        return replace(self, call_timeout=self.call_timeout or assignment.call_timeout,
                       cell_timeout=self.cell_timeout or assignment.cell_timeout)


def add_limit_options(add: Callable[..., Any]) -> None:
    """The flags for a submission's limits, for the CLI (``add_argument``) and the pytest plugin
    (``addoption``) alike, so the two cannot drift apart."""
    add("--memory-mb", type=int, default=Limits.memory_bytes // 2**20, metavar="MB",
        help="memory budget of one submission, its temp files included (default: %(default)s)")
    add("--temp-mb", type=int, default=Limits.temp_bytes // 2**20, metavar="MB",
        help="size of one submission's RAM-backed /tmp (default: %(default)s)")
    add("--max-tasks", type=int, default=Limits.tasks, metavar="N",
        help="processes and threads one submission may run at once (default: %(default)s)")
    add("--max-notebook-mb", type=float, default=Settings.max_notebook_bytes / 1024**2, metavar="MB",
        help="a larger notebook file gets 0 and a message to clear its outputs (default: %(default)g)")


def limits_from(memory_mb: int, temp_mb: int, max_tasks: int) -> Limits:
    return Limits(memory_bytes=memory_mb * 2**20, temp_bytes=temp_mb * 2**20, tasks=max_tasks)
