"""Output formats, each written from a ``SubmissionResult`` and nothing else.

Files are written atomically (temporary file, then rename), so an interrupted batch never
leaves a half-written results.json or grades.csv behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from autograder import GraderError
from autograder.outputs.results import FunctionResult, SubmissionResult

# Gradescope shows tests by visibility; the grade is visible to the student once published.
VISIBILITY = "visible"
# A batch writes it beside results.json: the full result and what it was computed from. The batch
# resumes from it; the class report reads every student's.
GRADING_RECORD = "grading.json"


def write_atomic(path: Path, text: str) -> None:
    if path.is_dir():  # `grade NOTEBOOK -o DIR`: say so, rather than a traceback after the grading
        raise GraderError(f"{path} is a folder; for one notebook, -o names the file to write, such as "
                          f"{path / 'results.json'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _function_output(function: FunctionResult) -> str:
    lines = []
    for check in function.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"[{mark}] {check.name}" + (f": {check.feedback}" if check.feedback else ""))
    if function.passed:
        lines.insert(0, f"All {len(function.checks)} checks of `{function.name}` passed.")
    else:
        lines.insert(0, f"`{function.name}` earns its {function.points:g} points when all {len(function.checks)} "
                        f"checks pass; {len(function.failures)} failed.")
    return "\n".join(lines)


GRADER_FAILED = ("The autograder failed on this submission. This is not a problem with your notebook: your "
                 "instructor has been told and will grade it.")


def gradescope(result: SubmissionResult) -> dict:
    """Gradescope's results.json: one test per student function, tagged with that function.

    When the grader itself failed, no score: the student is told so, and the instructor finds the
    errors in ``extra_data`` (and ``run_autograder`` exits non-zero, so Gradescope flags it).
    """
    if result.grader_errors:
        return {"output": GRADER_FAILED, "visibility": VISIBILITY, "tests": [],
                "execution_time": round(result.execution_time, 2),
                "extra_data": {"grader_errors": list(result.grader_errors)}}
    output = [f"{result.score:g} / {result.max_score:g} points for {result.assignment}."]
    output += list(result.notes)
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 2),
        "output": "\n".join(output),
        "visibility": VISIBILITY,
        "tests": [
            {
                "name": function.name,
                "score": function.score,
                "max_score": function.points,
                "status": "passed" if function.passed else "failed",
                "output": _function_output(function),
                "tags": [function.name],
                "visibility": VISIBILITY,
            }
            for function in result.functions
        ],
    }


def write_gradescope(result: SubmissionResult, path: Path) -> None:
    write_atomic(path, json.dumps(gradescope(result), indent=2, ensure_ascii=False) + "\n")


def grades_csv(results: list[SubmissionResult]) -> str:
    """One row per student: total, each function's score, and a short note when something went wrong."""
    functions = [f.name for f in results[0].functions] if results else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *functions, "note"])
    for result in sorted(results, key=lambda r: r.student):
        note = result.notes[0] if result.notes and result.score == 0 else ""
        if result.look:
            note = "NEEDS A LOOK (graded): " + "; ".join(result.look)
        if result.review:
            note = "NEEDS A LOOK: " + result.review
        if result.grader_errors:
            note = "GRADER ERROR, check by hand: " + result.grader_errors[0]
        writer.writerow([result.student, f"{result.score:g}", f"{result.max_score:g}",
                         *(f"{f.score:g}" for f in result.functions), note[:200]])
    return buffer.getvalue()


def junit(results: list[SubmissionResult]) -> str:
    """JUnit XML: a test suite per submission, a test case per check, so any CI shows each one.

    A function's points are all or nothing, so each case's name carries its function and the
    suite's properties carry the score.
    """
    suites = ET.Element("testsuites", name="autograder")
    for result in results:
        failures = sum(1 for c in result.checks if c.outcome == "failed")
        errors = sum(1 for c in result.checks if c.outcome == "error")
        suite = ET.SubElement(suites, "testsuite", name=result.student, tests=str(len(result.checks)),
                              failures=str(failures), errors=str(errors), time=f"{result.execution_time:.2f}")
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="score", value=f"{result.score:g}")
        ET.SubElement(properties, "property", name="max_score", value=f"{result.max_score:g}")
        for check in result.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{result.assignment}.{check.function}",
                                 name=check.name)
            if check.outcome != "passed":
                tag = "failure" if check.outcome == "failed" else "error"
                ET.SubElement(case, tag, message=check.message[:500]).text = check.feedback
        if result.notes:
            ET.SubElement(suite, "system-out").text = "\n".join(result.notes)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: list[SubmissionResult], path: Path) -> None:
    write_atomic(path, junit(results))
