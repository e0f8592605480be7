"""Check your answers before you submit them: the assignment's visible checks, on your machine.

This file ships beside the notebook (it is the kit's ``autograder/sandbox/inside/student_check.py``,
copied as ``check.py`` when the release is generated) with ``checks.pt``: the visible checks as
data, their inputs and expected values computed by the kit from the reference answers. Neither
carries an answer. The grader judges its visible checks with the functions below, so the verdicts, messages
and hints here are the grader's own.

Two ways to use it:

    python check.py [NOTEBOOK ...]      the saved notebook, run in a child process with a time
                                        limit per cell and per call; exit status 0 when all pass
    python check.py --stop              end the checker waiting in the background (see below)
    python check.py --classroom         in GitHub Classroom's workflow: also report the points
    from check import check; check()    in the notebook: the functions of the running kernel

The first ``python check.py`` starts a warm process (torch imported, the notebook's model built)
and leaves it waiting in the background (it holds about 1 GB), so that the next check starts in
about a second instead of several. It ends itself after 5 minutes without a check (``python
check.py --stop`` ends it now); when ``check.py``, ``checks.pt`` or a module beside them changes,
the next check starts another. Its socket lives in a folder only you can open. Set
CHECK_PY_LINGER to the seconds it should wait (0: no background process; the check then ends
every process it started).

Only the standard library is imported here at the top; torch and tiktoken, which the notebook
needs anyway, are imported where the notebook's code runs. This is a self-check: the grade comes
from the grader, which runs the visible checks and hidden ones in its sandbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA, SUMMARY = "checks.pt", "checks.json"
OUTSIDE = "COURSE_KIT_CHECKING"  # set where a checker or the grader runs the whole notebook
TOKENIZER = {"ref": "tokenizer"}  # an argument the checks name: GPT-2's tokenizer, built where the code runs


# ---------------------------------------------------------------- the judge (shared with the grader)


@dataclass
class Verdict:
    """What one call of a student function earned: passed, or the first failure and its hints."""

    passed: bool
    message: str = ""
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # (name, hint text)


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


# ---------------------------------------------------------------- calling the student's functions


def summary_data() -> dict:
    """``checks.json``: the assignment, its functions and time limits, readable without torch."""
    return json.loads((HERE / SUMMARY).read_text())


def load_checks() -> dict:
    """The visible checks shipped beside this file: ``checks.json``, with the calls from ``checks.pt``
    (tensors and plain data only: loaded with weights_only)."""
    import torch

    return {**summary_data(), "calls": torch.load(HERE / DATA, weights_only=True)}


def _tokenizer():
    import tiktoken

    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(HERE / "tiktoken_cache"))
    return tiktoken.get_encoding("gpt2")


def _arguments(call: dict) -> list:
    import torch

    values = []
    for arg in call["args"]:  # in order: an optimizer refers to a model argument before it
        values.append(_tokenizer() if is_tokenizer(arg) else build(arg["ref"], values) if is_ref(arg)
                      else _cloned(arg) if isinstance(arg, (torch.Tensor, list)) else arg)
    return values


def _cloned(arg):
    """A fresh copy of a tensor argument (or of a list of them, such as a loader's batches), so a
    function that writes into its input cannot change the next check's."""
    import torch

    if isinstance(arg, list):
        return [_cloned(item) for item in arg]
    return arg.clone() if isinstance(arg, torch.Tensor) else arg


def is_tokenizer(arg: Any) -> bool:
    return isinstance(arg, dict) and arg == TOKENIZER


def is_ref(arg: Any) -> bool:
    """An argument a check names instead of sending: {"ref": name} (see ``build``)."""
    return isinstance(arg, dict) and set(arg) == {"ref"} and isinstance(arg["ref"], str)


# ---------------------------------------------------------------- inputs built where the code runs


OPTIMIZERS = ("SGD", "Adam", "AdamW")  # the optimizers a check may name
OPTIMIZER_OPTIONS = ("lr", "weight_decay", "momentum")


def build(name: str, earlier: list = ()):
    """An object a check names but cannot send, built here, where the student's code runs (the
    grader's sandbox or the student's machine): "tiktoken:<encoding>"; "gpt2:<json>", a GPTModel of
    the gpt2.py beside the notebook, from a configuration and a seed; "optim:<json>", an optimizer
    over an earlier argument's parameters. The kit builds the same ones from its own copy, so it
    knows exactly what the student's function received."""
    kind, _, arg = name.partition(":")
    if kind == "tiktoken":
        import tiktoken

        return tiktoken.get_encoding(arg)
    if kind == "gpt2":
        return build_model(json.loads(arg))
    if kind == "optim":
        return build_optimizer(json.loads(arg), earlier)
    raise ValueError(f"unknown reference {name!r}")


def build_model(spec: dict, model_class=None):
    """GPTModel(config) after torch.manual_seed(seed), in eval mode unless "train"; with "grad",
    every parameter's .grad filled with it (what a previous step leaves behind)."""
    import torch

    config, seed, grad = spec.get("config"), spec.get("seed"), spec.get("grad")
    if not isinstance(config, dict) or type(seed) is not int:
        raise ValueError("a model reference needs a config dict and an int seed")
    if model_class is None:
        model_class = getattr(__import__(MODEL_MODULE), MODEL_CLASS)
    torch.manual_seed(seed)
    model = model_class(dict(config))
    model.train(bool(spec.get("train")))
    if grad is not None:
        for parameter in model.parameters():
            parameter.grad = torch.full_like(parameter, float(grad))
    return model


def build_optimizer(spec: dict, earlier: list):
    """torch.optim.<kind> over the parameters of argument ``arg``; other optimizers are refused."""
    import torch

    kind, arg = spec.get("kind"), spec.get("arg")
    if kind not in OPTIMIZERS or type(arg) is not int or not 0 <= arg < len(earlier):
        raise ValueError(f"an optimizer reference names one of {OPTIMIZERS} and an earlier argument")
    options = {key: float(spec[key]) for key in OPTIMIZER_OPTIONS if key in spec}
    return getattr(torch.optim, kind)(earlier[arg].parameters(), **options)


def parameters_of(model) -> list:
    """[[name, tensor], ...] of a model's parameters, copied: what a call did to them, as plain data."""
    return [[name, parameter.detach().clone()] for name, parameter in model.named_parameters()]


def probe_loss(input_batch, target_batch, model, device):
    """A stand-in for a student's batch loss while a function that calls it is checked.

    ``train_step`` and ``calc_loss_loader`` call ``calc_loss_batch``; judged with the student's own,
    a mistake there would cost them too. So while they run, the check puts this in its place: a
    loss of the model's output that every parameter's gradient depends on, and not the answer
    (it is not a cross-entropy), so nothing of the reference reaches the student's process. A
    function that computes its loss itself is judged against the real loss instead.
    """
    logits = model(input_batch.to(device))
    return (logits ** 2).mean() / 2 + 0.0 * target_batch.to(device).sum()


STAND_INS = {"probe_loss": probe_loss}


@contextlib.contextmanager
def standing_in(namespace: dict, stand_ins: dict[str, str]):
    """The notebook's functions named in ``stand_ins`` replaced by the kit's (``STAND_INS``) for
    the duration of a call, and put back after it, however it ends."""
    unknown = set(stand_ins.values()) - set(STAND_INS)
    if unknown:
        raise ValueError(f"unknown stand-in {sorted(unknown)}")
    missing = object()
    saved = {name: namespace.get(name, missing) for name in stand_ins}
    namespace.update({name: STAND_INS[kind] for name, kind in stand_ins.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def record_ops():
    """A context that names every aten op run inside it (``.ops``), however it is reached: a
    hidden nll_loss shows. The grader's sandbox records graded calls with it too."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class RecordOps(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # torch wraps a mode's __torch_dispatch__ to keep its compiler out, and that wrapper
            # imports torch._dynamo on first use: 2 s of every process's first call. The mode
            # compiles nothing, so it opts out (the switch torch documents for mode authors).
            return False

        def __init__(self):
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.add(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    return RecordOps()


OP_KINDS = ("no_ops", "ops_any")  # the expectations and matchers that read the ops a call ran


def needs_ops(call: dict) -> bool:
    """Whether judging ``call`` reads the torch ops it ran. Recording them costs every op a Python
    call (a thousand generated tokens take twice as long), so calls that never look are not recorded."""
    def found(data) -> bool:
        if isinstance(data, dict):
            return any(key in OP_KINDS or found(value) for key, value in data.items())
        return isinstance(data, (list, tuple)) and any(found(item) for item in data)

    return found(call["expect"]) or found([mistake["when"] for mistake in call["mistakes"]])


class NoRecording(contextlib.nullcontext):
    ops: frozenset = frozenset()


class CallTimedOut(Exception):
    pass


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def call_and_judge(function, call: dict, limit: float | None = None, namespace: dict | None = None) -> Verdict:
    """Call a student function on the check's inputs, then judge it; ``limit`` seconds at most
    (enforced with an alarm, so only from the main thread). ``namespace``, the notebook's, is where
    the call's stand-ins go (see ``standing_in``)."""
    recorder, value, error, after = record_ops() if needs_ops(call) else NoRecording(), None, "", {}
    alarm = limit and hasattr(signal, "setitimer") and _main_thread()
    if alarm:
        previous = signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        try:
            args = _arguments(call)
        except Exception as exc:  # noqa: BLE001 - the check's own inputs, not the student's code
            return Verdict(False, f"The check could not build its inputs for {call['shown']} ({_error_text(exc)}). "
                                  "Keep gpt2.py and check.py beside the notebook, as they came.")
        with standing_in(namespace if namespace is not None else {}, call.get("stand_in", {})), recorder:
            value = called(function, args, call.get("repeat", 1))
        after = {index: dict(parameters_of(args[index])) for index in call.get("after", [])}
    except CallTimedOut:
        error = f"{call['shown']} took longer than {limit:g} s; look for a loop that never ends."
    except Exception as exc:  # noqa: BLE001 - the student's exception is the answer
        error = f"{call['shown']} raised {_error_text(exc)}"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return judge(call, value, error, recorder.ops, after)


def called(function, args: list, repeat: int = 1) -> Any:
    """``function(*args)``; with ``repeat``, that many calls in a row on the same objects (a model
    and its optimizer, several steps), and the list of what each returned."""
    if repeat == 1:
        return function(*args)
    return [function(*args) for _ in range(repeat)]


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _out_of_time(signum, frame):
    raise CallTimedOut()


def check_functions(namespace: dict, checks: dict, limit: float | None = None, report=None) -> dict[str, Verdict]:
    """Every visible check of every function found in ``namespace``: one verdict per function
    (its first failing call, or a pass)."""
    verdicts = {}
    for name in checks["functions"]:
        function = namespace.get(name)
        if not callable(function):
            verdicts[name] = Verdict(False, f"{name} is not defined: run its cell, or check its name.")
        else:
            verdicts[name] = Verdict(True)
            for call in (c for c in checks["calls"] if c["function"] == name):
                verdict = call_and_judge(function, call, limit, namespace)
                if not verdict.passed:
                    verdicts[name] = verdict
                    break
        if report is not None:
            report(name, verdicts[name])
    return verdicts


# ---------------------------------------------------------------- what the student reads


def render(name: str, verdict: Verdict) -> str:
    """PASS or FAIL and the function's name; under a FAIL, the message and the hints, wrapped."""
    if verdict.passed:
        return f"PASS  {name}"
    lines = [f"FAIL  {name}", _wrapped(verdict.message)]
    lines += [_wrapped(f"Hint: {text}") for _, text in verdict.mistakes]
    return "\n".join(lines)


def _wrapped(text: str) -> str:
    return textwrap.fill(text, width=86, initial_indent=" " * 6, subsequent_indent=" " * 6,
                         break_long_words=False, break_on_hyphens=False)


def summary(verdicts: dict[str, Verdict]) -> str:
    passed = sum(v.passed for v in verdicts.values())
    if passed == len(verdicts):
        return f"All {passed} functions pass their visible checks. The grader also runs hidden checks."
    return f"{passed} of {len(verdicts)} functions pass their visible checks."


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
    verdicts = check_functions(namespace, checks, checks["call_timeout"],
                               report=lambda name, verdict: print(render(name, verdict)))
    print(summary(verdicts))


# ---------------------------------------------------------------- GitHub Classroom (shared with the grader)

CLASSROOM_VERSION = 1  # the result format of classroom-resources/autograding-grading-reporter


def classroom_result(rows: list[dict], max_score: float, error: bool = False) -> dict:
    """What GitHub Classroom's grading reporter reads: one test per function, scored all or nothing.

    A row is one function: name, passed, score, points, message (for the reporter), verdict,
    problem and hints (for the summary), test_code, filename. The grader's ``--format classroom``
    builds the same rows from its result, so both report alike.
    """
    tests = [{"name": row["name"], "status": "pass" if row["passed"] else "fail", "score": row["score"],
              "message": row["message"][:2000], "test_code": row["test_code"], "filename": row["filename"],
              "line_no": 0, "execution_time": ""} for row in rows]
    status = "error" if error else ("pass" if all(row["passed"] for row in rows) else "fail")
    return {"version": CLASSROOM_VERSION, "status": status, "max_score": max_score, "tests": tests}


def classroom_summary(title: str, rows: list[dict], notes: list[str] = ()) -> str:
    """The Markdown on the workflow run's page: points per function, then what to fix."""
    lines = [f"## {title}", "", "| Function | Points | Verdict |", "|---|---:|---|"]
    lines += [f"| `{row['name']}` | {row['score']:g} / {row['points']:g} | {_inline(row['verdict'])} |" for row in rows]
    failing = [row for row in rows if not row["passed"]]
    if failing:
        lines += ["", "### What to fix"]
        for row in failing:
            lines += ["", f"**`{row['name']}`**: {_inline(row['problem'])}"]
            lines += [f"> **Hint:** {_inline(hint)}" for hint in row["hints"]]
    if notes:
        lines += ["", "### About your notebook", *(f"- {_inline(note)}" for note in notes)]
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Student text inside Markdown: one line, no HTML, no table breaks."""
    return " ".join(text.split()).replace("<", "&lt;").replace("|", "\\|")[:600]


def report_to_classroom(data: dict, page: str, environ=os.environ) -> None:
    """Inside GitHub Actions: the step's ``result`` output (base64 of the JSON, as the reporter reads
    it) and the run page's summary; elsewhere, nothing."""
    import base64

    if environ.get("GITHUB_OUTPUT"):
        encoded = base64.b64encode(json.dumps(data).encode()).decode("ascii")
        with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"result={encoded}\n")
    if environ.get("GITHUB_STEP_SUMMARY"):
        with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary_page:
            summary_page.write(page)


def classroom_rows(checked: NotebookCheck, points: dict[str, float], notebook: str) -> list[dict]:
    """The rows of ``classroom_result`` for a notebook checked here: the visible checks' verdicts."""
    return [{"name": name, "passed": verdict.passed, "score": points[name] if verdict.passed else 0,
             "points": points[name], "message": " ".join([verdict.message, *(h for _, h in verdict.mistakes)]),
             "verdict": "passed its visible checks" if verdict.passed else "failed a visible check",
             "problem": verdict.message, "hints": [h for _, h in verdict.mistakes],
             "test_code": "python check.py (the visible checks)", "filename": notebook}
            for name, verdict in checked.verdicts.items()]


def report_check_to_classroom(checked: NotebookCheck, notebook: Path, environ=os.environ) -> dict:
    """Report one checked notebook to GitHub Classroom; the reporter's JSON."""
    data = summary_data()
    rows = classroom_rows(checked, data["points"], notebook.name)
    score, total = sum(row["score"] for row in rows), sum(data["points"].values())
    result = classroom_result(rows, total)
    title = f"{data['assignment']}: {score:g} / {total:g} points from the visible checks"
    report_to_classroom(result, classroom_summary(title, rows, checked.notes), environ)
    return result


# ---------------------------------------------------------------- building the notebook's model, once

MODEL_MODULE, MODEL_CLASS = "gpt2", "GPTModel"
RANDOM_FILLS = ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "cauchy_", "log_normal_",
                "geometric_")


def skip_random_init():
    """A torch mode that builds a model's structure without drawing its random initial values.

    When every parameter and buffer is then replaced by a recorded one, drawing 163M random
    numbers first is wasted; allocation without a fill is nearly free (the pages are never
    touched). Building on the meta device would do the same, but its first use imports
    torch._dynamo: seconds. The grader's model cache builds its replays with it too.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    fills = {getattr(torch.Tensor, name) for name in RANDOM_FILLS}

    class SkipRandomInit(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in fills or getattr(func, "__module__", None) == "torch.nn.init":
                return args[0] if args else next(iter(kwargs.values()))
            return func(*args, **(kwargs or {}))

    return SkipRandomInit()


def same_layout(model, shapes: dict[str, tuple]) -> bool:
    """Whether ``shapes`` (name -> (shape, dtype name)) covers every parameter and buffer of
    ``model`` exactly: then nothing of a skipped initialisation survives replacing them."""
    state = model.state_dict(keep_vars=True)
    built = {name for name, _ in model.named_parameters()} | {name for name, _ in model.named_buffers()}
    return built == set(state) == set(shapes) and all(
        (list(t.shape), str(t.dtype).removeprefix("torch.")) == (list(shapes[n][0]), shapes[n][1])
        for n, t in state.items())


class ModelMemo:
    """The models the release notebook's own setup builds, kept in the warm process: a notebook that
    builds the same model (same class, configuration and random state) gets the same parameters
    without drawing them again, and the random generator left where the plain build leaves it.

    A forked child shares the kept tensors' memory copy-on-write: its writes stay its own.
    """

    def __init__(self):
        self.kept: dict[str, tuple[dict, Any]] = {}

    @staticmethod
    def key(cls: type, cfg: Any, args: tuple, kwargs: dict) -> str | None:
        import hashlib

        import torch

        if args or kwargs or not isinstance(cfg, dict):
            return None
        try:
            config = json.dumps(cfg, sort_keys=True)
        except (TypeError, ValueError):
            return None
        rng = hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()
        return f"{cls.__module__}.{cls.__qualname__}|{config}|{rng}"

    def record(self, cls: type) -> None:
        import torch

        original = cls.__init__

        def __init__(model, cfg, *args, **kwargs):
            key = self.key(cls, cfg, args, kwargs)
            original(model, cfg, *args, **kwargs)
            if key is not None:
                state = {n: t.detach() for n, t in model.state_dict(keep_vars=True).items()}
                self.kept[key] = (state, torch.get_rng_state())

        cls.__init__ = __init__
        self.original = original

    def replay(self, cls: type) -> None:
        import torch

        original, used = self.original, set()

        def __init__(model, cfg, *args, **kwargs):
            key = self.key(cls, cfg, args, kwargs)
            if key not in self.kept:
                return original(model, cfg, *args, **kwargs)
            state, rng_after = self.kept[key]
            shapes = {name: (t.shape, str(t.dtype).removeprefix("torch.")) for name, t in state.items()}
            rng_before = torch.get_rng_state()
            with skip_random_init():
                original(model, cfg)
            if not same_layout(model, shapes):
                torch.set_rng_state(rng_before)
                return original(model, cfg)
            for name, tensor in state.items():
                tensor = tensor.clone() if key in used else tensor  # two models never share memory
                owner_name, _, leaf = name.rpartition(".")
                owner = model.get_submodule(owner_name) if owner_name else model
                if leaf in owner._parameters:
                    owner._parameters[leaf] = torch.nn.Parameter(tensor, owner._parameters[leaf].requires_grad)
                else:
                    owner._buffers[leaf] = tensor
            used.add(key)
            torch.set_rng_state(rng_after)

        cls.__init__ = __init__


# ---------------------------------------------------------------- a saved notebook, in a child process

SKIP_WHEN_GRADING = "skip-when-grading"  # the grader's tag (sandbox/notebook.py), read here from the file
MAGIC_LINE = re.compile(r"^\s*[%!]")
PLAIN_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")


def _skipped(cell: dict) -> bool:
    """A cell the instructor tagged skip-when-grading (a training loop): no check depends on it."""
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and SKIP_WHEN_GRADING in tags


def code_cells(notebook: Path) -> list[tuple[int, str]]:
    """(position, code) of every code cell but those tagged skip-when-grading, counting every cell
    from 1 as the grader names them; the code as plain Python: IPython's own translation when
    IPython is installed (as in Jupyter and Colab), else magics and shell lines are left out."""
    cells = json.loads(notebook.read_text(encoding="utf-8-sig"))["cells"]
    sources = [(position, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
               for position, c in enumerate(cells, start=1) if c.get("cell_type") == "code" and not _skipped(c)]
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return [(position, _without_magics(source)) for position, source in sources]
    manager = TransformerManager()
    return [(position, manager.transform_cell(source)) for position, source in sources]


def _without_magics(source: str) -> str:
    lines = source.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("%%"):
        if lines[0].split()[0] not in PLAIN_CELL_MAGICS:
            return ""
        lines = lines[1:]
    return "\n".join("pass" if MAGIC_LINE.match(line) else line for line in lines)


def _setup_cells(checks: dict) -> list[str]:
    """The release notebook's own setup: its locked code cells that carry no points (trusted)."""
    release = json.loads((HERE / f"{checks['assignment']}.ipynb").read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in release["cells"]
            if c.get("cell_type") == "code" and c.get("metadata", {}).get("nbgrader", {}).get("locked")
            and not c["metadata"]["nbgrader"].get("grade") and not _skipped(c)]


def import_what_optimizers_need(folder: Path) -> None:
    """Import torch's compiler front end when the notebooks in ``folder`` use torch.optim.

    Building any optimizer imports torch._dynamo (torch.optim's add_param_group is wrapped by it):
    a second on its first use, in every notebook that trains. A warm process pays it once, before
    it forks, when the trusted release notebook names torch.optim; others never pay it.
    """
    if any("torch.optim" in path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("*.ipynb")):
        import torch._dynamo  # noqa: F401


def warm_up() -> dict:
    """Pay once what every run of a notebook pays: imports, the tokenizer, the checks, the model."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # before any op: a process with an intra-op pool must not fork
    _tokenizer()
    checks = load_checks()
    import_what_optimizers_need(HERE)
    try:
        code_cells(HERE / f"{checks['assignment']}.ipynb")  # imports IPython's translator, if it is there
        sys.path.insert(0, str(HERE))
        model_class = getattr(__import__(MODEL_MODULE), MODEL_CLASS)
        memo = ModelMemo()
        memo.record(model_class)
        scratch = {"__name__": "__warm__"}
        cwd = os.getcwd()
        os.chdir(HERE)
        try:
            for source in _setup_cells(checks):
                exec(compile(source, "<setup>", "exec"), scratch)
        finally:
            os.chdir(cwd)
        memo.replay(model_class)
    except Exception:  # noqa: BLE001 - without the memo, notebooks build their models themselves
        pass
    return {"checks": checks, "threads": threads}


def _child(notebook: Path, skip_cells: set[int], skip_functions: set[str], events, warm: dict) -> None:
    """Run the notebook's cells, then the checks, telling the parent what is running (it keeps time)."""
    import torch

    def tell(**event):
        events.write(json.dumps(event) + "\n")
        events.flush()

    torch.set_num_threads(warm["threads"])  # the warm process never ran a parallel op: a fresh pool is safe
    # As the grader runs it: in the assignment's folder (gpt2.py, tiktoken_cache/), wherever the file is.
    os.chdir(HERE)
    sys.path.insert(0, str(HERE))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for index, source in code_cells(notebook):
        if index in skip_cells:
            continue
        tell(event="cell", index=index, first_line=source.strip().split("\n")[0][:60])
        try:
            exec(compile(source, f"<cell {index}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - the notebook carries on, as the grader's run does
            if isinstance(exc, KeyboardInterrupt):
                raise
            tell(event="cell_error", index=index, error=_error_text(exc))
    checks = warm["checks"]
    for name in checks["functions"]:
        if name in skip_functions:
            continue
        tell(event="call", function=name)
        verdict = check_functions(namespace, {**checks, "functions": [name]})[name]
        tell(event="verdict", function=name, passed=verdict.passed, message=verdict.message,
             mistakes=verdict.mistakes)
    tell(event="done")


LINGER = 300.0  # seconds the shared warm process waits in the background for the next check


def _linger() -> float:
    try:
        return float(os.environ.get("CHECK_PY_LINGER", LINGER))
    except ValueError:
        return LINGER


def _warm() -> dict:
    os.environ[OUTSIDE] = "1"
    warm = warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    return warm


def serve_own(control: socket.socket) -> None:
    """The warm process of one ``python check.py`` alone (no linger): it ends with that command."""
    warm = _warm()
    control.sendall(b"ready\n")
    _serve_runs(control, warm)


def serve_shared(address: Path) -> None:
    """The shared warm process: listen at ``address``, warm up once, then take one check at a time
    until none comes for the linger time. A check connects while holding the address's lock, and the
    process leaves only while holding it too, after a last look for a waiting check: so a check that
    connected is always served, and the socket removed is always this process's own."""
    import fcntl

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))  # before warming up: the check that started us connects, and waits
    listener.listen(8)
    own = address.stat().st_ino
    warm = _warm()
    listener.settimeout(_linger())
    with open(_lock_path(address), "w") as lock:
        while True:
            try:
                control, _ = listener.accept()
            except (TimeoutError, socket.timeout):
                fcntl.flock(lock, fcntl.LOCK_EX)
                listener.setblocking(False)
                try:
                    control, _ = listener.accept()  # one that connected as we timed out
                except BlockingIOError:
                    break
                finally:
                    listener.settimeout(_linger())
                    fcntl.flock(lock, fcntl.LOCK_UN)
            with control:
                control.settimeout(None)
                try:
                    control.sendall(b"ready\n")
                    outcome = _serve_runs(control, warm, listener)
                except OSError:  # a check stopped with Ctrl-C, say: wait for the next one
                    outcome = None
                if outcome == "stop":
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    _remove(address, own)  # before the connection closes: the stop is done when it reads so
                    return
        _remove(address, own)


def _remove(address: Path, inode: int) -> None:
    try:
        if address.stat().st_ino == inode:
            address.unlink()
    except FileNotFoundError:
        pass


def _serve_runs(control: socket.socket, warm: dict, listener: socket.socket | None = None) -> str | None:
    """Fork a child per request, which runs one notebook and reports on the fds it was sent (events,
    stderr); the check keeps time and ends a child by its process group. "stop" when asked to end.
    A child keeps neither the connection nor the listener: one left running can answer no check."""
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 2)  # the fds come with the first byte
        if not message:
            return None
        request = json.loads(message + _line(control) if not message.endswith(b"\n") else message)
        if request.get("stop") or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            return "stop"
        pid = os.fork()
        if pid == 0:
            control.close()
            if listener is not None:
                listener.close()
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.dup2(fds[1], 2)
            try:
                with os.fdopen(fds[0], "w") as events:
                    _child(Path(request["notebook"]), set(request["skip_cells"]), set(request["skip_functions"]),
                           events, warm)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _line(sock: socket.socket) -> bytes:
    """The rest of one newline-ended message (empty if the other side is gone)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def background_address() -> Path:
    """Where the shared warm process for these files listens: a socket named by everything it loaded
    (this file, the checks, the modules beside them, the Python running it), in a folder of this
    user's that no one else may open. A changed file names another socket, so a process that loaded
    the old files is never used again (it ends after its linger time)."""
    key = hashlib.sha256(f"{sys.executable}\0{HERE}".encode())
    for path in sorted([*HERE.glob("*.py"), HERE / DATA, HERE / SUMMARY]):
        key.update(path.name.encode() + b"\0" + path.read_bytes())
    folder = Path(tempfile.gettempdir()) / f"course-kit-check-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise OSError(f"{folder} is not a folder that only you can open; set CHECK_PY_LINGER=0")
    return folder / f"{key.hexdigest()[:16]}.sock"  # short: macOS allows 104 bytes of path


def _lock_path(address: Path) -> Path:
    return address.with_suffix(".lock")


@contextlib.contextmanager
def _locked(address: Path):
    import fcntl  # not on Windows, where check() in the notebook must still import this file

    with open(_lock_path(address), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _connect(address: Path) -> socket.socket | None:
    """A connection to the warm process listening at ``address``, or None when none listens."""
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        control.connect(str(address))
        return control
    except (FileNotFoundError, ConnectionRefusedError):
        control.close()
        return None


def stop_background() -> str:
    """End the shared warm process for these files, if one is waiting; what happened, in words."""
    address = background_address()
    with _locked(address):
        control = _connect(address)
    if control is None:
        return "No checker was waiting in the background."
    with control:
        if _line(control) == b"ready\n":  # once warm, and once a check that holds it is done
            control.sendall(json.dumps({"stop": True}).encode() + b"\n")
            _line(control)
    return "Stopped the checker that was waiting in the background."


class WarmProcess:
    """A connection to a warm process, for all the notebooks one ``python check.py`` checks and every
    restart after a cell or call ran out of time.

    With a linger time (the default), the warm process is shared: the first check starts it, the
    next ones find it at ``background_address()``. With none, it is this command's own, and ends
    with it. ``started`` says whether this connection had to start one.
    """

    def __init__(self, linger: float | None = None):
        self.own = (_linger() if linger is None else linger) <= 0
        self.started = False
        for attempt in range(2):
            self.control = self._own() if self.own else self._shared()
            self.control.settimeout(600)
            try:
                ready = _line(self.control)
            except OSError:
                ready = b""
            self.control.settimeout(None)
            if ready == b"ready\n":
                return
            self.close()
        raise RuntimeError("the checker could not start torch; run `python -c \"import torch, tiktoken\"` to see why")

    def _start(self, *args: str, pass_fds=()) -> subprocess.Popen:
        self.started = True
        return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], pass_fds=pass_fds,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=HERE, start_new_session=True)

    def _own(self) -> socket.socket:
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process = self._start("--warm-fd", str(theirs.fileno()), pass_fds=(theirs.fileno(),))
        theirs.close()
        return control

    def _shared(self) -> socket.socket:
        """A connection to the shared warm process, started first if none listens."""
        address = background_address()
        with _locked(address):  # one check at a time connects, or starts it
            control = _connect(address)
            if control is not None:
                return control
            address.unlink(missing_ok=True)  # left by a process that was killed
            control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            process = self._start("--warm-socket", str(address))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    control.connect(str(address))
                    return control
                except (FileNotFoundError, ConnectionRefusedError):
                    time.sleep(0.01)
            control.close()
            raise RuntimeError("the checker's background process did not start; run `python -c \"import torch, "
                               "tiktoken\"` to see why")

    def run(self, notebook: Path, skip_cells: set[int], skip_functions: set[str]) -> tuple[int, int, int]:
        """Start one run of ``notebook``: (the child's pid, its events fd, its stderr fd) to read."""
        events_r, events_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        request = {"notebook": str(notebook.resolve()), "skip_cells": sorted(skip_cells),
                   "skip_functions": sorted(skip_functions)}
        socket.send_fds(self.control, [json.dumps(request).encode() + b"\n"], [events_w, stderr_w])
        os.close(events_w)
        os.close(stderr_w)
        return json.loads(_line(self.control))["pid"], events_r, stderr_r

    def close(self) -> None:
        """End this connection: a warm process of this command's own ends with it, a shared one waits."""
        self.control.close()
        if self.own:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


@dataclass
class NotebookCheck:
    """What checking one saved notebook found: a verdict per function, and what went wrong in its cells."""

    verdicts: dict[str, Verdict]
    notes: list[str]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts.values())


def check_notebook(notebook: Path, warm: WarmProcess | None = None, out=print) -> NotebookCheck:
    """Check a saved notebook; a run is ended, and the notebook run again without a cell or a
    function, when that cell or call runs past its time limit."""
    limits = summary_data()
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        out(text)

    try:
        code_cells(notebook)
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        reason = f"{notebook.name} cannot be read as a notebook ({type(exc).__name__}: {exc}); open it in Jupyter"
        verdicts = {name: Verdict(False, reason) for name in limits["functions"]}
        for name, verdict in verdicts.items():
            out(render(name, verdict))
        out(summary(verdicts))
        return NotebookCheck(verdicts, [reason])
    own = warm is None
    warm = warm or WarmProcess()
    skip_cells: set[int] = set()
    verdicts: dict[str, Verdict] = {}
    try:
        for _ in range(100):
            ran_out = _run_once(warm, notebook, skip_cells, verdicts, limits, out, note)
            if ran_out is None:
                break
            kind, what = ran_out
            if kind == "cell":
                skip_cells.add(what)
            else:
                verdicts[what] = Verdict(False, f"{what} took longer than {limits['call_timeout']:g} s; look for a "
                                                "loop that never ends.")
                out(render(what, verdicts[what]))
    finally:
        if own:
            warm.close()
    for name in limits["functions"]:
        if name not in verdicts:
            verdicts[name] = Verdict(False, f"{name} could not be checked: the notebook's process ended.")
            out(render(name, verdicts[name]))
    out(summary(verdicts))
    return NotebookCheck(verdicts, notes)


def _run_once(warm: WarmProcess, notebook: Path, skip_cells: set[int], verdicts: dict, limits: dict, out, note):
    """One run of the notebook; None when it finished, or what ran out of time: ("cell", i) or ("call", f)."""
    import selectors

    pid, events_fd, stderr_fd = warm.run(notebook, skip_cells, set(verdicts))
    tail = bytearray()
    selector = selectors.DefaultSelector()
    selector.register(events_fd, selectors.EVENT_READ)
    selector.register(stderr_fd, selectors.EVENT_READ)
    running, started, buffer = None, time.monotonic(), ""
    try:
        while True:
            limit = limits["cell_timeout"] if running and running[0] == "cell" else limits["call_timeout"]
            remaining = limit - (time.monotonic() - started) if running else 600
            ready = selector.select(timeout=max(remaining, 0)) if remaining > 0 else []
            if not ready:
                if running and running[0] == "cell":
                    note(f"Cell {running[1]} ran longer than {limits['cell_timeout']:g} s and was left out: "
                        f"{running[2]!r}")
                return running[:2] if running else None
            for key, _ in ready:
                chunk = os.read(key.fd, 65536)
                if key.fd == stderr_fd:
                    tail = (tail + chunk)[-2000:]
                    continue
                if not chunk:
                    lines = tail.decode(errors="replace").strip().splitlines()[-3:]
                    note("The notebook's process ended before the checks finished"
                        + (": " + " | ".join(lines) if lines else "."))
                    return None
                buffer += chunk.decode()
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    event = json.loads(line)
                    started = time.monotonic()
                    if event["event"] == "cell":
                        running = ("cell", event["index"], event["first_line"])
                    elif event["event"] == "cell_error":
                        note(f"Cell {event['index']} raised {event['error']}")
                    elif event["event"] == "call":
                        running = ("call", event["function"])
                    elif event["event"] == "verdict":
                        verdict = Verdict(event["passed"], event["message"], [tuple(m) for m in event["mistakes"]])
                        verdicts[event["function"]] = verdict
                        out(render(event["function"], verdict))
                        running = None
                    elif event["event"] == "done":
                        return None
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        selector.close()
        os.close(events_fd)
        os.close(stderr_fd)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--warm-fd"]:
        serve_own(socket.socket(fileno=int(argv[1])))
        return 0
    if argv[:1] == ["--warm-socket"]:
        serve_shared(Path(argv[1]))
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv == ["--stop"]:
        print(stop_background() if hasattr(os, "fork") else "No checker waits in the background here.")
        return 0
    classroom = "--classroom" in argv
    argv = [arg for arg in argv if arg != "--classroom"]
    notebooks = [Path(arg) for arg in argv] or [HERE / f"{summary_data()['assignment']}.ipynb"]
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        print(f"No notebook at {', '.join(missing)}. Usage: python check.py [NOTEBOOK.ipynb ...] (default: the "
              "assignment's notebook beside check.py)")
        return 2
    if not hasattr(os, "fork"):
        print("python check.py needs Linux or macOS (it forks a process per run). Here, run the notebook's "
              "last cell, check(), instead.")
        return 2
    try:
        warm = WarmProcess(linger=0 if classroom else None)  # a workflow run checks once: nothing to keep
    except (RuntimeError, OSError) as exc:
        print(f"The checker could not start: {exc}")
        return 2
    if warm.started and not warm.own:
        print(f"(Started the checker in the background, so that your next checks start faster. It ends after "
              f"{_linger() / 60:g} minutes without one; `python check.py --stop` ends it now.)", flush=True)
    try:
        passed = []
        for notebook in notebooks:
            print(f"Checking {notebook.name} (the visible checks; the grader also runs hidden ones)", flush=True)
            checked = check_notebook(notebook, warm, out=lambda line: print(line, flush=True))
            passed.append(checked.passed)
            if classroom:
                report_check_to_classroom(checked, notebook)
    finally:
        warm.close()
    # In a workflow, a failed check is reported as points, not as a failed step (the reporter runs next).
    return 0 if all(passed) or classroom else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
