"""The command line that starts a student's process, inside bubblewrap when it is available.

The sandbox shows the student's code only what it needs: the Python installation and system
libraries read-only, the assignment's release files (``gpt2.py``, the tokenizer files) in a
private writable home, the runner, and a private ``/tmp``. It has its own network namespace (no
network, not even loopback), its own PID namespace (every process it starts dies with it) and no
capabilities. The course directory, the solutions, the tests and other submissions are simply not
mounted.

Without bwrap the grader warns once and runs the same command as a plain child process: the
process split and the limits still hold, the filesystem and network isolation do not.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

HOME = "/home/student"
GRADER = "/opt/grader"
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd", "group",
             "nsswitch.conf", "fonts", "ssl")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Limits:
    """Per-submission resource limits, enforced by the kernel on the student's process."""

    memory_bytes: int = 4 * 1024**3
    file_bytes: int = 256 * 1024**2
    threads: int = 1


@dataclass(frozen=True)
class Launch:
    """How to start one student process: argv, environment, working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    sandboxed: bool


def python_roots() -> list[str]:
    """Directories the Python installation lives in, to mount read-only."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p))
    real = sorted({os.path.realpath(r) for r in roots} | roots)
    # Keep only the outermost directories.
    return [r for r in real if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in real)]


# -E: ignore PYTHON* variables, -s: no user site-packages, -B: write no bytecode, -u: unbuffered.
PYTHON_FLAGS = ("-E", "-s", "-B", "-u", "-X", "utf8")


def _env(home: str) -> dict[str, str]:
    return {
        "HOME": home,
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "TIKTOKEN_CACHE_DIR": f"{home}/tiktoken_cache",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TMPDIR": "/tmp",
    }


def bwrap_argv(workdir: Path, runner_dir: Path, fds: tuple[int, int]) -> list[str]:
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "1000", "--gid", "1000", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for root in python_roots():
        argv += ["--ro-bind", root, root]
    argv += ["--bind", str(workdir), HOME, "--ro-bind", str(runner_dir), GRADER, "--chdir", HOME, "--clearenv"]
    for key, value in _env(HOME).items():
        argv += ["--setenv", key, value]
    return argv + [sys.executable, *PYTHON_FLAGS, f"{GRADER}/runner.py", str(fds[0]), str(fds[1])]


@cache
def bwrap_status() -> str | None:
    """None when bwrap works here, else the reason it cannot be used."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    probe = subprocess.run(["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                            "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bwrap cannot create a sandbox here: {probe.stderr.strip() or probe.returncode}"
    return None


@cache
def _warn_unsandboxed(reason: str) -> None:
    message = (f"{reason}. Student code will run WITHOUT a sandbox: in its own process, with time and "
               "memory limits, but able to read what this user can read and to use the network. "
               "Install bubblewrap (apt-get install bubblewrap) to grade untrusted notebooks.")
    log.warning(message)


def resolve(mode: str) -> str:
    """Turn "auto" into "bwrap" or "none" once, warning if bwrap cannot be used, so that a batch's
    workers neither probe again nor repeat the warning."""
    if mode != "auto":
        return mode
    reason = bwrap_status()
    if reason is None:
        return "bwrap"
    _warn_unsandboxed(reason)
    return "none"


def launch(workdir: Path, runner_dir: Path, fds: tuple[int, int], mode: str = "auto") -> Launch:
    """The command for a student process; ``mode`` is "auto", "bwrap" (required) or "none"."""
    if mode != "none":
        reason = bwrap_status()
        if reason is None:
            return Launch(bwrap_argv(workdir, runner_dir, fds), {}, str(workdir), True)
        if mode == "bwrap":
            from autograder import GraderError

            raise GraderError(f"{reason}; --sandbox bwrap was asked for. Install bubblewrap or use --sandbox auto.")
        _warn_unsandboxed(reason)
    argv = [sys.executable, *PYTHON_FLAGS, str(runner_dir / "runner.py"), str(fds[0]), str(fds[1])]
    return Launch(argv, _env(str(workdir)), str(workdir), False)


def apply_limits(limits: Limits) -> None:
    """Run in the child between fork and exec: kernel-enforced limits that student code cannot lift."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
