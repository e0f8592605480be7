"""GitHub Classroom from the kit: ``grade --format classroom`` reports a graded result as the
release's own checker does in the Classroom workflow.

The workflow template (ci/github-classroom/classroom.yml) runs the release's ``check.py`` and needs
nothing of the kit. This writer is for a course that grades with the kit in its own CI: the same
reporter format and run-page summary, from the shared code in ``sandbox/inside/checker/classroom.py``,
written from a ``SubmissionResult`` (hidden checks included, when they were run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from autograder.outputs.results import SubmissionResult
from autograder.outputs.writers import write_atomic
from autograder.sandbox.inside.checker.classroom import classroom_result as reporter_result
from autograder.sandbox.inside.checker.classroom import classroom_summary, report_to_classroom


def _rows(result: SubmissionResult) -> list[dict]:
    rows = []
    for function in result.functions:
        first = function.failures[0] if function.failures else None
        rows.append({
            "name": function.name, "passed": function.passed, "score": function.score, "points": function.points,
            "message": " ".join(f"{c.name}: {c.feedback}" for c in function.failures),
            "verdict": ("passed" if function.passed
                        else f"{len(function.failures)} of {len(function.checks)} checks failed"),
            "problem": f"{first.name}: {first.message}" if first else "", "hints": list(first.hints) if first else [],
            "test_code": f"python -m autograder grade ({len(function.checks)} checks)",
            "filename": Path(result.source).name if result.source else "",
        })
    return rows


def classroom_result(result: SubmissionResult) -> dict:
    """One test per student function, scored all or nothing, as the reporter adds them up."""
    return reporter_result(_rows(result), result.max_score, error=bool(result.grader_errors))


def markdown_summary(result: SubmissionResult) -> str:
    """What the student sees on the workflow run's page."""
    title = f"{result.assignment}: {result.score:g} / {result.max_score:g} points"
    return classroom_summary(title, _rows(result), list(result.notes))


def write_classroom(result: SubmissionResult, path: Path, environ: Mapping[str, str] = os.environ) -> None:
    """Write the reporter's JSON to ``path``; inside GitHub Actions, also the step output and summary."""
    data = classroom_result(result)
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    report_to_classroom(data, markdown_summary(result), environ)
