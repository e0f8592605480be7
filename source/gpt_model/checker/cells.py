"""From a notebook's JSON to the cells a run executes: nbgrader's sanitize step, in small.

Locked cells (such as the setup cell) are restored from the trusted release copy by their nbgrader
``grade_id``; nbgrader test cells are left out, because the checks decide, not the notebook's asserts;
so are locked cells the instructor tagged ``skip-when-grading`` (a training loop: slow, and no check
depends on it). The tag counts only on the trusted copy: a student can neither skip a cell of their
own this way nor make a check run an instructor's tagged cell. The grader (after nbformat has read
and upgraded the file) and the students' checker (from the JSON itself) both sanitize here.

Two kinds of honest file lack what sanitizing relies on, and are graded all the same, with a note:
- a notebook saved by Colab (or another editor) that dropped the cells' metadata: a cell of the
  trusted copy is then recognised by its content, in order, so the setup cell is still the
  instructor's, and the test and skip-when-grading cells are still left out;
- a notebook in an older format (nbformat 3): nbformat upgrades it, as Jupyter would on opening it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SKIP_WHEN_GRADING = "skip-when-grading"  # a cell tag, honoured on locked cells of the trusted copy
REDOWNLOAD = "Open it in Jupyter, check that it still runs, save it, and submit the .ipynb file again."
UPGRADED = "_upgraded_from"  # set on a notebook read from an older format: the version it had
UPGRADED_NOTE = ("This notebook was saved in an old format (nbformat {version}); it was upgraded to the current one, "
                 "as Jupyter does when it opens it, and graded as usual.")
BY_CONTENT_NOTE = ("This notebook lost its cell metadata, as Colab does; its cells were recognised by their content "
                   "and graded as usual.")


class Unreadable(ValueError):
    """A file that is not a notebook at all; the message says what is wrong with it, for the student."""


def read(data: bytes, name: str = "the notebook") -> dict:
    """The notebook's JSON in ``data`` (a byte-order mark is fine), or Unreadable saying what is wrong."""
    if not data.strip():
        raise Unreadable(f"{name} is empty (0 bytes of content). {REDOWNLOAD}")
    try:
        text = data.decode("utf-8-sig")  # Windows editors may start the file with a byte-order mark
    except UnicodeDecodeError:
        raise Unreadable(f"{name} is not a notebook: it is a binary file, not JSON text. {REDOWNLOAD}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{name} is not a notebook: its JSON is broken at line {exc.lineno}, column {exc.colno} "
                         f"({exc.msg}). It may have been cut short or edited by hand. {REDOWNLOAD}") from None
    except RecursionError:
        raise Unreadable(nested(name)) from None
    if isinstance(raw, dict) and isinstance(raw.get("worksheets"), list) and "cells" not in raw:
        raw = upgraded(text, raw, name)
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise Unreadable(f"{name} is JSON but not a Jupyter notebook (it has no list of cells). {REDOWNLOAD}")
    return raw


def upgraded(text: str, raw: dict, name: str) -> dict:
    """A notebook of nbformat 3 (cells in "worksheets"), upgraded by nbformat as Jupyter upgrades it,
    and marked (``UPGRADED``) so that the note says so. Where nbformat is not installed (``check.py``
    needs only the notebook's own dependencies), the fields a run reads are upgraded the same way
    here: each cell's type, source and metadata (a test compares the two)."""
    try:
        import nbformat
    except ImportError:
        notebook = _upgraded_cells(raw, name)
    else:
        try:
            notebook = json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
        except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a broken old file
            raise Unreadable(f"{name} is an old notebook that could not be upgraded ({exc}). {REDOWNLOAD}") from None
    notebook[UPGRADED] = raw.get("nbformat")
    return notebook


def _upgraded_cells(raw: dict, name: str) -> dict:
    """nbformat 3 to 4, for what a run reads: code cells' "input" becomes "source", heading cells
    become markdown, the worksheets' cells one list."""
    cells = []
    try:
        for worksheet in raw["worksheets"]:
            for cell in worksheet.get("cells", []):
                kind = cell.get("cell_type")
                source = cell.get("input" if kind == "code" else "source", "")
                source = source if isinstance(source, str) else "".join(source)
                if kind == "heading":
                    kind, source = "markdown", "#" * int(cell.get("level", 1)) + " " + source
                cells.append({"cell_type": kind, "source": source, "metadata": cell.get("metadata", {})})
    except (AttributeError, TypeError, ValueError) as exc:
        raise Unreadable(f"{name} is an old notebook that could not be upgraded ({exc!r}). {REDOWNLOAD}") from None
    return {"cells": cells, "metadata": raw.get("metadata", {}), "nbformat": 4, "nbformat_minor": 0}


def nested(name: str) -> str:
    return (f"{name} is not a notebook: its JSON is nested far deeper than any notebook's, so it was not read. "
            f"{REDOWNLOAD}")


def resembles(notebook: dict, names: list[str]) -> bool:
    """Does the file look like this assignment's notebook: one of its nbgrader cells, or a mention of
    one of its functions? Another course's notebook, submitted by mistake, has neither."""
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict):
            continue
        if nbgrader(cell).get("grade_id") or any(name in source_of(cell) for name in names):
            return True
    return False


def foreign(name: str, assignment: str, names: list[str]) -> str:
    """What a student reads when the file is another notebook altogether."""
    return (f"{name} does not look like the {assignment} notebook: it has none of its cells and mentions none "
            f"of its functions ({', '.join(names)}). Check that you submitted the right file.")


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


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell: dict) -> bool:
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def skipped_when_grading(cell: dict) -> bool:
    meta = cell.get("metadata", {})
    tags = meta.get("tags", []) if isinstance(meta, dict) else []
    return isinstance(tags, list) and SKIP_WHEN_GRADING in tags


def setup_cells(trusted: dict) -> list[str]:
    """The trusted notebook's locked code cells that are not tests, and not tagged skip-when-grading:
    the instructor's setup, which every run of the notebook executes."""
    return [source_of(cell) for cell in trusted["cells"] if cell.get("cell_type") == "code"
            and nbgrader(cell).get("locked") and not is_test_cell(cell) and not skipped_when_grading(cell)]


def _content(source: str) -> str:
    """A cell's source as an editor may save it back: trailing spaces and blank edges do not count."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def sanitize(submitted: dict, trusted: dict) -> Notebook:
    """The code cells to run, with locked cells restored, and test cells and the instructor's
    skip-when-grading cells left out. A cell without nbgrader metadata whose content is a locked
    cell's (one not met yet, in the trusted copy's order) is that cell."""
    locked = {nbgrader(cell)["grade_id"]: cell for cell in trusted["cells"]
              if nbgrader(cell).get("locked") and nbgrader(cell).get("grade_id")}
    cells, seen, by_content = [], set(), False
    for position, cell in enumerate(submitted["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        grade_id = nbgrader(cell).get("grade_id")
        trusted_cell: Any = locked.get(grade_id)
        if trusted_cell is None and not nbgrader(cell):
            grade_id = next((gid for gid, locked_cell in locked.items() if gid not in seen
                             and _content(source_of(locked_cell)) == _content(source_of(cell))), None)
            trusted_cell = locked.get(grade_id)
            by_content = by_content or trusted_cell is not None
        if trusted_cell is not None:
            seen.add(grade_id)
            if is_test_cell(trusted_cell) or skipped_when_grading(trusted_cell):
                continue
            source = source_of(trusted_cell)
        elif is_test_cell(cell):
            continue
        else:
            source = source_of(cell)
        cells.append(Cell(position, source, grade_id))
    notes = ((UPGRADED_NOTE.format(version=submitted[UPGRADED]),) if UPGRADED in submitted else ()) + (
        (BY_CONTENT_NOTE,) if by_content else ()) + tuple(
        f'The locked cell "{grade_id}" is missing from your notebook; code that needs it may fail. '
        "Start again from a fresh copy of the assignment and paste your answers in."
        for grade_id, cell in locked.items()
        if grade_id not in seen and not is_test_cell(cell) and not skipped_when_grading(cell)
    )
    return Notebook(tuple(cells), notes)
