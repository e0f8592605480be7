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
    equal str | tensor               close tensor, {rtol, atol?, also?: [tensor], row?, what, equal_nan?,
                                     stand_in?: {close: tensor, note, callees?}: also right, and the
                                     one shown, when the call ran with stand-ins for those callees
                                     (any, without "callees"); or a list of such, one per set of them}
    agree {a: index, b: index, rtol, atol, what}   two parts of the value alike (each index a list
                                     of ints and [start, stop] slices): a causal output's prefix
    dropout {...}   softmax weights dropped in train mode, judged by properties (see ``dropout``)
    weight_rows {block, what}   softmax weights read from an output (see ``dropout``) sum to 1 per row
    raises {types: [names], what}   the call must raise one of these (a constructor refusing its arguments)
    shape [dims]   columns n   floating   nan_scalar   nan {what}   same_values {dim, values}
    no_ops [aten ops], what          ops_any [aten ops]     (the torch ops the call ran)
    params {arg, expected, atol, before?, what}   a model's parameters read back after the call
    grads {arg, expected, rtol, atol, what}      the gradients backward() on the value left on them
    layout {arg, expected: {name: shape}, what}   the names and shapes of a module's parameters
    sampled {...}   a sampled token sequence, judged with the model it was given (see ``sampled``)

Besides its expectations, every call must leave what it was given to read as it was: the tensors,
lists of tensors and models among its arguments (``inputs.watched``) are fingerprinted after it and
compared with the kit's own copies (``unchanged``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from .dropout import dropout, weight_rows
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
    stood_in: frozenset = frozenset()  # the callees that failed their own checks, stood in for during the call
    watched: dict = field(default_factory=dict)  # fingerprints of what it should only read, after it


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
    return failure(inner, replace(outcome, shown=shown[0] if shown else outcome.shown, value=value[index]))


def _equal(expected, value, outcome: Outcome) -> str | None:
    import torch

    if isinstance(expected, str):
        return None if value == expected else f"{outcome.shown} returned {value!r}; expected {expected!r}."
    if _tensor(value) and value.shape == expected.shape and torch.equal(value.to(expected.dtype), expected):
        return None
    got = value.tolist() if _tensor(value) else describe(value)
    return f"{outcome.shown} returned {got}; expected {expected.tolist()}."


def _close(spec: dict, value, outcome: Outcome) -> str | None:
    """{"close": tensor, "rtol", "atol"?, "also"?, "row"?, "what"?, "stand_in"?}: a float or a tensor
    close to any; with a stand-in in place, its value is right too, and the one a message shows."""
    import torch

    expected, options, what = spec["close"], [spec["close"], *spec.get("also", [])], spec.get("what", outcome.shown)
    for stand_in in reversed(_stand_ins(spec, outcome.stood_in)):
        expected, what = stand_in["close"], spec.get("what", outcome.shown) + stand_in["note"]
        options.insert(0, expected)
    if type(value) is float:
        value = torch.tensor(value, dtype=torch.float64)
    if not _tensor(value):
        return f"{what}: expected {numbers(expected.to(torch.float64))}, got {describe(value)}."
    if "row" in spec:
        value = value[spec["row"]]
    for option in options:
        if value.shape == option.shape and bool(torch.isclose(
                value.to(torch.float64), option.to(torch.float64), rtol=spec.get("rtol", 1e-4),
                atol=spec.get("atol", 1e-12), equal_nan=spec.get("equal_nan", False)).all()):
            return None
    shown = f"{what}: expected {numbers(expected.to(torch.float64))}, got {numbers(value.to(torch.float64))}"
    return shown + _first_difference(expected, value, spec) + "."


def _first_difference(expected, value, spec: dict) -> str:
    """Where two tensors of one shape first differ, when the first numbers a message shows are alike
    (a causal row, say, that goes wrong only after position 0): otherwise "expected [1, 0, 0, 0, ...],
    got [1, 0, 0, 0, ...]" would say nothing."""
    import torch

    if value.shape != expected.shape or value.numel() <= 4 or numbers(value.double()) != numbers(expected.double()):
        return ""
    apart = ~torch.isclose(value.double(), expected.double(), rtol=spec.get("rtol", 1e-4), atol=spec.get("atol", 1e-12),
                           equal_nan=spec.get("equal_nan", False))
    if not bool(apart.any()):
        return ""
    at = tuple(int(i) for i in apart.nonzero()[0])
    return (f"; they first differ at index {at}: expected {float(expected.double()[at]):.6g}, "
            f"got {float(value.double()[at]):.6g}")


def _stand_ins(spec: dict, stood_in: frozenset) -> list[dict]:
    """The values a call may also give with stand-ins in place for the callees in ``stood_in``: each
    computed with some of them (a caller need not call every callee), the first the one shown."""
    given = spec.get("stand_in") or []
    given = [given] if isinstance(given, dict) else given
    return [s for s in given if stood_in and set(s.get("callees", stood_in)) <= set(stood_in)]


def _agree(spec: dict, value, outcome: Outcome) -> str | None:
    """Two parts of one value alike: the outputs up to a position, for two inputs that differ only
    after it, must not depend on what came after."""
    import torch

    if not _tensor(value):
        return f"{outcome.shown} should return a torch.Tensor; it returned {describe(value)}."

    def part(index):
        return value[tuple(slice(*i) if isinstance(i, list) else i for i in index)]

    try:
        a, b = part(spec["a"]), part(spec["b"])
    except (IndexError, TypeError):
        return f"{spec['what']}: {outcome.shown} returned {describe(value)}."
    if a.shape == b.shape and bool(torch.isclose(a.double(), b.double(), rtol=spec["rtol"], atol=spec["atol"]).all()):
        return None
    return f"{spec['what']}: expected {numbers(a.double())} in both, got {numbers(b.double())} in the second."


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


def _gradients(spec: dict, value, outcome: Outcome) -> str | None:
    """The gradients ``value.backward()`` left on a model argument's parameters, close to the
    reference loss's: a loss computed without gradients (under torch.no_grad(), detached, then
    ``requires_grad_()``) has the right value and trains nothing."""
    import torch

    got = outcome.after.get(f"grad:{spec['arg']}") or {}
    missing = [name for name in spec["expected"] if name not in got]
    if len(missing) == len(spec["expected"]):
        return (f"{spec['what']}: backward() on the loss it returned put no gradient on the model's parameters, so "
                "training with it would change nothing. Compute the loss from the model's output with gradients "
                "on: not under torch.no_grad(), and without .detach() or .item() on the way.")
    if missing:
        return f"{spec['what']}: backward() on the loss it returned put no gradient on {', '.join(missing[:3])}."
    for name, expected in spec["expected"].items():
        if got[name].shape != expected.shape or not bool(torch.isclose(
                got[name].double(), expected.double(), rtol=spec["rtol"], atol=spec["atol"]).all()):
            return (f"{spec['what']}: after backward() on the loss it returned, the gradient of {name} is not the "
                    "cross-entropy's.")
    return None


def unchanged(call: dict, watched: dict) -> str | None:
    """Whether the call left what it should only read as it was given (see ``inputs.watched``): the
    fingerprints of its tensors after the call, against the kit's own copies'."""
    from . import models
    from .inputs import fingerprints
    from .inputs import watched as watched_of

    for index in watched_of(call):
        arg = call["args"][index]
        spec = models.spec_of(arg)
        given = dict(fingerprints(models.reference(spec) if spec else arg))
        left = watched.get(index)
        if left is None:
            return f"{call['shown']}: what it was given could not be read back after the call."
        for name, fingerprint in given.items():
            if left.get(name) != fingerprint:
                what = (f"the model's parameter `{name}`" if spec else
                        f"its argument number {index + 1}" + (f" (item {name})" if name else ""))
                return (f"{call['shown']} changed {what}, which it should only read: a function that samples or "
                        "computes a loss must leave its inputs as they were given.")
    return None


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
    "grads": (_gradients, False),
    "sampled": (lambda spec, value, o: sampled(spec, value), False),
    "dropout": (lambda spec, value, o: dropout(spec, value, o.stood_in), False),
    "weight_rows": (lambda spec, value, o: weight_rows(spec, value), False),
    "raises": (lambda spec, value, o: f"{spec['what']}: it should raise {' or '.join(spec['types'])}; it returned "
               f"{describe(value)}.", False),
    "agree": (_agree, False),
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
          after: dict | None = None, stood_in: frozenset = frozenset(), watched: dict | None = None) -> Verdict:
    """The verdict on one call: ``value`` came back, or ``error`` was raised (a message), with ``ops``
    run; ``after`` holds what was read back once it returned (the parameters of the arguments and
    of the instance the call names in "after"); ``stood_in``: the callees whose stand-ins were in place."""
    outcome = Outcome(call["shown"], value, error, frozenset(ops), after or {}, frozenset(stood_in), watched or {})
    if error:
        if any(_raised_one_of(e["raises"]["types"], error) for e in call["expect"] if "raises" in e):
            return Verdict(True)
        message = error
    else:
        message = unchanged(call, outcome.watched) or next(
            (m for m in (failure(e, outcome) for e in call["expect"]) if m), None)
        if message is None:
            return Verdict(True)
    return Verdict(False, message, shown_mistakes(call["mistakes"], outcome))


def _raised_one_of(types: list[str], error: str) -> bool:
    """Whether ``error`` ("`call` raised Type: message ...") names one of ``types`` as what was raised."""
    _, _, raised = error.partition(" raised ")
    return raised.split(":", 1)[0].split(" ", 1)[0].rstrip(".") in types


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
