"""Calling a student function in this very process, and judging it: ``check()`` in the notebook.

The notebook's own kernel is the one place the checks run beside the student's code without a
process of their own: ``check()`` checks the functions as they are now, saved or not. A call is
limited by an alarm (so only from the main thread); what it returned is judged by ``judge``.
"""

from __future__ import annotations

import os
import signal
import sys

from . import inputs
from .inputs import arguments, called, fingerprints, instance_of, read_after, stand_ins, standing_in, warm_up, watched
from .judge import Verdict, judge
from .ops import NoRecording, needs_ops, record_ops
from .release_files import FOLDER, OUTSIDE, load_checks
from .report import render, summary


class CallTimedOut(Exception):
    pass


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def call_and_judge(function, call: dict, limit: float | None = None, namespace: dict | None = None,
                   failed: set[str] = frozenset()) -> Verdict:
    """Call a student function on the check's inputs, then judge it; ``limit`` seconds at most
    (enforced with an alarm, so only from the main thread). ``namespace``, the notebook's, is where
    the call's stand-ins go, for the callees that ``failed`` their own checks (see ``standing_in``)."""
    standing = stand_ins(call, set(failed))
    recorder, value, error, after, kept = record_ops() if needs_ops(call) else NoRecording(), None, "", {}, {}
    alarm = limit and hasattr(signal, "setitimer") and _main_thread()
    if alarm:
        previous = signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        try:
            args = arguments(call)
        except Exception as exc:  # noqa: BLE001 - the check's own inputs, not the student's code
            return Verdict(False, f"The check could not build its inputs for {call['shown']} ({_error_text(exc)}). "
                                  "Keep the files beside the notebook as they came.")
        instance = None
        with standing_in(namespace if namespace is not None else {}, standing):  # a class may build its callees
            if "build" in call:
                instance = instance_of(function, call["build"])
                function = inputs.bound(instance, call.get("method"))
            with recorder:
                value = called(function, args, call.get("repeat", 1), call.get("kwargs"), call.get("grad", True))
        after = {item: dict(pairs) for item, pairs in read_after(call.get("after", []), args, instance, value)}
        kept = {index: dict(fingerprints(args[index])) for index in watched(call)}
    except CallTimedOut:
        error = f"{call['shown']} took longer than {limit:g} s; look for a loop that never ends."
    except Exception as exc:  # noqa: BLE001 - the student's exception is the answer
        error = f"{call['shown']} raised {_error_text(exc)}"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return judge(call, value, error, recorder.ops, after, stood_in=frozenset(standing), watched=kept)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _out_of_time(signum, frame):
    raise CallTimedOut()


def check_functions(namespace: dict, checks: dict, limit: float | None = None, report=None) -> dict[str, Verdict]:
    """Every visible check of every function found in ``namespace``: one verdict per function
    (its first failing call, or a pass)."""
    verdicts, failed = {}, set()
    for name in checks["functions"]:
        function = namespace.get(name)
        if not callable(function):
            verdicts[name] = Verdict(False, f"{name} is not defined: run its cell, or check its name.")
        else:
            verdicts[name] = Verdict(True)
            for call in (c for c in checks["calls"] if c["function"] == name):
                verdict = call_and_judge(function, call, limit, namespace, failed)
                if not verdict.passed:
                    verdicts[name] = verdict
                    failed.add(name)
                    break
        if report is not None:
            report(name, verdicts[name])
    return verdicts



def check(namespace: dict | None = None) -> None:
    """In a notebook: check the functions defined in the running kernel, and print the verdicts.

    Does nothing when the notebook itself is being checked or graded from outside (``python
    check.py``, the grader): they run these checks themselves.
    """
    if os.environ.get(OUTSIDE):
        print("check() is skipped here: the notebook is being checked from outside, with the same checks.")
        return
    if namespace is None:
        namespace = sys._getframe(1).f_globals  # the notebook's own namespace
    checks = load_checks()
    warm_up(FOLDER)
    verdicts = check_functions(namespace, checks, checks["call_timeout"],
                               report=lambda name, verdict: print(render(name, verdict)))
    print(summary(verdicts))
