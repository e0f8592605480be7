"""Human-readable text for a terminal: what ``python -m autograder check`` prints."""

from __future__ import annotations

from autograder.results import SubmissionResult

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
            lines.append(f"        {paint(DIM, check.name + ':')} {check.message}")
    if result.notes:
        lines += ["", paint(BOLD, "Notes on your notebook:")] + [f"  - {note}" for note in result.notes]
    passed = sum(f.passed for f in result.functions)
    lines += ["", f"{passed} of {len(result.functions)} functions pass their visible checks."]
    return "\n".join(lines)
