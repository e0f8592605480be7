"""Command lines that start student processes, inside bubblewrap when it is available.

The sandbox shows student code only what it needs: the Python installation and system libraries
read-only, the directories its caller mounts (the runner, the assignment's release files, a
private home), and a private ``/tmp``. It has its own network namespace (no network, not even
loopback), its own PID namespace (every process it starts dies with it) and no capabilities. The
course directory, the solutions, the tests and other submissions are simply not mounted.

Without bwrap the grader warns once and runs the same command as a plain child process: the
process split and the limits still hold, the filesystem and network isolation do not.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd", "group",
             "nsswitch.conf", "fonts", "ssl")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# -E: ignore PYTHON* variables, -s: no user site-packages, -B: write no bytecode, -u: unbuffered.
PYTHON_FLAGS = ("-E", "-s", "-B", "-u", "-X", "utf8")


@dataclass(frozen=True)
class Limits:
    """Per-submission resource limits, enforced from outside the student's process.

    They hold when the grader runs as root (CI, Docker, Gradescope): see ``confinement`` for how
    each is enforced where cgroups are available and where they are not.
    """

    memory_bytes: int = 4 * 1024**3  # a fixed budget for the submission's own memory, temp files included
    file_bytes: int = 256 * 1024**2  # the largest file it may write
    temp_bytes: int = 512 * 1024**2  # its RAM-backed /tmp (and working directory)
    shm_bytes: int = 64 * 1024**2  # its /dev/shm, for torch's shared-memory tensors
    tasks: int = 256  # processes and threads at once


@dataclass(frozen=True)
class Mount:
    """A host directory shown to student code at ``target``; read-only unless ``writable``."""

    source: Path
    target: str
    writable: bool = False


def python_roots() -> list[str]:
    """Directories the Python installation lives in, to mount read-only."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p))
    real = sorted({os.path.realpath(r) for r in roots} | roots)
    return [r for r in real if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in real)]


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
    log.warning(f"{reason}. Student code will run WITHOUT a sandbox: in its own process, with time and memory "
                "limits, but able to read what this user can read and to use the network. "
                "Install bubblewrap (apt-get install bubblewrap) to grade untrusted notebooks.")


def resolve(mode: str) -> str:
    """Turn "auto" into "bwrap" or "none", warning (once per process) if bwrap cannot be used."""
    if mode == "none":
        return mode
    reason = bwrap_status()
    if reason is None:
        return "bwrap"
    if mode == "bwrap":
        from autograder import GraderError

        raise GraderError(f"{reason}; --sandbox bwrap was asked for. Install bubblewrap or use --sandbox auto.")
    _warn_unsandboxed(reason)
    return "none"


class Sandbox:
    """Builds the command for a student process, in bubblewrap or as a plain process.

    Callers name files through ``path(mount, name)``: inside bwrap that is under the mount's
    target, in a plain process it is the host path, so the same code starts both.
    """

    def __init__(self, mode: str = "auto"):
        self.mode = resolve(mode)
        self.sandboxed = self.mode == "bwrap"

    def path(self, mount: Mount, name: str = "") -> str:
        base = mount.target if self.sandboxed else str(mount.source)
        return f"{base}/{name}" if name else base

    def command(self, mounts: list[Mount], script: list[str], env: dict[str, str], cwd: str,
                limits: Limits = Limits()) -> tuple[list, dict]:
        """(argv, Popen environment) running ``python *script`` with ``env``, seeing ``mounts``."""
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **env}
        python = [sys.executable, *PYTHON_FLAGS, *script]
        if not self.sandboxed:
            return python, env
        argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--uid", "1000", "--gid", "1000", "--hostname", "sandbox", "--proc", "/proc",
                # Every writable place is a tmpfs of capped size: bwrap's own /dev would be an uncapped one.
                "--dev", "/dev", "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
                "--size", str(limits.temp_bytes), "--tmpfs", "/tmp"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                argv += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                argv += ["--ro-bind", path, path]
        for name in ETC_FILES:
            argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for root in python_roots():
            argv += ["--ro-bind", root, root]
        for mount in mounts:
            argv += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
        argv += ["--chdir", cwd, "--clearenv"]
        for key, value in env.items():
            argv += ["--setenv", key, value]
        return argv + python, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
