"""From a submitted file's bytes to the list of cells the student's process will run.

This is nbgrader's sanitize step, in small: the file must be a readable notebook; locked cells
(such as the setup cell) are restored from the trusted release copy by their nbgrader
``grade_id``; nbgrader test cells are left out, because the grader's own pytest checks decide
the grade, and so are locked cells the instructor tagged ``skip-when-grading`` (a training loop,
say: slow, and no check depends on it). The tag counts only on the trusted copy: a student can
neither skip a cell of their own this way nor make the grader run an instructor's tagged cell.
Every problem becomes an ``UnusableNotebook`` whose message tells the student what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import GraderError

SKIP_WHEN_GRADING = "skip-when-grading"  # a cell tag, honoured on locked cells of the trusted copy
REDOWNLOAD = "Open it in Jupyter, check that it still runs, save it, and submit the .ipynb file again."


class UnusableNotebook(GraderError):
    """The submitted file cannot be graded at all (empty, not JSON, not a notebook)."""


@dataclass(frozen=True)
class Cell:
    """A code cell to run. ``index`` is its 1-based position among all the notebook's cells."""

    index: int
    source: str
    grade_id: str | None = None

    @property
    def first_line(self) -> str:
        for line in self.source.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                return line.strip()[:60]
        return ""


@dataclass(frozen=True)
class Notebook:
    cells: tuple[Cell, ...]
    notes: tuple[str, ...] = ()
    file_name: str = ""  # the submitted file, as the student's code may open it by name
    file_bytes: bytes = b""

    def describe(self, index: int | None) -> str:
        """A cell as a student can find it: 'cell 5 ("def text_to_token_ids(text, tokenizer):")'."""
        for cell in self.cells:
            if cell.index == index:
                return f'cell {index} ("{cell.first_line}")' if cell.first_line else f"cell {index}"
        return "a cell" if index is None else f"cell {index}"


def parse(data: bytes, name: str = "the notebook") -> nbformat.NotebookNode:
    """The notebook in ``data``, or an UnusableNotebook saying what is wrong with the file."""
    if not data.strip():
        raise UnusableNotebook(f"{name} is empty (0 bytes of content). {REDOWNLOAD}")
    try:
        text = data.decode("utf-8-sig")  # Windows editors may start the file with a byte-order mark
    except UnicodeDecodeError:
        raise UnusableNotebook(f"{name} is not a notebook: it is a binary file, not JSON text. {REDOWNLOAD}") from None
    nested = (f"{name} is not a notebook: its JSON is nested far deeper than any notebook's, so it was not read. "
              f"{REDOWNLOAD}")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnusableNotebook(
            f"{name} is not a notebook: its JSON is broken at line {exc.lineno}, column {exc.colno} "
            f"({exc.msg}). It may have been cut short or edited by hand. {REDOWNLOAD}"
        ) from None
    except RecursionError:
        raise UnusableNotebook(nested) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise UnusableNotebook(f"{name} is JSON but not a Jupyter notebook (it has no list of cells). {REDOWNLOAD}")
    try:
        return nbformat.reads(text, as_version=4)
    except RecursionError:
        raise UnusableNotebook(nested) from None
    except Exception as exc:  # nbformat raises several kinds for malformed notebooks
        raise UnusableNotebook(f"{name} is not a valid Jupyter notebook ({exc}). {REDOWNLOAD}") from None


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def skipped_when_grading(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and SKIP_WHEN_GRADING in tags


def sanitize(submitted: nbformat.NotebookNode, trusted: nbformat.NotebookNode) -> Notebook:
    """The code cells to run, with locked cells restored, and test cells and the instructor's
    skip-when-grading cells left out."""
    locked = {
        _nbgrader(cell)["grade_id"]: cell
        for cell in trusted.cells
        if _nbgrader(cell).get("locked") and _nbgrader(cell).get("grade_id")
    }
    cells, seen = [], set()
    for position, cell in enumerate(submitted.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        trusted_cell = locked.get(grade_id)
        if trusted_cell is not None:
            seen.add(grade_id)
            if is_test_cell(trusted_cell) or skipped_when_grading(trusted_cell):
                continue
            source = trusted_cell.source
        elif is_test_cell(cell):
            continue
        else:
            source = cell.get("source", "")
        cells.append(Cell(position, source if isinstance(source, str) else "".join(source), grade_id))
    notes = tuple(
        f'The locked cell "{grade_id}" is missing from your notebook; code that needs it may fail. '
        "Start again from a fresh copy of the assignment and paste your answers in."
        for grade_id, cell in locked.items()
        if grade_id not in seen and not is_test_cell(cell) and not skipped_when_grading(cell)
    )
    return Notebook(tuple(cells), notes)


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
