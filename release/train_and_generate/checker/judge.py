"""The judge: whether what a student's function returned for one call is right, and why not.

A call is plain data (each assignment's ``calls.py`` builds them; ``checks.pt`` ships the visible
ones): its arguments, the expectations it must meet in order, and its known mistakes. Expectations
and mistakes are written with one set of predicates (``PREDICATES``): an expectation is a predicate
the outcome must satisfy, and a known mistake is a predicate its outcome satisfies (combined with
``any``, ``all``, ``not``, and ``raised`` for an error's text). Each predicate gives None when it
holds, or the message a student reads. The grader and the students' checker judge with this
module alone, so their verdicts, messages and hints are one.

The predicates, {kind: spec}:
    tensor {dtype?, shape?, hint?}   str   float {hint?}   pair "what the two are"
    item [index, shown?, predicate]  one value of a returned pair
    equal str | tensor               close tensor, {rtol, atol?, also?: [tensor], row?, what}
    shape [dims]   columns n   floating   nan_scalar   nan {what}   same_values {dim, values}
    no_ops [aten ops], what          ops_any [aten ops]     (the torch ops the call ran)
    params {arg, expected, atol, before?, what}   a model's parameters read back after the call
    layout {arg, expected: {name: shape}, what}   the names and shapes of a module's parameters
    transitions {...}   rate {...}   a sampled token sequence (see ``sampled``)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from .sampled import sampled
from .values import describe, numbers


@dataclass
class Verdict:
    """What one call of a student function earned: passed, or the first failure and its hints."""

    passed: bool
    message: str = ""
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # (name, hint text)
    raised: bool = False  # the function could not be called, or raised: no value came back to judge


@dataclass(frozen=True)
class Outcome:
    """What a call gave: its value or error, the torch ops it ran, the state read back after it."""

    shown: str
    value: Any = None
    error: str = ""
    ops: frozenset = frozenset()
    after: dict = field(default_factory=dict)


def _tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _dtype(value) -> str:
    return str(value.dtype).removeprefix("torch.")


def _is_tensor(spec: dict, value, outcome: Outcome) -> str | None:
    suffix = f" {spec['hint']}" if spec.get("hint") else ""
    if not _tensor(value):
        return f"{outcome.shown} should return a torch.Tensor; it returned {describe(value)}.{suffix}"
    if spec.get("shape") is not None and list(value.shape) != list(spec["shape"]):
        return (f"{outcome.shown} returned a tensor of shape {tuple(value.shape)}; "
                f"expected {tuple(spec['shape'])}.{suffix}")
    if spec.get("dtype") is not None and _dtype(value) != spec["dtype"]:
        return f"{outcome.shown} returned dtype {_dtype(value)}; expected {spec['dtype']}.{suffix}"
    return None


def _item(spec: list, value, outcome: Outcome) -> str | None:
    index, *shown, inner = spec
    if not isinstance(value, (list, tuple)) or len(value) <= index:
        return f"{outcome.shown} gave {describe(value)}, which has no value number {index + 1}."
    return failure(inner, Outcome(shown[0] if shown else outcome.shown, value[index], outcome.error, outcome.ops,
                                  outcome.after))


def _equal(expected, value, outcome: Outcome) -> str | None:
    import torch

    if isinstance(expected, str):
        return None if value == expected else f"{outcome.shown} returned {value!r}; expected {expected!r}."
    if _tensor(value) and value.shape == expected.shape and torch.equal(value.to(expected.dtype), expected):
        return None
    got = value.tolist() if _tensor(value) else describe(value)
    return f"{outcome.shown} returned {got}; expected {expected.tolist()}."


def _close(spec: dict, value, outcome: Outcome) -> str | None:
    """{"close": tensor, "rtol", "atol"?, "also"?, "row"?, "what"?}: a float or a tensor close to any."""
    import torch

    expected = spec["close"]
    if type(value) is float:
        value = torch.tensor(value, dtype=torch.float64)
    what = spec.get("what", outcome.shown)
    if not _tensor(value):
        return f"{what}: expected {numbers(expected.to(torch.float64))}, got {describe(value)}."
    if "row" in spec:
        value = value[spec["row"]]
    for option in [expected, *spec.get("also", [])]:
        if value.shape == option.shape and bool(torch.isclose(
                value.to(torch.float64), option.to(torch.float64), rtol=spec.get("rtol", 1e-4),
                atol=spec.get("atol", 1e-12)).all()):
            return None
    return f"{what}: expected {numbers(expected.to(torch.float64))}, got {numbers(value.to(torch.float64))}."


def _parameters(spec: dict, value, outcome: Outcome) -> str | None:
    """Whether a model's parameters, read back after the call, are those of a correct step (any of
    ``spec["expected"]``, each {name: tensor}), up to ``spec["atol"]``."""
    import torch

    got = outcome.after.get(spec["arg"])
    if got is None:
        return f"{spec['what']}: the model's parameters could not be read back after the call."
    worst = None
    for expected in spec["expected"]:
        if got.keys() != expected.keys():
            continue
        gaps = {name: float((got[name].double() - tensor.double()).abs().max()) if got[name].shape == tensor.shape
                else math.inf for name, tensor in expected.items()}
        name = max(gaps, key=gaps.get)
        if gaps[name] <= spec["atol"]:
            return None
        worst = worst if worst and worst[1] <= gaps[name] else (name, gaps[name])
    if worst is None:
        return f"{spec['what']}: the model came back with other parameters than it was given."
    unchanged = all(torch.equal(got[n], t) for n, t in spec["before"].items()) if "before" in spec else False
    how = "did not change at all" if unchanged else f"differ from a correct step by up to {worst[1]:.3g} ({worst[0]})"
    return f"{spec['what']}: after the call, the model's parameters {how}."


def _layout(spec: dict, value, outcome: Outcome) -> str | None:
    """The names and shapes of a module's parameters and buffers, as the contract fixes them."""
    got = outcome.after.get(spec["arg"])
    if got is None:
        return f"{spec['what']}: its parameters could not be read back."
    got_shapes = {name: list(tensor.shape) for name, tensor in got.items()}
    expected = {name: list(shape) for name, shape in spec["expected"].items()}
    missing = [f"`{n}` {tuple(s)}" for n, s in expected.items() if n not in got_shapes]
    extra = [f"`{n}` {tuple(s)}" for n, s in got_shapes.items() if n not in expected]
    misshapen = [f"`{n}` is {tuple(got_shapes[n])}, not {tuple(s)}" for n, s in expected.items()
                 if n in got_shapes and got_shapes[n] != s]
    if not (missing or extra or misshapen):
        return None
    parts = [f"missing {', '.join(missing)}" if missing else "", f"extra {', '.join(extra)}" if extra else "",
             "; ".join(misshapen)]
    return f"{spec['what']}: its parameters are not the assignment's: {'; '.join(p for p in parts if p)}."


def _no_ops(spec: dict, value, outcome: Outcome) -> str | None:
    used = sorted(outcome.ops & set(spec["no_ops"]))
    return f"{outcome.shown} used {spec['what']} ({', '.join(used)})." if used else None


def _simple(test: Callable[[Any, Any], bool], says: str) -> Callable[[Any, Any, Outcome], str | None]:
    """A predicate from a test of the value, with a message for when it does not hold."""
    def predicate(spec, value, outcome: Outcome) -> str | None:
        return None if test(spec, value) else f"{outcome.shown} returned {describe(value)}; {says}."
    return predicate


def _nan_scalar(spec, value) -> bool:
    return _tensor(value) and value.is_floating_point() and value.numel() == 1 and math.isnan(float(value))


# kind -> (predicate(spec, value, outcome) -> failure message or None, whether the whole expectation is its spec)
PREDICATES: dict[str, tuple[Callable[[Any, Any, Outcome], str | None], bool]] = {
    "tensor": (_is_tensor, False),
    "str": (lambda spec, value, o: None if isinstance(value, str) else
            f"{o.shown} should return a str; it returned {describe(value)}.", False),
    "float": (lambda spec, value, o: None if isinstance(value, float) else
              f"{o.shown} should return a Python float; it returned {describe(value)}."
              + (f" {spec['hint']}" if spec.get("hint") else ""), False),
    "pair": (lambda spec, value, o: None if isinstance(value, (list, tuple)) and len(value) == 2 else
             f"{o.shown} should return two values, {spec}; it returned {describe(value)}.", False),
    "item": (_item, False),
    "nan": (lambda spec, value, o: None if isinstance(value, float) and math.isnan(value) else
            f"{spec['what']}: expected nan, got {describe(value)}.", False),
    "equal": (_equal, False),
    "close": (_close, True),
    "no_ops": (_no_ops, True),
    "ops_any": (lambda spec, value, o: None if o.ops & set(spec) else f"{o.shown} ran none of {sorted(spec)}.", False),
    "params": (_parameters, False),
    "layout": (_layout, False),
    "transitions": (lambda spec, value, o: sampled({"transitions": spec}, value), False),
    "rate": (lambda spec, value, o: sampled({"rate": spec}, value), False),
    "shape": _simple(lambda spec, v: _tensor(v) and list(v.shape) == list(spec), "expected another shape"),
    "columns": _simple(lambda spec, v: _tensor(v) and v.dim() == 2 and v.shape[1] == spec, "expected other columns"),
    "floating": _simple(lambda spec, v: _tensor(v) and v.is_floating_point(), "expected floating point"),
    "nan_scalar": _simple(_nan_scalar, "expected nan"),
    "same_values": _simple(lambda spec, v: _tensor(v) and v.dim() == spec["dim"] and v.tolist() == spec["values"],
                           "expected other values"),
}
PREDICATES.update({kind: (entry, False) for kind, entry in PREDICATES.items() if not isinstance(entry, tuple)})
COMBINATORS = ("any", "all", "not", "raised")  # for known mistakes, besides the predicates


def kind_of(predicate: dict) -> str:
    """The predicate's kind: its one key among ``PREDICATES`` and ``COMBINATORS``."""
    kinds = [key for key in predicate if key in PREDICATES or key in COMBINATORS]
    if len(kinds) != 1:
        raise ValueError(f"a predicate has one kind among {sorted(PREDICATES) + list(COMBINATORS)}; "
                         f"this one has {sorted(predicate)}")
    return kinds[0]


def failure(predicate: dict, outcome: Outcome) -> str | None:
    """The message for ``outcome`` failing ``predicate`` (an expectation), or None if it holds."""
    kind = kind_of(predicate)
    test, whole = PREDICATES[kind]
    return test(predicate if whole else predicate[kind], outcome.value, outcome)


def holds(predicate: dict, outcome: Outcome) -> bool:
    """Whether ``outcome`` shows what ``predicate`` describes (a known mistake's outcome)."""
    kind = kind_of(predicate)
    if kind == "any":
        return any(holds(p, outcome) for p in predicate["any"])
    if kind == "all":
        return all(holds(p, outcome) for p in predicate["all"])
    if kind == "not":
        return not holds(predicate["not"], outcome)
    if kind == "raised":
        return bool(outcome.error) and predicate["raised"] in outcome.error
    return not outcome.error and failure(predicate, outcome) is None


def judge(call: dict, value: Any = None, error: str = "", ops: set = frozenset(),
          after: dict | None = None) -> Verdict:
    """The verdict on one call: ``value`` came back, or ``error`` was raised (a message), with ``ops``
    run; ``after`` holds what was read back once it returned (the parameters of the arguments and
    of the instance the call names in "after")."""
    outcome = Outcome(call["shown"], value, error, frozenset(ops), after or {})
    if error:
        message = error
    else:
        message = next((m for m in (failure(e, outcome) for e in call["expect"]) if m), None)
        if message is None:
            return Verdict(True)
    return Verdict(False, message, shown_mistakes(call["mistakes"], outcome))


def shown_mistakes(mistakes: list[dict], outcome: Outcome) -> list[tuple[str, str]]:
    """(name, hint) of every known mistake whose outcome this is; one that cannot apply to an odd
    value simply does not show."""
    found = []
    for mistake in mistakes:
        try:
            if holds(mistake["when"], outcome):
                found.append((mistake["name"], mistake["text"]))
        except Exception:  # noqa: BLE001 - an odd value must not break feedback
            continue
    return found
