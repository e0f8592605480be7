"""Is the submission the student's own work, and this assignment's notebook at all?

A student's notebook comes from the release, where ``nbgrader generate_assignment`` removed the
solutions and the hidden tests. A submission that still carries nbgrader's solution or hidden-test
markers, or the hidden tests of the instructor's notebook, was made from the instructor's copy,
however it got into ``submitted/``. Such a submission earns nothing automatically: it is graded 0
and listed for a person to look at, who can still give it points by hand.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from autograder.sandbox.inside.checker import cells

if TYPE_CHECKING:
    from autograder.assignment import Assignment

# nbgrader's default delimiters (ClearSolutions, ClearHiddenTests), as they stand in a comment line.
MARKER = re.compile(r"^[ \t]*#+[ \t]*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\b", re.MULTILINE)
HIDDEN = re.compile(r"#+[ \t]*BEGIN HIDDEN TESTS[^\n]*\n(.*?)\n[ \t]*#+[ \t]*END HIDDEN TESTS", re.DOTALL)


def _source(cell) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


@cache
def hidden_tests(source_notebook: Path) -> tuple[tuple[str, ...], ...]:
    """The hidden-test blocks of the instructor's notebook, each as its non-comment lines."""
    if not source_notebook.is_file():
        return ()
    notebook = nbformat.read(source_notebook, as_version=4)
    blocks = (_lines(block) for cell in notebook.cells for block in HIDDEN.findall(_source(cell)))
    return tuple(block for block in blocks if block)


def instructor_material(submitted: nbformat.NotebookNode, source_notebook: Path) -> str | None:
    """What instructor-only material the submission carries, in words, or None."""
    for position, cell in enumerate(submitted.get("cells", []), start=1):
        text = _source(cell)
        marker = MARKER.search(text)
        if marker:
            return f'cell {position} carries nbgrader\'s "{marker.group(1)} {marker.group(2)}" marker'
        lines = set(_lines(text))
        if any(set(block) <= lines for block in hidden_tests(source_notebook)):
            return f"cell {position} carries the hidden tests of the instructor's notebook"
    return None


def resembles(submitted: nbformat.NotebookNode, assignment: Assignment) -> bool:
    """Does the file look like this assignment's notebook (the engine's test, which ``check.py`` runs too)?"""
    return cells.resembles(submitted, [function.name for function in assignment.functions])
