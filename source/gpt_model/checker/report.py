"""What the student reads: PASS or FAIL per function, the message and the hints, and a summary."""

from __future__ import annotations

import textwrap

from .judge import Verdict


def render(name: str, verdict: Verdict) -> str:
    """PASS or FAIL and the function's name; under a FAIL, the message and the hints, wrapped."""
    if verdict.passed:
        return f"PASS  {name}"
    lines = [f"FAIL  {name}", _wrapped(verdict.message)]
    lines += [_wrapped(f"Hint: {text}") for _, text in verdict.mistakes]
    return "\n".join(lines)


def _wrapped(text: str) -> str:
    return textwrap.fill(text, width=86, initial_indent=" " * 6, subsequent_indent=" " * 6,
                         break_long_words=False, break_on_hyphens=False)


def summary(verdicts: dict[str, Verdict]) -> str:
    passed = sum(v.passed for v in verdicts.values())
    if passed == len(verdicts):
        return f"All {passed} functions pass their visible checks. The grader also runs hidden checks."
    return f"{passed} of {len(verdicts)} functions pass their visible checks."

