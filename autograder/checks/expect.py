"""Make a graded call in the student's process and judge what came back, in the grader.

A call is plain data (see ``student_check``): its inputs, its expectations, its known mistakes.
The verdict, its message and its hints come from ``student_check.judge``, the same function the
release's own checker uses, so a student's visible checks at home and in the grader never differ.
A value from the student's side is never trusted for its type: the expectations check type,
dtype and shape before looking at numbers.
"""

from __future__ import annotations

from typing import Any

from autograder.checks.submission import StudentCodeFailed
from autograder.sandbox.inside.student_check import is_tokenizer, judge
from autograder.sandbox.inside.wire import Ref

STUDENT_TOKENIZER = Ref("tiktoken:gpt2")  # built inside the student's process: objects cannot cross


def judged(submission, call: dict) -> Any:
    """The value the student's function returned for ``call``, or a failure with its message and hints."""
    __tracebackhide__ = True
    sent = [STUDENT_TOKENIZER if is_tokenizer(arg) else arg for arg in call["args"]]
    try:
        reply = submission.call_traced(call["function"], *sent)
    except StudentCodeFailed as exc:
        raise _hinted(StudentCodeFailed(str(exc)), judge(call, error=str(exc)).mistakes) from None
    verdict = judge(call, reply.value, "", set(reply.ops))
    if not verdict.passed:
        raise _hinted(AssertionError(verdict.message), verdict.mistakes)
    return reply.value


def _hinted(exc: Exception, mistakes: list[tuple[str, str]]) -> Exception:
    """Attach the hints to the failure; the grader's plugin files them beside the message."""
    exc.hints = tuple(mistakes)
    return exc
