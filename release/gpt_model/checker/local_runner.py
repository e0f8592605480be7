"""A runner forked from this very process, for ``python check.py``: the child handle a ``Channel``
talks through, as the grader's sandbox forks one from its zygote.

Forked from the students' warm process (torch imported, the notebook's model remembered), never from
a process that has run a parallel torch op: the runner starts its own pool of threads for the
notebook's cells, and each function's checks then go to a fork of it that keeps to one thread.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from . import release_files

THREADS = 1  # the torch threads a notebook's cells run with: the machine's, once the warm-up has looked


class LocalRunner:
    """A runner in a child of this process, on three pipes: its input, its output, what it prints."""

    sandboxed = False

    def __init__(self):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        output_r, output_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            for fd in (self.to_child, self.from_child, output_r):
                os.close(fd)
            _become_runner(to_child_r, from_child_w, output_w)  # never returns
        for fd in (to_child_r, from_child_w, output_w):
            os.close(fd)
        self.output = os.fdopen(output_r, "rb")

    def finish(self, grace: float = 0.0) -> int | None:
        return end(self.pid, grace)

    def exceeded(self) -> str | None:
        return None


def _become_runner(to_runner: int, from_runner: int, output: int) -> None:
    """In the child: the runner, in the release folder, as the grader runs it, in a session of its own."""
    from .runner import Runner

    try:
        os.setsid()
        _die_with_parent()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.chdir(release_files.FOLDER)
        sys.path[0] = ""
        sys.modules["torch"].set_num_threads(THREADS)  # no parallel op ran before the fork: a fresh pool
        Runner(to_runner, from_runner).serve()
    except SystemExit:
        pass
    finally:
        sys.stdout.flush()
        os._exit(0)


def _die_with_parent() -> None:
    """On Linux, the runner is killed when the driver that forked it dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def end(pid: int | None, grace: float = 0.0) -> int | None:
    """End a child and its session; its exit status (negative: the signal that ended it)."""
    if pid is None:
        return None
    deadline = time.monotonic() + grace
    while True:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    for kill in (os.killpg, os.kill):  # its whole session: whatever the notebook started
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if not done:
        _, raw = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(raw)
