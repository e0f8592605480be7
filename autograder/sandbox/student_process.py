"""The trust boundary: the only module that starts a student's process for the grader.

A ``StudentProcess`` is the engine's ``Channel`` (``inside/checker/channel.py``: the one driver's side
of the wire, which checks every reply field by field and enforces the time limits from outside)
over a runner forked by the sandbox's zygote. Values come back as plain data, rebuilt by
``wire.decode``, never unpickled; whatever the student's process sends is validated before use.
"""

from __future__ import annotations

from pathlib import Path

from autograder.sandbox.bwrap import Limits
from autograder.sandbox.inside.checker.channel import (  # noqa: F401  (the boundary's types, for the grader)
    OUTPUT_LIMIT,
    CallReply,
    CellResult,
    Channel,
    FunctionInfo,
    NotebookRun,
    StudentError,
    StudentProcessEnded,
)
from autograder.sandbox.warm_sandbox import WarmSandbox
from autograder.settings import Settings


class StudentProcess(Channel):
    """One student notebook running in its own process. Use as a context manager.

    The process is forked by a zygote in the sandbox: ``warm``, a batch's or a Submission's
    WarmSandbox, or else one of its own that ends with it.
    """

    def __init__(self, support_dir: Path, limits: Limits = Limits(), sandbox: str = "auto", warm=None):
        self.own = None if warm is not None else WarmSandbox(support_dir, Settings(sandbox=sandbox, limits=limits))
        self.warm = warm or self.own
        super().__init__(self.warm.spawn)

    def close(self, grace: float = 0.0) -> int | None:
        status = super().close(grace)
        if self.own is not None:
            self.own.close()
        return status
