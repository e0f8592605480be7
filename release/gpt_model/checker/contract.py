"""The form of a call, checked when the checks are loaded: a wrong key fails when the instructor
writes the check (``student-checker``, ``validate``, the tests), never while a student is graded.

A call is a dict of plain data (so that it ships in ``checks.pt``, loaded with ``weights_only``):

    function   the contract name: a function, or a class
    shown      how messages show the call
    args       the arguments: tensors, plain data, {"ref": name} for what is built where the code runs
    expect     the predicates the outcome must meet, in order (see ``judge``)
    mistakes   known mistakes: {"name", "text", "when": a predicate, or any/all/not/raised of them}
    build      for a class: {"args", "kwargs", "seed", "state": {name: tensor} | None, "train",
               "keep": [names of the state the student's own code makes, not loaded]}
    method     for a class: the method to call on the instance (default: the instance itself), or
               "support:<name>": the assignment's support function of that name, given the instance
    after      what to read back after the call: argument indexes (what a call is meant to change in
               them: a model's parameters), "self" (the instance), "grad:<index>" (the gradients
               backward() on the returned value leaves on that model's parameters)
    stand_in   {notebook function: stand-in}: the assignment's stand-in for a callee, for this call
    repeat     calls in a row on the same arguments
    kwargs     arguments passed by name (plain data), as the notebook's own examples pass them
    grad       False: the call runs under torch.no_grad(), as the notebook calls it
"""

from __future__ import annotations

from typing import Any

from .judge import COMBINATORS, PREDICATES

REQUIRED = {"function": str, "shown": str, "args": (list, tuple), "expect": (list, tuple), "mistakes": (list, tuple)}
OPTIONAL = {"build": dict, "method": str, "after": (list, tuple), "stand_in": dict, "repeat": int, "kwargs": dict,
            "grad": bool}
BUILD = {"args": (list, tuple), "kwargs": dict, "seed": int, "state": (dict, type(None)), "train": bool,
         "keep": (list, tuple)}
WHOLE = {"close": {"close", "rtol", "atol", "also", "row", "what", "stand_in", "equal_nan"},
         "no_ops": {"no_ops", "what"}}


class ContractError(ValueError):
    """A check written wrongly: the message names the call and the key."""


def validate(call: Any) -> dict:
    """``call`` itself, once its form is right; ContractError otherwise."""
    if not isinstance(call, dict):
        raise ContractError(f"a call is a dict, not {type(call).__name__}")
    where = f"the call {call.get('shown', call.get('function', '?'))!r}"
    unknown = set(call) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise ContractError(f"{where} has unknown keys {sorted(unknown)}; a call has "
                            f"{sorted(REQUIRED)} and may have {sorted(OPTIONAL)}")
    for key, kind in REQUIRED.items():
        if not isinstance(call.get(key), kind):
            raise ContractError(f"{where} needs {key!r} ({_names(kind)})")
    for key, kind in OPTIONAL.items():
        if key in call and not isinstance(call[key], kind):
            raise ContractError(f"{where}: {key!r} must be {_names(kind)}")
    for expectation in call["expect"]:
        _predicate(expectation, where, combinators=False)
    for mistake in call["mistakes"]:
        if not (isinstance(mistake, dict) and set(mistake) == {"name", "text", "when"}):
            raise ContractError(f"{where}: a known mistake is {{'name', 'text', 'when'}}, not {mistake!r:.80}")
        _predicate(mistake["when"], f"{where}, mistake {mistake['name']!r}", combinators=True)
    if "build" in call:
        _build(call["build"], where)
    elif "method" in call:
        raise ContractError(f"{where} names a method but builds no instance ('build')")
    for item in call.get("after", ()):
        if not (type(item) is int or item == "self" or (isinstance(item, str) and item.startswith("grad:")
                                                            and item[5:].isdigit())):
            raise ContractError(f"{where}: 'after' lists argument indexes, 'self' and 'grad:<index>', not {item!r}")
    if not all(isinstance(name, str) and name.isidentifier() for name in call.get("kwargs", {})):
        raise ContractError(f"{where}: 'kwargs' names are parameter names")
    if call.get("repeat", 1) < 1:
        raise ContractError(f"{where}: 'repeat' is at least 1")
    return call


def _predicate(predicate: Any, where: str, combinators: bool) -> None:
    if not isinstance(predicate, dict):
        raise ContractError(f"{where}: a predicate is a dict, not {predicate!r:.80}")
    kinds = [key for key in predicate if key in PREDICATES or (combinators and key in COMBINATORS)]
    allowed = set(PREDICATES) | (set(COMBINATORS) if combinators else set())
    if len(kinds) != 1:
        raise ContractError(f"{where}: a predicate has one kind among {sorted(allowed)}; this one has "
                            f"{sorted(predicate)}")
    kind = kinds[0]
    extra = set(predicate) - WHOLE.get(kind, {kind})
    if extra:
        raise ContractError(f"{where}: the {kind!r} predicate does not take {sorted(extra)}")
    if kind in ("any", "all"):
        for inner in predicate[kind]:
            _predicate(inner, where, combinators)
    elif kind == "not":
        _predicate(predicate["not"], where, combinators)
    elif kind == "item":
        _predicate(predicate["item"][-1], where, combinators)


def _build(build: dict, where: str) -> None:
    unknown = set(build) - set(BUILD)
    if unknown:
        raise ContractError(f"{where}: 'build' has unknown keys {sorted(unknown)}; it has {sorted(BUILD)}")
    for key, kind in BUILD.items():
        if key in build and not isinstance(build[key], kind):
            raise ContractError(f"{where}: build[{key!r}] must be {_names(kind)}")
    if type(build.get("seed", 0)) is not int:
        raise ContractError(f"{where}: build['seed'] must be an int")


def _names(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
