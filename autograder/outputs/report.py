"""Human-readable text for a terminal: what ``python -m autograder check`` prints."""

from __future__ import annotations

from autograder.outputs.class_report import status
from autograder.outputs.results import SubmissionResult

GREEN, RED, DIM, BOLD, RESET = "\033[32m", "\033[31m", "\033[2m", "\033[1m", "\033[0m"


def render_check(result: SubmissionResult, color: bool = False) -> str:
    """The student's self-check: each function, pass or fail, and what to fix."""
    paint = (lambda code, text: f"{code}{text}{RESET}") if color else (lambda code, text: text)
    lines = [paint(BOLD, f"Checking {result.source or result.student} (visible checks only; "
                         "the grade also uses hidden checks)"), ""]
    for function in result.functions:
        mark = paint(GREEN, "PASS") if function.passed else paint(RED, "FAIL")
        lines.append(f"  {mark}  {function.name}")
        for check in function.failures:
            lines.append(f"        {paint(DIM, check.name + ':')} {check.feedback}")
    if result.notes:
        lines += ["", paint(BOLD, "Notes on your notebook:")] + [f"  - {note}" for note in result.notes]
    passed = sum(f.passed for f in result.functions)
    lines += ["", f"{passed} of {len(result.functions)} functions pass their visible checks."]
    return "\n".join(lines)


def batch_summary(results: list[SubmissionResult], seconds: float, resumed: int = 0) -> str:
    """The end-of-batch report: counts, mean, pass rate per function, slowest, and what needs a look."""
    if not results:
        return "No submissions found."
    graded = len(results) - resumed
    mean = sum(r.score for r in results) / len(results)
    lines = [f"{len(results)} submissions: {graded} graded in {seconds:.1f} s"
             + (f", {resumed} already graded by an earlier run" if resumed else "")
             + f"; mean score {mean:.2f} / {results[0].max_score:g}."]
    lines.append("Pass rate per function:")
    for index, function in enumerate(results[0].functions):
        passed = sum(r.functions[index].passed for r in results)
        lines.append(f"  {function.name:<24} {passed:>4}/{len(results)}  ({100 * passed / len(results):.0f}%)")
    slowest = sorted(results, key=lambda r: r.execution_time, reverse=True)[:3]
    lines.append("Slowest: " + ", ".join(f"{r.student} ({r.execution_time:.1f} s)" for r in slowest))
    unusable = [r.student for r in results if status(r) == "unusable"]
    stopped = [r.student for r in results if status(r) == "stopped"]
    if unusable:
        lines.append("Not a usable notebook: " + ", ".join(unusable))
    if stopped:
        lines.append("Stopped early (time, exit or memory): " + ", ".join(stopped))
    review = [r.student for r in results if r.review]
    if review:
        lines.append("NEEDS A LOOK (0 until you decide; see grades.csv): " + ", ".join(review))
    look = [r.student for r in results if r.look and not r.review]
    if look:
        lines.append("NEEDS A LOOK (graded; see grades.csv): " + ", ".join(look))
    flagged = [r.student for r in results if r.grader_errors]
    if flagged:
        lines.append("GRADER ERRORS, grade these by hand: " + ", ".join(flagged))
    return "\n".join(lines)
