"""A graded call, as an assignment writes it: a typed object, checked when it is made.

An assignment's ``calls.py`` builds ``Call`` objects; its tests hand them to ``expect.judged``, and
the visible ones ship to students as plain data (``Call.data``) in ``checks.pt``. The form is checked
by the engine's own ``contract.validate`` in ``__post_init__``, so a misspelt key or predicate fails
where the check is written (``student-checker``, ``validate``, the tests), never while grading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox.inside.checker.contract import validate


@dataclass(frozen=True)
class Call:
    """One call of a student function, or of a class built for it (see the engine's ``contract``)."""

    function: str
    shown: str
    args: list = field(default_factory=list)
    expect: list = field(default_factory=list)
    mistakes: list = field(default_factory=list)
    build: dict | None = None  # a class: how to build the instance the call is made on
    method: str | None = None  # a class: the method to call (default: the instance itself)
    after: list = field(default_factory=list)  # what to read back: argument indexes, "self"
    stand_in: dict = field(default_factory=dict)  # {notebook function: the assignment's stand-in}
    repeat: int = 1
    kwargs: dict = field(default_factory=dict)  # arguments passed by name, as the notebook's own examples pass them
    grad: bool = True  # False: the call runs under torch.no_grad(), as the notebook (and the book) call it

    def __post_init__(self) -> None:
        validate(self.data)

    @property
    def data(self) -> dict[str, Any]:
        """The call as the engine reads it: plain data, only the keys that are set."""
        data = {"function": self.function, "shown": self.shown, "args": list(self.args),
                "expect": list(self.expect), "mistakes": list(self.mistakes)}
        optional = {"build": self.build, "method": self.method, "after": list(self.after),
                    "stand_in": dict(self.stand_in), "repeat": self.repeat, "kwargs": dict(self.kwargs)}
        data.update({key: value for key, value in optional.items() if value not in (None, [], {}, 1)})
        if not self.grad:
            data["grad"] = False
        return data


def as_data(call: Call | dict) -> dict:
    """A call as plain data, whichever form it came in (a dict is checked too)."""
    return call.data if isinstance(call, Call) else validate(call)
