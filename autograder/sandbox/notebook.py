"""From a submitted file's bytes to the list of cells the student's process will run.

The file must be a readable notebook (nbformat reads it); then nbgrader's sanitize step, in small,
which the grader shares with the students' checker (``inside/checker/cells.py``): locked cells
restored from the trusted release copy, nbgrader test cells and the instructor's
``skip-when-grading`` cells left out. Every problem becomes an ``UnusableNotebook`` whose message
tells the student what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from autograder import GraderError
from autograder.sandbox.inside.checker.cells import (  # noqa: F401  (the grader's names for them)
    REDOWNLOAD,
    SKIP_WHEN_GRADING,
    UPGRADED,
    Cell,
    Notebook,
    Unreadable,
    is_test_cell,
    nested,
    read,
    sanitize,
    skipped_when_grading,
)


class UnusableNotebook(GraderError):
    """The submitted file cannot be graded at all (empty, not JSON, not a notebook)."""


def parse(data: bytes, name: str = "the notebook") -> nbformat.NotebookNode:
    """The notebook in ``data``, or an UnusableNotebook saying what is wrong with the file (in the
    words the students' checker uses too: the engine reads the JSON for both)."""
    try:
        raw = read(data, name)
    except Unreadable as exc:
        raise UnusableNotebook(str(exc)) from None
    try:
        notebook = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
        if UPGRADED in raw:  # the engine upgraded it too; its note says so
            notebook[UPGRADED] = raw[UPGRADED]
        return notebook
    except RecursionError:
        raise UnusableNotebook(nested(name)) from None
    except Exception as exc:  # nbformat raises several kinds for malformed notebooks
        raise UnusableNotebook(f"{name} is not a valid Jupyter notebook ({exc}). {REDOWNLOAD}") from None


def read_submitted(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, never through a symbolic link, and only up to ``max_bytes``."""
    try:
        if path.is_symlink():
            raise UnusableNotebook(f"{path.name} is a symbolic link, not a file: only a notebook file of your own "
                                   "is graded. Submit the .ipynb file itself.")
        size = path.stat().st_size
        if size > max_bytes:
            raise UnusableNotebook(
                f"{path.name} is {size / 1024**2:.0f} MB, over the {max_bytes / 1024**2:.0f} MB a notebook may be "
                "(large outputs, such as images, make it big). Clear all outputs in Jupyter, save, and submit again.")
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NOFOLLOW)) as handle:
            return handle.read(max_bytes + 1)[:max_bytes]
    except OSError as exc:
        raise UnusableNotebook(f"{path.name} could not be read ({exc.strerror}).") from None


def load(path: Path, trusted_path: Path, max_bytes: int = 100 * 1024**2) -> Notebook:
    """Read and sanitize a submitted notebook file against the trusted release copy."""
    data = read_submitted(path, max_bytes)
    trusted = nbformat.read(trusted_path, as_version=4)
    notebook = sanitize(parse(data, path.name), trusted)
    return Notebook(notebook.cells, notebook.notes, path.name, data)
