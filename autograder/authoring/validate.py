"""Instructor's pre-release check: the solution earns full marks, the release stub earns nothing,
release/ is what nbgrader generates from source/, the students' checker is the grader's visible
checks, and the points agree with nbgrader's. It also
prepares the warm-up that batches of this assignment start from."""

from __future__ import annotations

from typing import Callable

import nbformat

from autograder.assignment import Assignment
from autograder.authoring.course import release_differences
from autograder.authoring.release_checks import engine_changed, stale
from autograder.checks.grading import grade_notebook
from autograder.settings import Settings


def nbgrader_points(notebook_path) -> dict[str, float]:
    """Points of each nbgrader test cell, keyed by its grade_id."""
    notebook = nbformat.read(notebook_path, as_version=4)
    points = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            points[meta["grade_id"]] = float(meta.get("points", 0))
    return points


def validate(assignment: Assignment, settings: Settings, say: Callable[[str], None] = print) -> list[str]:
    """Every problem found, as a sentence for the instructor; an empty list means ready to release."""
    from autograder.sandbox.confinement import mechanism

    problems = []
    say(f"Limits: {mechanism()}")
    source = assignment.source_dir / assignment.notebook_name
    release = assignment.release_dir / assignment.notebook_name

    say(f"Grading the solution ({source}) ...")
    solved = grade_notebook(source, assignment, settings, student="solution", instructor=True)
    say(f"  {solved.score:g}/{solved.max_score:g}")
    if solved.score != solved.max_score:
        failing = [f"{f.name} ({f.failures[0].message})" for f in solved.functions if not f.passed]
        problems.append("the solution does not earn full marks: " + "; ".join(failing))

    say(f"Grading the unmodified release ({release}) ...")
    stub = grade_notebook(release, assignment, settings, student="release")
    say(f"  {stub.score:g}/{stub.max_score:g}")
    if stub.score != 0:
        problems.append("the release earns points without any answer: " +
                        ", ".join(f.name for f in stub.functions if f.passed))

    say("Regenerating the release with nbgrader and comparing ...")
    problems += release_differences(assignment.course, assignment.name)

    say("Comparing the students' checker (check.py, checker/, checks.pt, checks.json) with the grader's ...")
    found = [problem for folder in (assignment.source_dir, assignment.release_dir)
             for problem in stale(assignment, folder)]
    if any(engine_changed(problem) for problem in found):  # every release ships the engine: all are stale at once
        problems.append("the shared engine (autograder/sandbox/inside/checker/) changed since this release was "
                        "made, so every release's checker is stale: run `python -m autograder student-checker "
                        "--all`, then `nbgrader generate_assignment NAME --force` for each assignment")
    for folder in (assignment.source_dir, assignment.release_dir):
        problems += [f"{folder.name} in {folder.parent.name}/: {problem}; run `python -m autograder "
                     f"student-checker --assignment {assignment.name}`, then nbgrader generate_assignment"
                     for problem in stale(assignment, folder) if not engine_changed(problem)]

    say("Warming up for batches (graded inputs, model cache, the solution's forward passes) ...")
    from autograder.warmup.prepare import prepare_warm_store

    store = prepare_warm_store(assignment, settings)
    say(f"  stored in {store}" if store else "  not stored (see above): each batch will warm up by itself")

    cells = nbgrader_points(source)
    for function in assignment.functions:
        cell_points = cells.get(function.grade_id)
        if cell_points != function.points:
            problems.append(f"nbgrader test cell {function.grade_id} is worth {cell_points} points; "
                            f"the grader gives {function.name} {function.points:g}")
    return problems
