"""GitHub Classroom's report: points per function in the form its grading reporter reads, and the
Markdown summary on the workflow run's page. The grader's ``--format classroom`` writes the same."""

from __future__ import annotations

import json
import os

CLASSROOM_VERSION = 1  # the result format of classroom-resources/autograding-grading-reporter


def classroom_result(rows: list[dict], max_score: float, error: bool = False) -> dict:
    """What GitHub Classroom's grading reporter reads: one test per function, scored all or nothing.

    A row is one function: name, passed, score, points, message (for the reporter), verdict,
    problem and hints (for the summary), test_code, filename. The grader's ``--format classroom``
    builds the same rows from its result, so both report alike.
    """
    tests = [{"name": row["name"], "status": "pass" if row["passed"] else "fail", "score": row["score"],
              "message": row["message"][:2000], "test_code": row["test_code"], "filename": row["filename"],
              "line_no": 0, "execution_time": ""} for row in rows]
    status = "error" if error else ("pass" if all(row["passed"] for row in rows) else "fail")
    return {"version": CLASSROOM_VERSION, "status": status, "max_score": max_score, "tests": tests}


def classroom_summary(title: str, rows: list[dict], notes: list[str] = ()) -> str:
    """The Markdown on the workflow run's page: points per function, then what to fix."""
    lines = [f"## {title}", "", "| Function | Points | Verdict |", "|---|---:|---|"]
    lines += [f"| `{row['name']}` | {row['score']:g} / {row['points']:g} | {_inline(row['verdict'])} |" for row in rows]
    failing = [row for row in rows if not row["passed"]]
    if failing:
        lines += ["", "### What to fix"]
        for row in failing:
            lines += ["", f"**`{row['name']}`**: {_inline(row['problem'])}"]
            lines += [f"> **Hint:** {_inline(hint)}" for hint in row["hints"]]
    if notes:
        lines += ["", "### About your notebook", *(f"- {_inline(note)}" for note in notes)]
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Student text inside Markdown: one line, no HTML, no table breaks."""
    return " ".join(text.split()).replace("<", "&lt;").replace("|", "\\|")[:600]


def report_to_classroom(data: dict, page: str, environ=os.environ) -> None:
    """Inside GitHub Actions: the step's ``result`` output (base64 of the JSON, as the reporter reads
    it) and the run page's summary; elsewhere, nothing."""
    import base64

    if environ.get("GITHUB_OUTPUT"):
        encoded = base64.b64encode(json.dumps(data).encode()).decode("ascii")
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"result={encoded}\n")
    if environ.get("GITHUB_STEP_SUMMARY"):
        with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary_page:
            summary_page.write(page)

