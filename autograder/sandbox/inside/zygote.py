"""A warm process inside the sandbox that forks one child per submission.

Importing torch and IPython, loading the tokenizer and building the assignment's model cost
seconds; a batch pays them once per worker here instead of once per notebook. The zygote runs
no student code itself. For each submission the grader sends, over a SOCK_SEQPACKET control
socket, the file descriptors of that submission's channel and output pipe; the zygote forks a
child that runs ``runner.Runner`` on them in a fresh directory, with its own session, memory
limit and death signal. When the grader ends the submission, the zygote kills the child's whole
session, sweeps any process that escaped it (the sandbox's PID namespace makes that safe) and
wipes the child's files, so nothing carries over to the next student.

This file is copied into the sandbox beside the engine's package (``checker/``, whose ``runner`` each
child runs) and imports nothing from the grader.

    python zygote.py CONTROL_FD RELEASE_DIR CACHE_DIR SCRATCH_DIR MEMORY_BYTES FILE_BYTES TASKS SWEEP MODEL
    python zygote.py --record CACHE_DIR RELEASE_DIR MODEL < cells.json   (trusted cells only)

MODEL is the "module:Class" beside the notebook whose constructions and forward passes the
assignment declares worth recording (``-``: none); the assignment's own support module, staged
beside this file as ``checks_support.py`` when it has one, pays its own warm-up.
"""

import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def warm_up(release: Path, cache: Path | None, model: str | None, record_into: Path | None = None) -> None:
    """Pay once what every notebook would pay: imports, the assignment's own warm-up, its model's
    class, and what building an optimizer imports when the assignment trains a model."""
    import importlib

    import torch

    torch.set_num_threads(1)  # before any op: a parent with an intra-op pool must not fork
    import IPython.core.interactiveshell  # noqa: F401
    import numpy  # noqa: F401

    # The engine and the assignment's support from the grader's own copies, before the release folder
    # (which ships them too) is on the path.
    from checker import inputs, runner  # noqa: F401  (imported once here, for every child)

    inputs.support()
    sys.path.insert(0, str(release))
    inputs.warm_up(release)
    inputs.import_what_optimizers_need(release)
    if not model:
        return
    import forward_memo
    import model_cache

    module, _, name = model.partition(":")
    model_class = getattr(importlib.import_module(module), name)
    if record_into is not None:
        model_cache.record(model_class, record_into)
        forward_memo.record(model_class, record_into, model_cache.replay_of)
    elif cache is not None:
        model_cache.install(model_class, cache)
        forward_memo.install(model_class, cache, model_cache.replay_of)


def record(cache: Path, release: Path, model: str | None) -> None:
    """Run trusted cells once, saving every model construction and forward call into ``cache``.

    The cells come from the grader: the setup cells (``required``: they must succeed) and, when the
    course has it, the rest of the instructor's solution notebook, whose failures only cost recordings.
    """
    warm_up(release, None, model, record_into=cache)
    from IPython.core.interactiveshell import InteractiveShell

    os.chdir(release)
    shell = InteractiveShell.instance(colors="NoColor")
    for cell in json.load(sys.stdin):
        result = shell.run_cell(cell["source"], store_history=False, silent=True)
        if not result.success and cell["required"]:
            sys.exit(f"a trusted setup cell failed: {result.error_before_exec or result.error_in_exec!r}")


class Zygote:
    def __init__(self, control: socket.socket, release: Path, scratch: Path, memory: int, file_size: int,
                 tasks: int, sweep: bool):
        self.control, self.release, self.scratch = control, release, scratch
        self.memory, self.file_size, self.tasks, self.sweep = memory, file_size, tasks, sweep
        self.child: int | None = None
        self.workdir: Path | None = None
        self.count = 0

    def send(self, message: dict) -> None:
        self.control.send(json.dumps(message).encode())

    def serve(self) -> None:
        prctl(PR_SET_DUMPABLE, 0)  # children (same uid) cannot ptrace us or read our memory
        self.send({"event": "ready", "pid": os.getpid()})
        while True:
            data, fds, _, _ = socket.recv_fds(self.control, 65536, 3)
            if not data:
                return
            message = json.loads(data)
            if message["op"] == "fork":
                self.fork(fds)
            elif message["op"] == "end":
                self.send({"event": "ended", "status": self.end(grace=message.get("grace", 0.0))})

    def fork(self, fds: list) -> None:
        """Fork a child for one submission. The child itself says "forked", so that the grader learns
        its pid from the kernel (SO_PASSCRED) and can put it under the limits before it runs anything."""
        self.count += 1
        self.workdir = self.scratch / f"submission-{self.count}"
        self.workdir.mkdir(parents=True)
        for entry in self.release.iterdir():
            if entry.suffix != ".ipynb" and not entry.name.startswith((".", "__")):
                (self.workdir / entry.name).symlink_to(entry)
        baseline = _virtual_size()
        try:
            pid = os.fork()
        except OSError as exc:
            pid = None
            self.send({"event": "fork-failed", "error": str(exc)})
        if pid == 0:
            self.become_child(fds, baseline)  # never returns
        for fd in fds:
            os.close(fd)
        self.child = pid

    def become_child(self, fds: list, baseline: int) -> None:
        try:
            os.setsid()
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            to_runner, from_runner, output = fds
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.close(output)
            # A backstop beside the grader's own limits: an allocation past the budget raises
            # MemoryError in the cell; a non-root grader's kernel also counts the tasks here.
            limit = baseline + self.memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size, self.file_size))
            if self.sweep:  # in the sandbox's own user namespace, the count is the sandbox's alone
                resource.setrlimit(resource.RLIMIT_NPROC, (self.tasks + 8, self.tasks + 8))
            self.send({"event": "forked"})
            self.control.close()
            os.chdir(self.workdir)
            os.environ["HOME"] = os.environ["TMPDIR"] = str(self.workdir)
            sys.path[0] = ""
            from checker import runner

            runner.Runner(to_runner, from_runner).serve()
        except SystemExit:
            pass
        finally:
            sys.stdout.flush()
            os._exit(0)

    def end(self, grace: float = 0.0) -> int | None:
        """Stop the current child and everything it started; its exit status (negative: a signal).

        ``grace`` gives a child that is already on its way out that long to exit by itself.
        """
        status = None
        if self.child is not None:
            deadline = time.monotonic() + grace
            while True:
                pid, raw = os.waitpid(self.child, os.WNOHANG)
                if pid or time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
            if not pid:
                _kill(self.child)
                _, raw = os.waitpid(self.child, 0)
            status = os.waitstatus_to_exitcode(raw)
            self.child = None
        if self.sweep:
            _kill_everything_else()
        for entry in self.scratch.iterdir():  # the child's files, and anything it left in the scratch dir
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        return status


def _kill(child: int) -> None:
    """SIGKILL the child's session; the child itself too, in case it had not called setsid yet."""
    for kill in (os.killpg, os.kill):
        try:
            kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _virtual_size() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _kill_everything_else() -> None:
    """In the sandbox's own PID namespace, every process but init (1) and us belongs to a student."""
    me = os.getpid()
    for _ in range(3):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in others:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def main() -> None:
    if sys.argv[1] == "--record":
        record(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] if sys.argv[4] != "-" else None)
        return
    control_fd, release, cache, scratch, memory, file_size, tasks, sweep, model = sys.argv[1:10]
    release, cache = Path(release), Path(cache) if cache != "-" else None
    warm_up(release, cache, model if model != "-" else None)
    from checker import guard

    guard.keep(str(release))  # torch's and the model's classes as they are before any notebook runs
    control = socket.socket(fileno=int(control_fd))
    Zygote(control, release, Path(scratch), int(memory), int(file_size), int(tasks), sweep == "sweep").serve()


if __name__ == "__main__":
    main()
