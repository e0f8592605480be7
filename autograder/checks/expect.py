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
from autograder.sandbox.inside.student_check import is_ref, is_tokenizer, judge, needs_ops
from autograder.sandbox.inside.wire import Ref

STUDENT_TOKENIZER = Ref("tiktoken:gpt2")  # built inside the student's process: objects cannot cross


def sent(arg: Any) -> Any:
    """An argument as it goes to the student's process: what the call names ({"ref": ...}: a
    tokenizer, a model, an optimizer) is built there (see ``student_check.build``)."""
    if is_tokenizer(arg):
        return STUDENT_TOKENIZER
    return Ref(arg["ref"]) if is_ref(arg) else arg


def judged(submission, call: dict) -> Any:
    """The value the student's function returned for ``call``, or a failure with its message and hints."""
    __tracebackhide__ = True
    try:
        reply = submission.call_traced(call["function"], *map(sent, call["args"]),
                                       after=tuple(call.get("after", ())), stand_in=call.get("stand_in"),
                                       ops=needs_ops(call), repeat=call.get("repeat", 1))
    except StudentCodeFailed as exc:
        raise _hinted(StudentCodeFailed(str(exc)), judge(call, error=str(exc)).mistakes) from None
    verdict = judge(call, reply.value, "", set(reply.ops), reply.after)
    if not verdict.passed:
        raise _hinted(AssertionError(verdict.message), verdict.mistakes)
    return reply.value


def _hinted(exc: Exception, mistakes: list[tuple[str, str]]) -> Exception:
    """Attach the hints to the failure; the grader's plugin files them beside the message."""
    exc.hints = tuple(mistakes)
    return exc
