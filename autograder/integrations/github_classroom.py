"""GitHub Classroom: points in the form its grading reporter reads, and a summary on the run's page.

GitHub Classroom's ``autograding-grading-reporter`` action reads each runner step's ``result``
output: base64 of a JSON object whose tests carry the points earned. We write that object, and,
inside GitHub Actions, the ``result`` output and a Markdown summary for the run's page
(``$GITHUB_OUTPUT`` and ``$GITHUB_STEP_SUMMARY``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Mapping

from autograder.outputs.results import SubmissionResult
from autograder.outputs.writers import write_atomic

FORMAT_VERSION = 1  # the reporter's result format


def classroom_result(result: SubmissionResult) -> dict:
    """One test per student function, scored all or nothing, as the reporter adds them up."""
    tests = [{
        "name": function.name,
        "status": "pass" if function.passed else "fail",
        "score": function.score,
        "message": " ".join(f"{c.name}: {c.feedback}" for c in function.failures)[:2000],
        "test_code": f"python -m autograder grade ({len(function.checks)} checks)",
        "filename": Path(result.source).name if result.source else "",
        "line_no": 0,
        "execution_time": "",
    } for function in result.functions]
    status = "error" if result.grader_errors else ("pass" if all(f.passed for f in result.functions) else "fail")
    return {"version": FORMAT_VERSION, "status": status, "max_score": result.max_score, "tests": tests}


def markdown_summary(result: SubmissionResult) -> str:
    """What the student sees on the workflow run's page."""
    lines = [f"## {result.assignment}: {result.score:g} / {result.max_score:g} points", "",
             "| Function | Points | Verdict |", "|---|---:|---|"]
    for function in result.functions:
        verdict = "passed" if function.passed else f"{len(function.failures)} of {len(function.checks)} checks failed"
        lines.append(f"| `{function.name}` | {function.score:g} / {function.points:g} | {verdict} |")
    failing = [f for f in result.functions if not f.passed]
    if failing:
        lines += ["", "### What to fix"]
        for function in failing:
            check = function.failures[0]
            lines += ["", f"**`{function.name}`**, {check.name}: {_inline(check.message)}"]
            lines += [f"> **Hint:** {_inline(hint)}" for hint in check.hints]
    if result.notes:
        lines += ["", "### About your notebook", *(f"- {_inline(note)}" for note in result.notes)]
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Student text inside Markdown: one line, no HTML, no table breaks."""
    return " ".join(text.split()).replace("<", "&lt;").replace("|", "\\|")[:600]


def write_classroom(result: SubmissionResult, path: Path, environ: Mapping[str, str] = os.environ) -> None:
    """Write the reporter's JSON to ``path``; inside GitHub Actions, also the step output and summary."""
    data = classroom_result(result)
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if environ.get("GITHUB_OUTPUT"):
        encoded = base64.b64encode(json.dumps(data).encode()).decode("ascii")
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"result={encoded}\n")
    if environ.get("GITHUB_STEP_SUMMARY"):
        with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(markdown_summary(result))
