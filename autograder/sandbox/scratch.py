"""The grader's temporary folders: named by the process that owns them, and swept once it is gone.

A folder is removed by its owner when it is done (a sandbox closed, a Dask worker torn down), but an
owner killed with SIGKILL (a batch stopped with kill -9, a worker that died with it) cannot remove
anything. So every folder carries its owner's pid in its name, and the next grader to make one first
removes those whose owner no longer runs: a grading host that runs batches for a term keeps none.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "autograder-"
NAME = re.compile(rf"{PREFIX}[a-z-]+?-(\d+)-[^/]+")


def folder(kind: str) -> Path:
    """A new temporary folder for ``kind`` ("warm", "dask", ...), owned by this process."""
    sweep()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))


def sweep(where: Path | None = None) -> list[Path]:
    """Remove the grader's temporary folders whose owning process has ended; the folders removed."""
    where = Path(where or tempfile.gettempdir())
    removed = []
    try:
        entries = list(where.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = NAME.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not _running(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    try:  # a zombie has ended: its folder is nobody's
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
