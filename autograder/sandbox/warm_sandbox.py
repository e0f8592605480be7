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

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import nbformat

from autograder import GraderError
from autograder.assignment import Assignment, Needs
from autograder.sandbox import scratch as scratch_folders
from autograder.sandbox.bwrap import Mount, Sandbox
from autograder.sandbox.confinement import Confined
from autograder.sandbox.inside.checker import cells, release_files
from autograder.sandbox.notebook import skipped_when_grading
from autograder.settings import Settings

RELEASE, CACHE, GRADER = "/opt/release", "/opt/cache", "/opt/grader"
END_TIMEOUT = 15.0
# The files that run on the student side, beside student code: they import nothing of the grader.
INSIDE = Path(__file__).resolve().parent / "inside"
RUNNER_FILES = ("model_cache.py", "forward_memo.py", "zygote.py")  # and the engine's package, checker/
ENGINE = INSIDE / "checker"


SUPPORT = "checks_support.py"  # the assignment's support module, by the name the engine imports


def stage_runner(directory: Path, needs: Needs = Needs()) -> Path:
    """Copy the files that run on the student side (and nothing else of the grader) into ``directory``:
    the zygote and its caches, the engine, and the assignment's support module if it has one."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in RUNNER_FILES:
        shutil.copy(INSIDE / name, directory / name)
    shutil.copytree(ENGINE, directory / ENGINE.name, ignore=shutil.ignore_patterns("__pycache__"),
                    dirs_exist_ok=True)
    if needs.support is not None:
        shutil.copy(needs.support, directory / SUPPORT)
    return directory


def trusted_setup_cells(assignment: Assignment) -> list[str]:
    """The release notebook's locked code cells that are not tests: the instructor's setup (but the
    cells tagged skip-when-grading, which grading never runs)."""
    return cells.setup_cells(nbformat.read(assignment.release_dir / assignment.notebook_name, as_version=4))


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
             for cell in notebook.cells if cell.cell_type == "code" and not skipped_when_grading(cell)]
    if sum(cell["required"] for cell in cells) != len(setup):  # the source has drifted from the release
        return [{"source": cell, "required": True} for cell in setup]
    return cells


def prepare(assignment: Assignment, settings: Settings, directory: Path) -> Path:
    """Record the model constructions and forward calls into ``directory``/cache; returns that directory."""
    cache = directory / "cache"
    cache.mkdir(parents=True)
    sandbox = Sandbox(settings.sandbox)
    if not assignment.model:
        return cache  # nothing declared to record: the cache stays empty
    runner = Mount(stage_runner(directory / "runner", assignment.needs), GRADER)
    release, cache_mount = Mount(assignment.release_dir, RELEASE), Mount(cache, CACHE, writable=True)
    env = {"HOME": "/tmp" if sandbox.sandboxed else str(directory), release_files.OUTSIDE: "1"}
    argv, popen_env = sandbox.command(
        [runner, release, cache_mount],
        [sandbox.path(runner, "zygote.py"), "--record", sandbox.path(cache_mount), sandbox.path(release),
         assignment.model],
        env, cwd=sandbox.path(release))
    done = subprocess.run(argv, env=popen_env, input=json.dumps(recording_cells(assignment)),
                          capture_output=True, text=True, timeout=settings.notebook_timeout)
    if done.returncode != 0:
        raise GraderError(f"recording the model cache failed:\n{done.stderr[-2000:]}")
    return cache


class WarmChild:
    """One submission's process, forked by the zygote; the handle StudentProcess talks through."""

    def __init__(self, sandbox: WarmSandbox, confined: Confined, to_child: int, from_child: int, output: int):
        self.sandbox, self.confined = sandbox, confined
        self.to_child, self.from_child = to_child, from_child
        self.output = os.fdopen(output, "rb")
        self.sandboxed = sandbox.sandboxed

    def exceeded(self) -> str | None:
        """The limit that ended this submission's process, in words, if one did."""
        return self.confined.exceeded()

    def finish(self, grace: float = 0.0) -> int | None:
        try:
            return self.sandbox.end(grace)
        finally:
            self.confined.kill()
            self.confined.release()


def _credentials_of(ancillary: list) -> int | None:
    """The sender's pid, as the kernel reports it in this process's PID namespace (SCM_CREDENTIALS)."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= 12:
            return struct.unpack("3i", data[:12])[0]
    return None


class WarmSandbox:
    """A zygote in its own sandbox, forking one child per submission.

    With ``settings.warm_cache`` it maps a batch's recordings; without, it is the same zygote
    without them, which ``grade NOTEBOOK`` and ``check`` use for their one notebook (a restart
    after a hang is then a fork, not a new interpreter).
    """

    def __init__(self, release_dir: Path, settings: Settings, needs: Needs = Needs()):
        self.release_dir, self.settings, self.needs = release_dir, settings, needs
        self.proc: subprocess.Popen | None = None
        self.zygote_pid: int | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the sandbox; ``wait_ready`` waits for the zygote. Call this from a thread that lives as
        long as the sandbox: bwrap's --die-with-parent follows the thread that started it."""
        self.tmp = scratch_folders.folder("warm")
        sandbox = Sandbox(self.settings.sandbox)
        self.sandboxed = sandbox.sandboxed
        runner = Mount(stage_runner(self.tmp / "runner", self.needs), GRADER)
        release = Mount(self.release_dir, RELEASE)
        mounts = [runner, release]
        cache = "-"
        if self.settings.warm_cache:
            mounts.append(Mount(Path(self.settings.warm_cache), CACHE))
            cache = sandbox.path(mounts[-1])
        scratch = "/tmp" if sandbox.sandboxed else str(self.tmp / "scratch")
        Path(self.tmp / "scratch").mkdir()
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        limits = self.settings.limits
        argv, env = sandbox.command(
            mounts,
            [sandbox.path(runner, "zygote.py"), str(theirs.fileno()), sandbox.path(release), cache,
             scratch, str(limits.memory_bytes), str(limits.file_bytes), str(limits.tasks),
             "sweep" if sandbox.sandboxed else "no-sweep", self.needs.model or "-"],
            {"HOME": scratch, release_files.OUTSIDE: "1", "TMPDIR": scratch},
            cwd=scratch, limits=limits)
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                     start_new_session=True, cwd=self.tmp)
        theirs.close()

    def wait_ready(self) -> None:
        self.zygote_pid = self._expect("ready", timeout=self.settings.notebook_timeout)[1]

    def _expect(self, event: str, timeout: float) -> tuple[dict, int | None]:
        """The next message, which must be ``event``, and the pid of the process that sent it."""
        self.control.settimeout(timeout)
        try:
            data, ancillary, _, _ = self.control.recvmsg(65536, socket.CMSG_SPACE(12))
        except (TimeoutError, OSError):
            data, ancillary = b"", []
        message = json.loads(data) if data else {}
        if message.get("event") != event:
            self.close()
            detail = f": {message['error']}" if message.get("error") else ""
            raise GraderError(f"the warm sandbox did not answer {event!r}{detail}")
        return message, _credentials_of(ancillary)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> WarmChild:
        """Fork a child for one submission, under the limits; its channel and output come back as pipes.

        A zygote found dead, or dying as it forks, is started again once: that is the grader's
        trouble, never the submission's.
        """
        for attempt in (1, 2):
            if not self.alive:
                self.close()
                self.start()
            try:
                return self._fork()
            except GraderError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _fork(self) -> WarmChild:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        output_r, output_w = os.pipe()
        theirs = [to_child_r, from_child_w, output_w]
        try:
            try:
                socket.send_fds(self.control, [json.dumps({"op": "fork"}).encode()], theirs)
            except OSError as exc:
                self.close()
                raise GraderError(f"the warm sandbox is gone ({exc})") from None
            child = self._expect("forked", timeout=30)[1]
        except BaseException:
            for fd in (to_child_w, from_child_r, output_r):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        # The child waits for its first request, so it is under the limits before any student code runs.
        confined = Confined(child, self.zygote_pid if self.sandboxed else None, self.settings.limits)
        return WarmChild(self, confined, to_child_w, from_child_r, output_r)

    def end(self, grace: float = 0.0) -> int | None:
        """End the current child; its exit status, or None if the zygote itself had to be killed."""
        try:
            self.control.send(json.dumps({"op": "end", "grace": grace}).encode())
            return self._expect("ended", timeout=END_TIMEOUT + grace)[0].get("status")
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


_PRESTARTED: dict[tuple, tuple[WarmSandbox, threading.Thread]] = {}


def _key(release_dir: Path, settings: Settings, needs: Needs) -> tuple:
    return (str(release_dir), settings.warm_cache, settings.sandbox, settings.limits, needs)


@contextlib.contextmanager
def prestarted(release_dir: Path, settings: Settings, needs: Needs = Needs()) -> Iterator[None]:
    """Start a zygote in the background while the grader gets ready (imports, collection, inputs),
    for the one notebook about to be graded; ``take`` hands it over. One not taken is closed."""
    sandbox = WarmSandbox(release_dir, settings, needs)
    sandbox.launch()  # here: the sandbox dies with the thread that started it
    thread = threading.Thread(target=_ready_quietly, args=(sandbox,), daemon=True)
    thread.start()
    _PRESTARTED[_key(release_dir, settings, needs)] = (sandbox, thread)
    try:
        yield
    finally:
        if _PRESTARTED.pop(_key(release_dir, settings, needs), None) is not None:
            thread.join()
            sandbox.close()


def _ready_quietly(sandbox: WarmSandbox) -> None:
    try:
        sandbox.wait_ready()
    except (GraderError, OSError):
        sandbox.close()  # the taker starts it again, and reports what goes wrong


def take(release_dir: Path, settings: Settings, needs: Needs = Needs()) -> WarmSandbox:
    """The prestarted zygote for these settings (started, or failed and closed), or a new one."""
    found = _PRESTARTED.pop(_key(release_dir, settings, needs), None)
    if found is None:
        return WarmSandbox(release_dir, settings, needs)
    sandbox, thread = found
    thread.join()
    return sandbox


_SHARED: dict[tuple, WarmSandbox] = {}


def shared_sandbox(assignment: Assignment, settings: Settings) -> WarmSandbox:
    """This process's WarmSandbox for the batch (a worker grades one submission at a time)."""
    key = (assignment.name, settings.warm_cache, settings.sandbox, settings.limits)
    if key not in _SHARED:
        _SHARED[key] = WarmSandbox(assignment.release_dir, settings, assignment.needs)
    return _SHARED[key]


def close_shared() -> None:
    """End this process's zygotes (a long-lived process such as a Dask worker, when its batch is over)."""
    while _SHARED:
        _SHARED.popitem()[1].close()
