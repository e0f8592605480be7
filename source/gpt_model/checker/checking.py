"""A check of one call, made through a ``Session``: its inputs sent, the function called where the
notebook runs, what came back judged. The grader's checks and ``python check.py`` both check calls
with ``check_call``, so the same notebook gets the same verdict, message and hints from both.
"""

from __future__ import annotations

from typing import Any

from .inputs import is_ref, stand_ins, watched
from .judge import Verdict, judge
from .ops import needs_ops
from .session import Session, StudentCodeFailed
from .wire import Ref


def sent(arg: Any) -> Any:
    """An argument as it goes to the notebook's process: what the call names ({"ref": ...}: a model,
    an optimizer, a tokenizer) is built there (see ``inputs.build``)."""
    return Ref(arg["ref"], arg.get("shown", "")) if is_ref(arg) else arg


def check_call(session: Session, call: dict) -> tuple[Verdict, Any]:
    """The verdict on ``call`` and the value the function returned (None when it failed to return one).

    A failure to call at all (a missing function, an exception, a hang) is a failed verdict whose
    message is the session's, with the hints of the mistakes that show as that error. The session
    remembers which functions failed (``Session.failed``), for the stand-ins of later calls.
    """
    verdict, value = _checked(session, call)
    if not verdict.passed:
        session.failed.add(call["function"])
    return verdict, value


def _checked(session: Session, call: dict) -> tuple[Verdict, Any]:
    standing = stand_ins(call, session.failed)
    try:
        reply = session.call_traced(call["function"], *map(sent, call["args"]),
                                    after=tuple(call.get("after", ())), watch=tuple(watched(call)), stand_in=standing,
                                    ops=needs_ops(call), repeat=call.get("repeat", 1), build=call.get("build"),
                                    method=call.get("method"), shown=call["shown"] if "build" in call else None,
                                    kwargs=call.get("kwargs"), grad=call.get("grad", True))
    except StudentCodeFailed as exc:
        verdict = judge(call, error=str(exc))
        return (verdict if verdict.passed else Verdict(False, verdict.message, verdict.mistakes, raised=True)), None
    verdict = judge(call, reply.value, "", set(reply.ops), reply.after, stood_in=frozenset(standing),
                    watched=reply.watched)
    return verdict, reply.value


def check_function(session: Session, name: str, calls: list[dict]) -> Verdict:
    """One function's verdict: its first failing call's, or a pass."""
    for call in calls:
        if call["function"] == name:
            verdict, _ = check_call(session, call)
            if not verdict.passed:
                return verdict
    return Verdict(True)
