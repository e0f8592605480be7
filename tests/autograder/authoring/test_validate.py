"""validate refuses a release whose students' checker no longer matches the grader's visible checks.

The full validate run (grading the solution and the release, nbgrader's regeneration, the warm-up)
is tested on the committed course in test_cli.py; here those steps are stood in for, so that only
the checker's comparison decides.
"""

import json
import shutil
from dataclasses import replace

from autograder.authoring import validate as validate_module
from autograder.outputs.results import CheckResult, FunctionResult, SubmissionResult
from autograder.settings import Settings


def _full_marks(assignment) -> SubmissionResult:
    return SubmissionResult("x", assignment.name, tuple(
        FunctionResult(f.name, f.points, (CheckResult("test", f.name, True, "passed"),)) for f in assignment.functions))


def test_validate_names_a_stale_checker_and_the_command_that_fixes_it(assignment, tmp_path, monkeypatch):
    course = tmp_path / "course"
    for part in ("source", "release"):
        shutil.copytree(assignment.course / part / assignment.name, course / part / assignment.name, symlinks=False)
    summary = course / "release" / assignment.name / "checks.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "call_timeout": 99}))
    monkeypatch.setattr(validate_module, "grade_notebook", lambda *a, **k: _full_marks(assignment))
    monkeypatch.setattr(validate_module, "release_differences", lambda *a: [])
    monkeypatch.setattr("autograder.warmup.prepare.prepare_warm_store", lambda *a: None)
    problems = validate_module.validate(replace(assignment, course=course), Settings(), say=lambda _: None)
    stale = [p for p in problems if "checks.json" in p]
    assert stale == [f"{assignment.name} in release/: checks.json differs from the assignment's functions or time "
                     f"limits; run `python -m autograder student-checker --assignment {assignment.name}`, then "
                     "nbgrader generate_assignment"]
    assert not [p for p in problems if "in source/" in p]
