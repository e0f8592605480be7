"""One notebook under checking: run its cells once, then call its functions, with the messages a
student reads when that cannot be done.

``Session`` runs the notebook in a runner process (a ``Channel``) on first use and keeps it for
every call. It turns everything that can go wrong on the student's side into a ``StudentCodeFailed``
whose message says what to fix: a missing or misnamed function, a wrong signature, an exception
(with its cell and line), a time limit. A function whose call hung or killed the process is not
called again; its remaining checks fail at once, and the process is restarted for the others.

A cell that hangs or ends the process costs only itself: the notebook runs again from the top
without it, and every later restart leaves it out too. Each function's calls go to a fork of the
process as the cells left it (``Channel.isolate``), so one function's checks cannot change the
next one's. The grader (``checks/submission.py``) and the students' ``python check.py`` both drive
notebooks with this class, so both say the same things for the same notebook.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from .cells import Notebook
from .channel import CallReply, Channel, FunctionInfo, NotebookRun, StudentError, StudentProcessEnded

POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


class StudentCodeFailed(Exception):
    """A check cannot pass because of the student's code; the message is for the student."""


@dataclass(frozen=True)
class Limits:
    """Seconds: one call of a student function, one cell (a slower one is skipped), all the cells."""

    call: float
    cell: float
    notebook: float = 300.0


class Session:
    """One notebook under checking. Close it (or use it as a context manager) to end its process.

    ``contract``: each function's (or class's) name and parameters, in order; ``classes``: the names
    in it that are classes; ``new_channel``: a Channel not yet started, forked where the notebook must
    run (the grader's sandbox, the student's warm process).
    """

    def __init__(self, notebook: Notebook, contract: dict[str, tuple[str, ...]], assignment_name: str,
                 limits: Limits, new_channel: Callable[[], Channel], classes: frozenset[str] = frozenset()):
        self.notebook, self.contract, self.assignment_name = notebook, contract, assignment_name
        self.classes = frozenset(classes)
        self.limits, self.new_channel = limits, new_channel
        self.process: Channel | None = None
        self._run: NotebookRun | None = None
        self.broken: dict[str, str] = {}  # function -> why it is not called again
        self.failed: set[str] = set()  # functions that failed a check: their callers get stand-ins
        self.changed: set[str] = set()  # torch's or the kit's class attributes the notebook changed (guard)
        self.skipped: dict[int, str] = {}  # cell -> why it is left out of every run
        self.restarts = 0
        self.sandboxed = False
        self.checking: str | None = None  # the function whose fork answers calls now
        self.checking_in_notebook = False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _end_process(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None
        self.checking = None
        self.checking_in_notebook = False  # calls went to the notebook's process itself, not to a fork

    def close(self) -> None:
        self._end_process()

    @property
    def run(self) -> NotebookRun:
        """The result of running the notebook's cells: run on first use, again after a restart."""
        alive = self.process is not None and self.process.alive
        if not alive and not (self._run is not None and self._run.stopped):
            self._start()
        return self._run

    def _start(self) -> None:
        """Run the notebook, leaving out every cell that hung or ended the process, until it runs through.

        The notebook limit bounds all the attempts together; it is the backstop, not the cost of a hang.
        """
        self._end_process()
        if self._run is not None:
            self.restarts += 1
        names = tuple(self.contract)
        own_file = (self.notebook.file_name, self.notebook.file_bytes) if self.notebook.file_name else None
        deadline = time.monotonic() + self.limits.notebook
        while True:
            self.process = self.new_channel()
            self.process.start()
            self.sandboxed = self.process.sandboxed
            cells = tuple(c for c in self.notebook.cells if c.index not in self.skipped)
            left = max(deadline - time.monotonic(), 0.0)
            run = self.process.run_notebook(cells, names, left, own_file, self.limits.cell)
            if not (run.stopped and run.cell_to_blame and time.monotonic() < deadline):
                break
            self.skipped[run.stopped_in] = run.stopped
            self._end_process()
        if run.out_of_time:  # say the notebook's limit, not what was left of it for the last attempt
            run = replace(run, stopped=f"the notebook did not finish within {self.limits.notebook:g} s")
        self._run = replace(run, skipped=dict(self.skipped))
        if run.stopped:
            self._end_process()

    # -------------------------------------------------------------- checks of the contract

    def require(self, name: str) -> FunctionInfo:
        """The function's info, or StudentCodeFailed saying why it cannot be called."""
        if name in self.broken:
            raise StudentCodeFailed(self.broken[name])
        run = self.run
        if run.stopped and name not in run.functions:
            where = f" while {self.notebook.describe(run.stopped_in)} was running" if run.stopped_in else ""
            raise StudentCodeFailed(f"Your notebook could not be graded: {run.stopped}{where}. "
                                    "Fix that cell so the whole notebook runs from top to bottom.")
        info = run.functions[name]
        if not info.defined:
            raise StudentCodeFailed(self._missing_message(name, run))
        if not info.callable:
            raise StudentCodeFailed(
                f"`{name}` is a {info.type_name}, not a {self._what(name)}. Define it with `{self._line(name)}`.")
        if (name in self.classes) != info.is_class:
            got = "class" if info.is_class else "function"
            raise StudentCodeFailed(f"`{name}` is a {got}; the assignment expects a {self._what(name)}. Define it "
                                    f"with `{self._line(name)}`.")
        self._check_signature(name, info)
        return info

    def _missing_message(self, name: str, run: NotebookRun) -> str:
        message = f"`{name}` is not defined."
        for index, why in run.skipped.items():
            cell_source = next((c for c in self.notebook.cells if c.index == index), None)
            if cell_source is not None and self._keyword(name) in cell_source.source:
                return (f"{message} {self.notebook.describe(index)} was skipped ({why}), so `{name}` was "
                        "never defined. Make that cell finish quickly.")
        for cell in run.cells:
            cell_source = next((c for c in self.notebook.cells if c.index == cell.index), None)
            if cell.error and cell_source is not None and self._keyword(name) in cell_source.source:
                return (f"{message} {self.notebook.describe(cell.index)} failed with {cell.error.summary()}"
                        f"{f' (line {cell.error.line})' if cell.error.line else ''}, so `{name}` was never defined. "
                        "Fix that cell.")
        close = difflib.get_close_matches(name, list(run.defined), n=1, cutoff=0.6)
        if close:
            return (f"{message} {self.notebook.describe(run.defined[close[0]])} defines `{close[0]}`; "
                    f"the assignment expects `{name}`. Rename it.")
        if not any(info.defined for info in run.functions.values()):
            wanted = ", ".join(f"`{f}`" for f in self.contract)
            return (f"{message} This file defines none of the assignment's functions ({wanted}): it does not "
                    f"look like the {self.assignment_name} notebook. Check that you submitted the right file.")
        return f"{message} Write it in its answer cell (look for `{self._keyword(name)}`) and run the notebook again."

    def _what(self, name: str) -> str:
        return "class" if name in self.classes else "function"

    def _keyword(self, name: str) -> str:
        return f"class {name}" if name in self.classes else f"def {name}"

    def _line(self, name: str) -> str:
        return f"class {name}(...)" if name in self.classes else f"def {name}(...)"

    def _check_signature(self, name: str, info: FunctionInfo) -> None:
        expected = self.contract[name]
        if info.params is None:
            return
        positional = [p for p in info.params if p[1] in POSITIONAL]
        required = [p for p in positional if not p[2]]
        required_kw = [p for p in info.params if p[1] == "KEYWORD_ONLY" and not p[2]]
        takes_varargs = any(p[1] == "VAR_POSITIONAL" for p in info.params)
        fits = len(required) <= len(expected) and (takes_varargs or len(positional) >= len(expected))
        if fits and not required_kw:
            return
        yours = ", ".join(p[0] for p in info.params)
        line = f"`def __init__(...)` line of `class {name}`" if name in self.classes else f"`def {name}(...)` line"
        raise StudentCodeFailed(
            f"`{name}` must take {len(expected)} argument{'s' * (len(expected) != 1)} "
            f"({', '.join(expected)}); yours takes ({yours}). Change the {line}.")

    def _check_keywords(self, name: str, info: FunctionInfo, kwargs: dict) -> None:
        """The parameters a check passes by name, as the notebook's own examples do, must have the
        contract's names: say so, rather than show Python's TypeError."""
        if (not kwargs or name in self.classes or info is None or info.params is None
                or any(p[1] == "VAR_KEYWORD" for p in info.params)):
            return
        names = {p[0] for p in info.params if p[1] in (*POSITIONAL, "KEYWORD_ONLY")}
        unknown = [key for key in kwargs if key not in names]
        if unknown:
            yours = ", ".join(p[0] for p in info.params)
            raise StudentCodeFailed(
                f"`{name}` must have the parameter{'s' * (len(unknown) > 1)} {', '.join(f'`{u}`' for u in unknown)} "
                f"(the notebook's examples pass {'them' if len(unknown) > 1 else 'it'} by name); yours are ({yours}). "
                f"Use the names of the `def {name}(...)` line you were given.")

    # -------------------------------------------------------------- calls

    def call_traced(self, name: str, *args: Any, after: tuple = (), watch: tuple = (),
                    stand_in: dict[str, str] | None = None,
                    ops: bool = True, repeat: int = 1, build: dict | None = None,
                    method: str | None = None, shown: str | None = None, kwargs: dict | None = None,
                    grad: bool = True) -> CallReply:
        """Call a student function; the reply carries its value, the torch ops it ran and, for the
        arguments in ``after`` (models built where the notebook runs), their parameters once it returned.
        ``stand_in`` replaces notebook functions it calls with the kit's for this call (so a
        mistake in those costs only their own points; see ``inputs.standing_in``)."""
        from .values import describe

        info = self.require(name)
        self._check_keywords(name, info, kwargs or {})
        named = [f"{key}={describe(value)}" for key, value in (kwargs or {}).items()]
        call = f"`{shown}`" if shown else f"`{name}({', '.join([*(describe(a) for a in args), *named])})`"
        try:
            if self.checking != name:
                self._fresh_process_for(name)
            reply = self.process.call(name, list(args), self.limits.call, after, stand_in, ops, repeat, build, method,
                                      kwargs, grad, watch)
            self.changed.update(reply.changed)
        except StudentProcessEnded as ended:
            if ended.timed_out:
                reason = f"{call} did not return within {self.limits.call:g} s (an endless loop?)"
            else:
                reason = f"{call} ended the notebook's process: {ended.reason}"
            self.broken[name] = f"Not run again: an earlier call failed. {reason}."
            if ended.process_alive:  # the notebook's process, as its cells left it, answers the next function
                self.checking = None
            else:
                self._end_process()
            raise StudentCodeFailed(reason + ".") from None
        if reply.error is not None:
            advice = f" {reply.error.advice}" if reply.error.advice else ""
            raise StudentCodeFailed(f"{call} raised {reply.error.summary()}{self._where(reply.error)}.{advice}")
        return reply

    def _fresh_process_for(self, name: str) -> None:
        """A fresh fork of the notebook's process, as its cells left it, for each function's checks; the
        last function's run in that process itself, since nothing is checked after it (a fork costs tens
        of milliseconds with a large model in memory). Checked out of that order, it runs again."""
        if self.checking_in_notebook:
            self._end_process()
            self.require(name)
        if name == list(self.contract)[-1]:
            self.process.release()
            self.checking_in_notebook = True
        else:
            self.process.isolate()
        self.checking = name

    def call(self, name: str, *args: Any) -> Any:
        """The value a student function returns for ``args`` (plain data only)."""
        return self.call_traced(name, *args).value

    def _where(self, error: StudentError) -> str:
        if error.cell is None:
            return ""
        return f" in {self.notebook.describe(error.cell)}, line {error.line}"

    # -------------------------------------------------------------- what the student reads about the run

    def notes(self) -> list[str]:
        """What went wrong in the notebook's cells, in their order: errors, skipped cells, an early stop."""
        if self._run is None:
            return list(self.notebook.notes)
        describe = self.notebook.describe
        by_cell = [(cell.index, self._cell_note(cell.index, cell.error)) for cell in self._run.cells
                   if cell.error is not None]
        by_cell += [(index, f"{describe(index)} was skipped: {why}. The notebook ran again without it, so only "
                            "what that cell does is lost.") for index, why in self._run.skipped.items()]
        notes = list(self.notebook.notes) + [note for _, note in sorted(by_cell, key=lambda pair: pair[0] or 0)]
        if self._run.stopped:
            notes.append(f"The notebook stopped early: {self._run.stopped}.")
        if self.changed:
            notes.append(changed_note(self.changed))
        return notes

    def _cell_note(self, index: int, error: StudentError) -> str:
        describe = self.notebook.describe
        if error.cell is not None and error.cell != index:
            where = f" (from {describe(error.cell)}, line {error.line})"
        else:
            where = f" (line {error.line})" if error.line else ""
        return f"{describe(index)} raised {error.summary()}{where}; the cells after it still ran."


def changed_note(changed: set[str]) -> str:
    """What a student reads when the notebook changed torch's or the kit's classes (``guard``)."""
    return (f"Your notebook changes classes of torch or of the kit ({', '.join(sorted(changed)[:8])}). The checks "
            "put them back as they were and used the originals; your instructor will look at the notebook.")
