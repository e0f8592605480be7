"""Keep a batch's warm-up for the next batch of the same assignment on this machine.

A batch's warm-up (the graded inputs, the model cache and the forward recordings; about ten
seconds of two cores) depends only on the grader's code, the assignment's files and the torch
build. The first batch builds it in a staging folder and publishes it, by an atomic rename, under
a key made of exactly those things; later batches find it ready and start grading at once. Any
change to the grader, the release, the solution notebook or torch gives a new key.

The store is ``$AUTOGRADER_CACHE`` if set, else ``$XDG_CACHE_HOME/llm-course-kit`` (``~/.cache``).
Only trusted code writes it: recordings come from a sandbox whose only writable mount is the staging
folder, and student code sees the published files read-only, if at all.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from autograder import __version__
from autograder.assignment import Assignment

READY = "ready"  # written last: a folder without it is not a store


def root() -> Path:
    if os.environ.get("AUTOGRADER_CACHE"):
        return Path(os.environ["AUTOGRADER_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm-course-kit"


def grading_digest(assignment: Assignment) -> str:
    """The code and files a grade depends on: the grader's and the reference model's code, and the release.

    Two machines with the same digest grade a notebook alike (a Dask client checks its workers by it).
    """
    digest = hashlib.sha256(f"{__version__}|{assignment.name}".encode())
    reference = importlib.util.find_spec("solutions")  # the reference model the graded inputs come from
    packages = [Path(__file__).resolve().parents[1], *([Path(reference.origin).parent] if reference else [])]
    _add_files(digest, [*(path for package in packages for path in sorted(package.rglob("*.py"))),
                        *sorted(assignment.release_dir.rglob("*"))])
    return digest.hexdigest()


def key(assignment: Assignment) -> str:
    """What a warm-up is computed from: what grades depend on, the solution notebook, Python and torch."""
    torch = importlib.metadata.version("torch")
    digest = hashlib.sha256(f"{grading_digest(assignment)}|{sys.version}|torch {torch}".encode())
    _add_files(digest, [assignment.source_dir / assignment.notebook_name])
    return f"{assignment.name}-{digest.hexdigest()[:24]}"


def _add_files(digest, paths: list[Path]) -> None:
    for path in paths:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.name).encode() + b"\0" + path.read_bytes())


def find(assignment: Assignment) -> Path | None:
    """The published warm-up for this exact assignment and grader, if a batch left one."""
    folder = root() / key(assignment)
    return folder if (folder / READY).is_file() else None


def staging(assignment: Assignment) -> Path:
    """A fresh folder to build a warm-up in, on the store's filesystem so publishing is a rename."""
    root().mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root(), prefix=f".staging-{assignment.name}-"))


def publish(folder: Path, assignment: Assignment) -> None:
    """Make a finished warm-up the store for its key; if another batch was first, keep theirs."""
    (folder / READY).write_text(key(assignment))
    try:
        os.rename(folder, root() / key(assignment))
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
