"""The judge: whether what a student's function returned for one call is right, and why not.

A call is plain data (``checks.py`` in each assignment's folder builds them; ``checks.pt`` ships the
visible ones): the arguments, the expectations in the order they are checked, and the known mistakes,
each recognised by a matcher. Expectations and matchers are one set of predicates: a matcher can hold
an expectation (``{"holds": ...}``), so a mistake is described as the outcome it gives. The grader and
the students' checker judge with this module alone, so their verdicts, messages and hints are one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """What one call of a student function earned: passed, or the first failure and its hints."""

    passed: bool
    message: str = ""
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # (name, hint text)
    raised: bool = False  # the function could not be called, or raised: no value came back to judge


def describe(value: Any) -> str:
    """A short, readable description of an argument or a result."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return repr(value)[:60]


def numbers(values, limit: int = 4) -> str:
    """The first few numbers of a tensor, for a message."""
    flat = values.reshape(-1)
    shown = ", ".join(f"{float(v):.6g}" for v in flat[:limit])
    if values.dim() == 0:
        return shown
    return f"[{shown}{', ...' if flat.numel() > limit else ''}]"


def _isclose(actual, expected, rtol: float, atol: float) -> bool:
    import torch

    return bool(torch.isclose(actual.to(torch.float64), expected.to(torch.float64), rtol=rtol, atol=atol).all())


def failure(expectation: dict, shown: str, value: Any, ops: set, after: dict | None = None) -> str | None:
    """The message for ``value`` failing one expectation of a call shown as ``shown``, or None if it holds.

    Expectations are plain data: {"tensor": {dtype, shape, hint}}, {"str": True}, {"float": {hint}},
    {"pair": "what the two are"}, then {"item": [index, shown, expectation]} for each of them,
    {"equal": ...}, {"close": tensor, "also": [tensor]?, "rtol", "atol"?, "row"?, "what"} (a
    float or a tensor close to any of them), {"nan": {"what"}}, {"no_ops": [aten op names], "what"},
    {"params": {...}} (a model's parameters after the call, ``after``), and, for token sequences
    that were sampled, {"transitions": {...}} and {"rate": {...}} (see ``_sampled``).
    """
    import torch

    if "tensor" in expectation:
        spec = expectation["tensor"]
        suffix = f" {spec['hint']}" if spec.get("hint") else ""
        if not isinstance(value, torch.Tensor):
            return f"{shown} should return a torch.Tensor; it returned {describe(value)}.{suffix}"
        if spec.get("shape") is not None and list(value.shape) != list(spec["shape"]):
            return f"{shown} returned a tensor of shape {tuple(value.shape)}; expected {tuple(spec['shape'])}.{suffix}"
        if spec.get("dtype") is not None and str(value.dtype).removeprefix("torch.") != spec["dtype"]:
            return (f"{shown} returned dtype {str(value.dtype).removeprefix('torch.')}; "
                    f"expected {spec['dtype']}.{suffix}")
        return None
    if "str" in expectation:
        return None if isinstance(value, str) else f"{shown} should return a str; it returned {describe(value)}."
    if "pair" in expectation:
        return None if isinstance(value, (list, tuple)) and len(value) == 2 else (
            f"{shown} should return two values, {expectation['pair']}; it returned {describe(value)}.")
    if "item" in expectation:  # one value of a returned pair: [index, how to show it, its expectation]
        index, item_shown, inner = expectation["item"]
        if not isinstance(value, (list, tuple)) or len(value) <= index:
            return f"{shown} gave {describe(value)}, which has no value number {index + 1}."
        return failure(inner, item_shown, value[index], ops, after)
    if "float" in expectation:
        hint = expectation["float"].get("hint", "")
        return None if type(value) is float else (
            f"{shown} should return a Python float; it returned {describe(value)}.{' ' + hint if hint else ''}")
    if "nan" in expectation:
        return None if type(value) is float and math.isnan(value) else (
            f"{expectation['nan']['what']}: expected nan, got {describe(value)}.")
    if "params" in expectation:
        return _parameters_failure(expectation["params"], after or {})
    if "transitions" in expectation or "rate" in expectation:
        return _sampled(expectation, value)
    if "equal" in expectation:
        expected = expectation["equal"]
        if isinstance(expected, str):
            return None if value == expected else f"{shown} returned {value!r}; expected {expected!r}."
        return None if torch.equal(value, expected) else (
            f"{shown} returned {value.tolist()}; expected {expected.tolist()}.")
    if "close" in expectation:
        expected = expectation["close"]
        if type(value) is float:
            value = torch.tensor(value, dtype=torch.float64)
        if "row" in expectation:
            value = value[expectation["row"]]
        if any(_isclose(value, option, expectation["rtol"], expectation.get("atol", 0.0))
               for option in [expected, *expectation.get("also", [])]):
            return None
        return f"{expectation['what']}: expected {numbers(expected.to(torch.float64))}, got {numbers(value.to(torch.float64))}."
    if "no_ops" in expectation:
        used = sorted(ops & set(expectation["no_ops"]))
        return f"{shown} used {expectation['what']} ({', '.join(used)})." if used else None
    raise ValueError(f"unknown expectation {sorted(expectation)}")


def matches(matcher: dict, value: Any, error: str, ops: set, after: dict | None = None) -> bool:
    """Whether a call's outcome shows a known mistake, as described by ``matcher`` (plain data).

    A matcher recognises a mistake by what came back, never by the student's code: the wrong value
    the mistake would give (computed by the kit for these inputs), an error, or an op it ran.
    """
    import torch

    kind, arg = next(iter(matcher.items()))
    if kind == "any":
        return any(matches(m, value, error, ops, after) for m in arg)
    if kind == "all":
        return all(matches(m, value, error, ops, after) for m in arg)
    if kind == "not":
        return not matches(arg, value, error, ops, after)
    if kind == "holds":  # an expectation as a matcher: what a mistake's outcome satisfies
        return not error and failure(arg, "", value, ops, after) is None
    if kind == "item":  # one element of a returned tuple, such as (inputs, targets)
        index, inner = arg
        return (isinstance(value, (list, tuple)) and len(value) > index
                and matches(inner, value[index], error, ops, after))
    if kind == "error_contains":
        return arg in error
    if kind == "ops_any":
        return bool(ops & set(arg))
    if kind == "python_float":
        return isinstance(value, float)
    if kind == "str_equal":
        return isinstance(value, str) and value == arg
    if not isinstance(value, torch.Tensor):
        return False
    if kind == "close":
        return (value.is_floating_point() and list(value.shape) == list(arg.shape)
                and _isclose(value, arg, matcher.get("rtol", 1e-4), 1e-12))
    if kind == "shape":
        return list(value.shape) == list(arg)
    if kind == "equal":
        return value.shape == arg.shape and bool(torch.equal(value.to(arg.dtype), arg))
    if kind == "same_values":
        return value.dim() == arg["dim"] and value.tolist() == arg["values"]
    if kind == "floating":
        return value.is_floating_point()
    if kind == "nan_scalar":
        return value.is_floating_point() and value.numel() == 1 and math.isnan(float(value))
    if kind == "columns":
        return value.dim() == 2 and value.shape[1] == arg
    raise ValueError(f"unknown matcher {kind!r}")


def judge(call: dict, value: Any = None, error: str = "", ops: set = frozenset(),
          after: dict | None = None) -> Verdict:
    """The verdict on one call: ``value`` came back, or ``error`` was raised (a message), with ``ops``
    run; ``after`` holds the parameters of the model arguments the call names in "after", once it returned."""
    if error:
        message = error
    else:
        message = next((m for m in (failure(e, call["shown"], value, ops, after) for e in call["expect"]) if m),
                       None)
        if message is None:
            return Verdict(True)
    found = []
    for mistake in call["mistakes"]:
        try:
            if matches(mistake["when"], value, error, ops, after):
                found.append((mistake["name"], mistake["text"]))
        except Exception:  # noqa: BLE001 - an odd value must not break feedback
            continue
    return Verdict(False, message, found)


def _parameters_failure(spec: dict, after: dict) -> str | None:
    """Whether a model argument's parameters, read back after the call, are those of a correct step
    (any of ``spec["expected"]``, each {name: tensor}), up to ``spec["atol"]``."""
    import torch

    got = after.get(spec["arg"])
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


def _sampled(expectation: dict, value: Any) -> str | None:
    """A sampled token sequence, judged by what every correct sampler does, whatever its random draws.

    Each check reads the tokens from position ``start`` on; the token before each one is its
    context (the call feeds one token of context, so the next token's distribution depends on the
    previous token alone, and the kit knows it for every token).
    - {"transitions": {"start", "allowed": [[token, ...] per previous token], "what"}}: every token
      is one the sampler may draw after its previous one (the top k);
    - {"rate": {"start", "top": [token per previous token], "p": [probability per previous token],
      "false_failure", "what"}}: how often the counted token was drawn agrees with its probability.
      The count minus the sum of the probabilities is a martingale whose every step lies in an
      interval of length 1 known before the draw ([-p, 1 - p]), so by Azuma-Hoeffding a correct
      sampler is farther than sqrt(n ln(2 / false_failure) / 2) from it with probability below
      ``false_failure``, however many steps n there are.
    """
    import torch

    if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[0] != 1:
        return f"expected a (1, n) tensor of token ids, got {describe(value)}."
    tokens = value[0].tolist()
    if "transitions" in expectation:
        spec = expectation["transitions"]
        for position in range(spec["start"], len(tokens)):
            previous, token = tokens[position - 1], tokens[position]
            allowed = spec["allowed"][previous] if 0 <= previous < len(spec["allowed"]) else []
            if token not in allowed:
                return (f"{spec['what']}: token {token} at position {position} (after token {previous}) is not "
                        f"one of the {len(allowed)} the sampler may draw there, {sorted(allowed)}.")
        return None
    spec = expectation["rate"]
    steps = [(tokens[j - 1], tokens[j]) for j in range(spec["start"], len(tokens))]
    drawn = sum(token == spec["top"][previous] for previous, token in steps)
    mean = sum(spec["p"][previous] for previous, _ in steps)
    bound = math.sqrt(len(steps) * math.log(2 / spec["false_failure"]) / 2)
    if abs(drawn - mean) <= bound:
        return None
    return (f"{spec['what']}: the most likely token was drawn {drawn} times in {len(steps)} steps; sampling "
            f"from softmax(logits / temperature) draws it about {mean:.0f} times (a gap over {bound:.0f} "
            f"happens by chance less than once in {1 / spec['false_failure']:,.0f} checks).")
