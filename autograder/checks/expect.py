"""Make a graded call in the student's process and judge what came back, in the grader.

A call is plain data (see the engine's ``judge``): its inputs, its expectations, its known mistakes.
It is checked by the engine's ``check_call``, the same function the release's own ``python check.py``
uses, so a student's visible checks at home and in the grader never differ. A value from the
student's side is never trusted for its type: the expectations check type, dtype and shape before
looking at numbers.
"""

from __future__ import annotations

from typing import Any

from autograder.checks.call import Call, as_data
from autograder.sandbox.inside.checker.checking import check_call
from autograder.sandbox.inside.checker.session import StudentCodeFailed


def judged(submission, call: Call | dict) -> Any:
    """The value the student's function returned for ``call``, or a failure with its message and hints."""
    __tracebackhide__ = True
    verdict, value = check_call(submission, as_data(call))
    if verdict.passed:
        return value
    failure = StudentCodeFailed(verdict.message) if verdict.raised else AssertionError(verdict.message)
    failure.hints = tuple(verdict.mistakes)  # the grader's plugin files them beside the message
    raise failure
