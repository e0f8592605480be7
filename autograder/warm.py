"""Warm grading for batches: one sandboxed zygote per worker, one forked child per submission.

``prepare`` runs once per batch, before the workers start: it records the model constructions of
the assignment's trusted setup cells into a cache directory (in a sandbox of its own: the setup
cells are instructor code, but they run where student code runs). Each worker then starts one
``WarmSandbox``: bubblewrap around ``zygote.py``, which imports torch and friends once and maps
the model cache read-only and copy-on-write, so extra workers share those pages. Every
submission is a fresh fork with its own session, limits and files; the sandbox guarantees of the
cold path hold, with the one difference that submissions graded by the same worker run, one
after another, in the same sandbox (see ``zygote`` for what is wiped between them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat

from autograder import GraderError
from autograder.assignment import Assignment
from autograder.notebook import is_test_cell
from autograder.sandbox import Mount, Sandbox
from autograder.settings import Settings
from autograder.student_process import stage_runner

RELEASE, CACHE, GRADER = "/opt/release", "/opt/cache", "/opt/grader"
END_TIMEOUT = 15.0


def trusted_setup_cells(assignment: Assignment) -> list[str]:
    """The release notebook's locked code cells that are not tests: the instructor's setup."""
    notebook = nbformat.read(assignment.release_dir / assignment.notebook_name, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"
            and cell.metadata.get("nbgrader", {}).get("locked") and not is_test_cell(cell)]


def recording_cells(assignment: Assignment) -> list[dict]:
    """The cells a batch's recording runs: the instructor's solution notebook when the course has it.

    Its setup cells record the model constructions (they must succeed); its solution and test cells
    make the forward calls a correct notebook makes, which the forward memo then answers for every
    student whose notebook makes the same calls. Without ``source/``, only the setup cells run.
    """
    setup = trusted_setup_cells(assignment)
    source = assignment.source_dir / assignment.notebook_name
    if not source.is_file():
        return [{"source": cell, "required": True} for cell in setup]
    notebook = nbformat.read(source, as_version=4)
    cells = [{"source": cell.source, "required": cell.source in setup}
             for cell in notebook.cells if cell.cell_type == "code"]
    if sum(cell["required"] for cell in cells) != len(setup):  # the source has drifted from the release
        return [{"source": cell, "required": True} for cell in setup]
    return cells


def prepare(assignment: Assignment, settings: Settings, directory: Path) -> Path:
    """Record the model constructions and forward calls into ``directory``/cache; returns that directory."""
    cache = directory / "cache"
    cache.mkdir(parents=True)
    sandbox = Sandbox(settings.sandbox)
    runner = Mount(stage_runner(directory / "runner"), GRADER)
    release, cache_mount = Mount(assignment.release_dir, RELEASE), Mount(cache, CACHE, writable=True)
    env = {"HOME": "/tmp" if sandbox.sandboxed else str(directory),
           "TIKTOKEN_CACHE_DIR": sandbox.path(release, "tiktoken_cache")}
    argv, popen_env = sandbox.command(
        [runner, release, cache_mount],
        [sandbox.path(runner, "zygote.py"), "--record", sandbox.path(cache_mount), sandbox.path(release)],
        env, cwd=sandbox.path(release))
    done = subprocess.run(argv, env=popen_env, input=json.dumps(recording_cells(assignment)),
                          capture_output=True, text=True, timeout=settings.notebook_timeout)
    if done.returncode != 0:
        raise GraderError(f"recording the model cache failed:\n{done.stderr[-2000:]}")
    return cache


class WarmChild:
    """One submission's process, forked by the zygote; the handle StudentProcess talks through."""

    def __init__(self, sandbox: WarmSandbox, to_child: int, from_child: int, output: int):
        self.sandbox, self.to_child, self.from_child = sandbox, to_child, from_child
        self.output = os.fdopen(output, "rb")
        self.sandboxed = sandbox.sandboxed

    def finish(self, grace: float = 0.0) -> int | None:
        return self.sandbox.end(grace)


class WarmSandbox:
    """A zygote in its own sandbox, forking one child per submission."""

    def __init__(self, assignment: Assignment, settings: Settings):
        self.assignment, self.settings = assignment, settings
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="autograder-warm-"))
        sandbox = Sandbox(self.settings.sandbox)
        self.sandboxed = sandbox.sandboxed
        runner = Mount(stage_runner(self.tmp / "runner"), GRADER)
        release = Mount(self.assignment.release_dir, RELEASE)
        cache = Mount(Path(self.settings.warm_cache), CACHE)
        scratch = "/tmp" if sandbox.sandboxed else str(self.tmp / "scratch")
        Path(self.tmp / "scratch").mkdir()
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        limits = self.settings.limits
        argv, env = sandbox.command(
            [runner, release, cache],
            [sandbox.path(runner, "zygote.py"), str(theirs.fileno()), sandbox.path(release), sandbox.path(cache),
             scratch, str(limits.memory_bytes), str(limits.file_bytes), "sweep" if sandbox.sandboxed else "no-sweep"],
            {"HOME": scratch, "TIKTOKEN_CACHE_DIR": sandbox.path(release, "tiktoken_cache"), "TMPDIR": scratch},
            cwd=scratch)
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                     start_new_session=True, cwd=self.tmp)
        theirs.close()
        self._expect("ready", timeout=self.settings.notebook_timeout)

    def _expect(self, event: str, timeout: float) -> dict:
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(65536)
        except (TimeoutError, OSError):
            data = b""
        message = json.loads(data) if data else {}
        if message.get("event") != event:
            self.close()
            raise GraderError(f"the warm sandbox did not answer {event!r}")
        return message

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> WarmChild:
        """Fork a child for one submission; its channel and output come back as pipes."""
        if not self.alive:
            self.close()
            self.start()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        output_r, output_w = os.pipe()
        theirs = [to_child_r, from_child_w, output_w]
        try:
            socket.send_fds(self.control, [json.dumps({"op": "fork"}).encode()], theirs)
            self._expect("forked", timeout=30)
        finally:
            for fd in theirs:
                os.close(fd)
        return WarmChild(self, to_child_w, from_child_r, output_r)

    def end(self, grace: float = 0.0) -> int | None:
        """End the current child; its exit status, or None if the zygote itself had to be killed."""
        try:
            self.control.send(json.dumps({"op": "end", "grace": grace}).encode())
            return self._expect("ended", timeout=END_TIMEOUT + grace).get("status")
        except (OSError, GraderError):
            self.close()
            return None

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
            self.control.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


_SHARED: dict[tuple, WarmSandbox] = {}


def shared_sandbox(assignment: Assignment, settings: Settings) -> WarmSandbox:
    """This process's WarmSandbox for the batch (a worker grades one submission at a time)."""
    key = (assignment.name, settings.warm_cache, settings.sandbox, settings.limits)
    if key not in _SHARED:
        _SHARED[key] = WarmSandbox(assignment, settings)
    return _SHARED[key]


def close_shared() -> None:
    """End this process's zygotes (a long-lived process such as a Dask worker, when its batch is over)."""
    while _SHARED:
        _SHARED.popitem()[1].close()
