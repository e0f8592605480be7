"""A student's notebook as the graded checks see it: call a function, get a plain value back.

``Submission`` runs the notebook in a ``StudentProcess`` on first use and keeps it for every check.
It turns everything that can go wrong on the student's side into a ``StudentCodeFailed`` whose
message says what to fix: a missing or misnamed function, a wrong signature, an exception (with
its cell and line), a time limit. A function whose call hung or killed the process is not called
again; its remaining checks fail at once, and the process is restarted for the other functions.

A cell that hangs or ends the process costs only itself: the notebook runs again from the top
without it (a fork of the warm zygote, so the replay costs the earlier cells' time, not a new
interpreter), and every later restart leaves it out too.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from autograder.assignment import Assignment
from autograder.sandbox.inside import student_check, wire
from autograder.sandbox.notebook import Notebook
from autograder.sandbox.student_process import (
    CallReply,
    FunctionInfo,
    NotebookRun,
    StudentError,
    StudentProcess,
    StudentProcessEnded,
)
from autograder.settings import Settings

POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


class StudentCodeFailed(Exception):
    """A check cannot pass because of the student's code; the message is for the student."""


def describe_value(value: Any) -> str:
    """A short, readable description of an argument or a result (the students' checker words it the same)."""
    if isinstance(value, wire.Ref):
        return "tokenizer" if value.name.startswith("tiktoken:") else repr(value)
    return student_check.describe(value)


class Submission:
    """One notebook under grading. Close it (or use it as a context manager) to end its process."""

    def __init__(self, notebook: Notebook, assignment: Assignment, settings: Settings = Settings()):
        self.notebook, self.assignment, self.settings = notebook, assignment, settings.fitted(assignment)
        self.process: StudentProcess | None = None
        self._run: NotebookRun | None = None
        self._sandbox = None  # the zygote this submission forks from
        self._own_sandbox = False
        self.broken: dict[str, str] = {}  # function -> why it is not called again
        self.skipped: dict[int, str] = {}  # cell -> why it is left out of every run
        self.restarts = 0
        self.sandboxed = False

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _end_process(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None

    def close(self) -> None:
        self._end_process()
        if self._own_sandbox and self._sandbox is not None:
            self._sandbox.close()
        self._sandbox = None

    @property
    def run(self) -> NotebookRun:
        """The result of running the notebook's cells: run on first use, again after a restart."""
        alive = self.process is not None and self.process.alive
        if not alive and not (self._run is not None and self._run.stopped):
            self._start()
        return self._run

    def _zygote(self):
        """The batch worker's zygote, or one of this submission's own that outlives its restarts."""
        from autograder.sandbox.warm_sandbox import shared_sandbox, take

        if self._sandbox is None:
            if self.settings.keep_zygote:
                self._sandbox = shared_sandbox(self.assignment, self.settings)
            else:
                self._sandbox, self._own_sandbox = take(self.assignment.release_dir, self.settings), True
        return self._sandbox

    def _start(self) -> None:
        """Run the notebook, leaving out every cell that hung or ended the process, until it runs through.

        The notebook limit bounds all the attempts together; it is the backstop, not the cost of a hang.
        """
        self._end_process()
        if self._run is not None:
            self.restarts += 1
        names = tuple(f.name for f in self.assignment.functions)
        own_file = (self.notebook.file_name, self.notebook.file_bytes) if self.notebook.file_name else None
        deadline = time.monotonic() + self.settings.notebook_timeout
        while True:
            self.process = StudentProcess(self.assignment.release_dir, warm=self._zygote())
            self.process.start()
            self.sandboxed = self.process.sandboxed
            cells = tuple(c for c in self.notebook.cells if c.index not in self.skipped)
            left = max(deadline - time.monotonic(), 0.0)
            run = self.process.run_notebook(cells, names, left, own_file, self.settings.cell_timeout)
            if not (run.stopped and run.cell_to_blame and time.monotonic() < deadline):
                break
            self.skipped[run.stopped_in] = run.stopped
            self._end_process()
        if run.out_of_time:  # say the notebook's limit, not what was left of it for the last attempt
            run = replace(run, stopped=f"the notebook did not finish within {self.settings.notebook_timeout:g} s")
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
                f"`{name}` is a {info.type_name}, not a function. Define it with `def {name}(...)`.")
        self._check_signature(name, info)
        return info

    def _missing_message(self, name: str, run: NotebookRun) -> str:
        message = f"`{name}` is not defined."
        for index, why in run.skipped.items():
            cell_source = next((c for c in self.notebook.cells if c.index == index), None)
            if cell_source is not None and f"def {name}" in cell_source.source:
                return (f"{message} {self.notebook.describe(index)} was skipped ({why}), so `{name}` was "
                        "never defined. Make that cell finish quickly.")
        if not any(info.defined for info in run.functions.values()):
            wanted = ", ".join(f"`{f.name}`" for f in self.assignment.functions)
            return (f"{message} This file defines none of the assignment's functions ({wanted}): it does not "
                    f"look like the {self.assignment.name} notebook. Check that you submitted the right file.")
        for cell in run.cells:
            cell_source = next((c for c in self.notebook.cells if c.index == cell.index), None)
            if cell.error and cell_source is not None and f"def {name}" in cell_source.source:
                return (f"{message} {self.notebook.describe(cell.index)} failed with {cell.error.summary()}"
                        f"{f' (line {cell.error.line})' if cell.error.line else ''}, so `{name}` was never defined. "
                        "Fix that cell.")
        close = difflib.get_close_matches(name, list(run.defined), n=1, cutoff=0.6)
        if close:
            return (f"{message} {self.notebook.describe(run.defined[close[0]])} defines `{close[0]}`; "
                    f"the assignment expects `{name}`. Rename it.")
        return f"{message} Write it in its answer cell (look for `def {name}`) and run the notebook again."

    def _check_signature(self, name: str, info: FunctionInfo) -> None:
        expected = self.assignment.function(name).params
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
        raise StudentCodeFailed(
            f"`{name}` must take {len(expected)} argument{'s' * (len(expected) != 1)} "
            f"({', '.join(expected)}); yours takes ({yours}). Change the `def {name}(...)` line.")

    # -------------------------------------------------------------- calls

    def call_traced(self, name: str, *args: Any, after: tuple[int, ...] = (),
                    stand_in: dict[str, str] | None = None, ops: bool = True, repeat: int = 1) -> CallReply:
        """Call a student function; the reply carries its value, the torch ops it ran and, for the
        arguments in ``after`` (models built in the sandbox), their parameters once it returned.
        ``stand_in`` replaces notebook functions it calls with the kit's for this call (so a
        mistake in those costs only their own points; see ``student_check.standing_in``)."""
        self.require(name)
        call = f"`{name}({', '.join(describe_value(a) for a in args)})`"
        try:
            reply = self.process.call(name, list(args), self.settings.call_timeout, after, stand_in, ops, repeat)
        except StudentProcessEnded as ended:
            if ended.timed_out:
                reason = f"{call} did not return within {self.settings.call_timeout:g} s (an endless loop?)"
            else:
                reason = f"{call} ended the notebook's process: {ended.reason}"
            self.broken[name] = f"Not run again: an earlier call failed. {reason}."
            self._end_process()
            raise StudentCodeFailed(reason + ".") from None
        if reply.error is not None:
            advice = f" {reply.error.advice}" if reply.error.advice else ""
            raise StudentCodeFailed(f"{call} raised {reply.error.summary()}{self._where(reply.error)}.{advice}")
        return reply

    def call(self, name: str, *args: Any) -> Any:
        """The value a student function returns for ``args`` (plain data only)."""
        return self.call_traced(name, *args).value

    def _where(self, error: StudentError) -> str:
        if error.cell is None:
            return ""
        return f" in {self.notebook.describe(error.cell)}, line {error.line}"


def open_submission(path: Path, assignment: Assignment, settings: Settings = Settings()) -> Submission:
    """A Submission for a notebook file; raises UnusableNotebook for files that are not notebooks."""
    from autograder.sandbox.notebook import load

    notebook = load(path, assignment.release_dir / assignment.notebook_name, settings.max_notebook_bytes)
    return Submission(notebook, assignment, settings)
