"""Check your answers before you submit them: the assignment's visible checks, on your machine.

This file ships beside the notebook (it is the kit's ``autograder/student_check.py``, copied as
``check.py`` when the release is generated) with ``checks.pt``: the visible checks as data, their
inputs and expected values computed by the kit from the reference answers. Neither carries an
answer. The grader judges its visible checks with the functions below, so the verdicts, messages
and hints here are the grader's own.

Two ways to use it:

    python check.py [NOTEBOOK]          the saved notebook, run in a child process with a time
                                        limit per cell and per call; exit status 0 when all pass
    from check import check; check()    in the notebook: the functions of the running kernel

Only the standard library is imported here at the top; torch and tiktoken, which the notebook
needs anyway, are imported where the notebook's code runs. This is a self-check: the grade comes
from the grader, which runs the visible checks and hidden ones in its sandbox.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
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
    if type(value).__name__ == "Unsupported" and hasattr(value, "type_name"):  # the grader's wire stand-in
        return f"a {value.type_name} object"
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


def failure(expectation: dict, shown: str, value: Any, ops: set) -> str | None:
    """The message for ``value`` failing one expectation of a call shown as ``shown``, or None if it holds.

    Expectations are plain data: {"tensor": {dtype, shape, hint}}, {"str": True}, {"equal": ...},
    {"close": tensor, "rtol", "atol"?, "row"?, "what"}, {"no_ops": [aten op names], "what"}.
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
    if "equal" in expectation:
        expected = expectation["equal"]
        if isinstance(expected, str):
            return None if value == expected else f"{shown} returned {value!r}; expected {expected!r}."
        return None if torch.equal(value, expected) else (
            f"{shown} returned {value.tolist()}; expected {expected.tolist()}.")
    if "close" in expectation:
        expected = expectation["close"]
        if "row" in expectation:
            value = value[expectation["row"]]
        if _isclose(value, expected, expectation["rtol"], expectation.get("atol", 0.0)):
            return None
        return f"{expectation['what']}: expected {numbers(expected.to(torch.float64))}, got {numbers(value.to(torch.float64))}."
    if "no_ops" in expectation:
        used = sorted(ops & set(expectation["no_ops"]))
        return f"{shown} used {expectation['what']} ({', '.join(used)})." if used else None
    raise ValueError(f"unknown expectation {sorted(expectation)}")


def matches(matcher: dict, value: Any, error: str, ops: set) -> bool:
    """Whether a call's outcome shows a known mistake, as described by ``matcher`` (plain data).

    A matcher recognises a mistake by what came back, never by the student's code: the wrong value
    the mistake would give (computed by the kit for these inputs), an error, or an op it ran.
    """
    import torch

    kind, arg = next(iter(matcher.items()))
    if kind == "any":
        return any(matches(m, value, error, ops) for m in arg)
    if kind == "all":
        return all(matches(m, value, error, ops) for m in arg)
    if kind == "not":
        return not matches(arg, value, error, ops)
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
    if kind == "same_values":
        return value.dim() == arg["dim"] and value.tolist() == arg["values"]
    if kind == "floating":
        return value.is_floating_point()
    if kind == "nan_scalar":
        return value.is_floating_point() and value.numel() == 1 and math.isnan(float(value))
    if kind == "columns":
        return value.dim() == 2 and value.shape[1] == arg
    raise ValueError(f"unknown matcher {kind!r}")


def judge(call: dict, value: Any = None, error: str = "", ops: set = frozenset()) -> Verdict:
    """The verdict on one call: ``value`` came back, or ``error`` was raised (a message), with ``ops`` run."""
    if error:
        message = error
    else:
        message = next((m for m in (failure(e, call["shown"], value, ops) for e in call["expect"]) if m), None)
        if message is None:
            return Verdict(True)
    found = []
    for mistake in call["mistakes"]:
        try:
            if matches(mistake["when"], value, error, ops):
                found.append((mistake["name"], mistake["text"]))
        except Exception:  # noqa: BLE001 - an odd value must not break feedback
            continue
    return Verdict(False, message, found)


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

    return [_tokenizer() if is_tokenizer(arg) else arg.clone() if isinstance(arg, torch.Tensor) else arg
            for arg in call["args"]]


def is_tokenizer(arg: Any) -> bool:
    return isinstance(arg, dict) and arg == TOKENIZER


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


class CallTimedOut(Exception):
    pass


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def call_and_judge(function, call: dict, limit: float | None = None) -> Verdict:
    """Call a student function on the check's inputs, then judge it; ``limit`` seconds at most
    (enforced with an alarm, so only from the main thread)."""
    recorder, value, error = record_ops(), None, ""
    alarm = limit and hasattr(signal, "setitimer") and _main_thread()
    if alarm:
        previous = signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        with recorder:
            value = function(*_arguments(call))
    except CallTimedOut:
        error = f"{call['shown']} took longer than {limit:g} s; look for a loop that never ends."
    except Exception as exc:  # noqa: BLE001 - the student's exception is the answer
        error = f"{call['shown']} raised {_error_text(exc)}"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return judge(call, value, error, recorder.ops)


def _main_thread() -> bool:
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
                verdict = call_and_judge(function, call, limit)
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


# ---------------------------------------------------------------- a saved notebook, in a child process

MAGIC_LINE = re.compile(r"^\s*[%!]")
PLAIN_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")


def code_cells(notebook: Path) -> list[str]:
    """The code of every code cell, as plain Python: IPython's own translation when IPython is
    installed (as in Jupyter and Colab), else magics and shell lines are left out."""
    cells = json.loads(notebook.read_text(encoding="utf-8-sig"))["cells"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells if c.get("cell_type") == "code"]
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return [_without_magics(source) for source in sources]
    manager = TransformerManager()
    return [manager.transform_cell(source) for source in sources]


def _without_magics(source: str) -> str:
    lines = source.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("%%"):
        if not lines[0].split()[0] in PLAIN_CELL_MAGICS:
            return ""
        lines = lines[1:]
    return "\n".join("pass" if MAGIC_LINE.match(line) else line for line in lines)


def _child(notebook: Path, skip_cells: set[int], skip_functions: set[str], events) -> None:
    """Run the notebook's cells, then the checks, telling the parent what is running (it keeps time)."""

    def tell(**event):
        events.write(json.dumps(event) + "\n")
        events.flush()

    os.chdir(notebook.parent)
    sys.path.insert(0, str(notebook.parent))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for index, source in enumerate(code_cells(notebook)):
        if index in skip_cells:
            continue
        tell(event="cell", index=index, first_line=source.strip().split("\n")[0][:60])
        try:
            exec(compile(source, f"<cell {index + 1}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - the notebook carries on, as the grader's run does
            if isinstance(exc, KeyboardInterrupt):
                raise
            tell(event="cell_error", index=index, error=_error_text(exc))
    checks = load_checks()
    for name in checks["functions"]:
        if name in skip_functions:
            continue
        tell(event="call", function=name)
        verdict = check_functions(namespace, {**checks, "functions": [name]})[name]
        tell(event="verdict", function=name, passed=verdict.passed, message=verdict.message,
             mistakes=verdict.mistakes)
    tell(event="done")


def check_notebook(notebook: Path, out=print) -> bool:
    """Check a saved notebook; the child is ended and restarted without a cell, or a function, that
    runs past its time limit."""
    limits = summary_data()
    cell_limit, call_limit = limits["cell_timeout"], limits["call_timeout"]
    try:
        code_cells(notebook)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = f"{notebook.name} cannot be read as a notebook ({type(exc).__name__}: {exc}); open it in Jupyter"
        verdicts = {name: Verdict(False, reason) for name in limits["functions"]}
        for name, verdict in verdicts.items():
            out(render(name, verdict))
        out(summary(verdicts))
        return False
    skip_cells: set[int] = set()
    verdicts: dict[str, Verdict] = {}
    for _ in range(50):
        outcome = _run_child(notebook, skip_cells, set(verdicts), cell_limit, call_limit, verdicts, out)
        if outcome is None:
            break
        kind, what = outcome
        if kind == "cell":
            skip_cells.add(what)
        else:
            verdicts[what] = Verdict(False, f"{what} took longer than {call_limit:g} s; look for a loop that "
                                            "never ends.")
            out(render(what, verdicts[what]))
    for name in limits["functions"]:
        if name not in verdicts:
            verdicts[name] = Verdict(False, f"{name} could not be checked: the notebook's process ended.")
            out(render(name, verdicts[name]))
    out(summary(verdicts))
    return all(v.passed for v in verdicts.values())


def _run_child(notebook, skip_cells, skip_functions, cell_limit, call_limit, verdicts, out):
    """One run of the child; None when it finished, or what ran out of time: ("cell", i) or ("call", f)."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(notebook.resolve()),
            ",".join(map(str, sorted(skip_cells))), ",".join(sorted(skip_functions))]
    read, write = os.pipe()
    child = subprocess.Popen(argv, pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env={**os.environ, "CHECK_EVENTS_FD": str(write), OUTSIDE: "1"},
                             start_new_session=True)
    threading.Thread(target=_keep_tail, args=(child,), daemon=True).start()
    os.close(write)
    running, started = None, time.monotonic()
    with os.fdopen(read) as events:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(events, selectors.EVENT_READ)
        buffer = ""
        while True:
            limit = cell_limit if running and running[0] == "cell" else call_limit
            remaining = limit - (time.monotonic() - started) if running else 600
            if remaining <= 0 or not selector.select(timeout=remaining):
                _kill(child)
                if running is None:
                    return None
                if running[0] == "cell":
                    out(f"Cell {running[1] + 1} ran longer than {cell_limit:g} s and was left out: "
                        f"{running[2]!r}")
                return running[:2]
            chunk = os.read(events.fileno(), 65536).decode()
            if not chunk:
                child.wait()
                time.sleep(0.05)  # the last of stderr
                tail = getattr(child, "stderr_tail", b"").decode(errors="replace").strip().splitlines()[-3:]
                out(f"The notebook's process ended (exit status {child.returncode}) before the checks finished"
                    + (": " + " | ".join(tail) if tail else "."))
                return None
            buffer += chunk
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                event = json.loads(line)
                started = time.monotonic()
                if event["event"] == "cell":
                    running = ("cell", event["index"], event["first_line"])
                elif event["event"] == "cell_error":
                    out(f"Cell {event['index'] + 1} raised {event['error']}")
                elif event["event"] == "call":
                    running = ("call", event["function"])
                elif event["event"] == "verdict":
                    verdict = Verdict(event["passed"], event["message"], [tuple(m) for m in event["mistakes"]])
                    verdicts[event["function"]] = verdict
                    out(render(event["function"], verdict))
                    running = None
                elif event["event"] == "done":
                    child.wait()
                    return None


def _keep_tail(child: subprocess.Popen) -> None:
    """The end of what the notebook wrote on stderr: shown if its process ends before the checks do."""
    child.stderr_tail = b""
    for chunk in iter(lambda: child.stderr.read(4096), b""):
        child.stderr_tail = (child.stderr_tail + chunk)[-2000:]


def _kill(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        notebook, cells, functions = argv[1], argv[2], argv[3]
        with os.fdopen(int(os.environ["CHECK_EVENTS_FD"]), "w") as events:
            _child(Path(notebook), {int(i) for i in cells.split(",") if i},
                   set(filter(None, functions.split(","))), events)
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    notebook = Path(argv[0]) if argv else HERE / f"{summary_data()['assignment']}.ipynb"
    if not notebook.is_file():
        print(f"No notebook at {notebook}. Usage: python check.py [NOTEBOOK.ipynb] (default: the assignment's "
              "notebook beside check.py)")
        return 2
    print(f"Checking {notebook.name} (the visible checks; the grader also runs hidden ones)")
    return 0 if check_notebook(notebook) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
