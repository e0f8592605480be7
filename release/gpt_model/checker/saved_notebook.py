"""Checking one saved notebook, as the grader checks it: read and sanitized against the release copy
(``cells``), run by the grader's own runner in forks of this process (``local_runner``), driven by the
grader's own ``Session`` and judged by the grader's own ``check_call``; then the report a student
reads, and GitHub Classroom's. Runs in a fork of the students' warm process (``background``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import release_files
from .cells import REDOWNLOAD, Notebook, Unreadable, foreign, read, resembles, sanitize
from .channel import Channel
from .checking import check_function
from .classroom import classroom_result, classroom_summary, report_to_classroom
from .judge import Verdict
from .local_runner import LocalRunner
from .report import render, summary
from .session import Limits, Session


@dataclass
class NotebookCheck:
    """What checking one saved notebook found: a verdict per function, and what went wrong in its cells."""

    verdicts: dict[str, Verdict]
    notes: list[str]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts.values())


def read_notebook(path: Path, checks: dict) -> Notebook:
    """The saved notebook, sanitized against the release copy; Unreadable, in the grader's words,
    when it cannot be checked at all."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"{path.name} could not be read ({exc.strerror}).") from None
    notebook = read(data, path.name)
    if not resembles(notebook, checks["all_functions"]):
        raise Unreadable(foreign(path.name, checks["assignment"], checks["all_functions"]))
    try:
        return sanitize(notebook, release_files.trusted_notebook())
    except (KeyError, TypeError, AttributeError) as exc:
        raise Unreadable(f"{path.name} is not a valid Jupyter notebook ({exc!r}). {REDOWNLOAD}") from None


def check_notebook(path: Path, out=print) -> NotebookCheck:
    """Check a saved notebook, printing each function's verdict as it comes. Runs in a fork of the warm
    process (``background``), which forks the runners itself."""
    checks = release_files.load_checks()
    try:
        notebook = read_notebook(path, checks)
    except Unreadable as exc:
        reason = str(exc)
        verdicts = {name: Verdict(False, reason) for name in checks["functions"]}
        for name, verdict in verdicts.items():
            out(render(name, verdict))
        out(summary(verdicts))
        return NotebookCheck(verdicts, [reason])
    contract = {name: tuple(checks["params"][name]) for name in checks["functions"]}
    limits = Limits(call=checks["call_timeout"], cell=checks["cell_timeout"])
    verdicts = {}
    classes = frozenset(name for name, kind in checks.get("kinds", {}).items() if kind == "class")
    with Session(notebook, contract, checks["assignment"], limits, lambda: Channel(LocalRunner), classes) as session:
        for name in checks["functions"]:
            verdicts[name] = check_function(session, name, checks["calls"])
            if name == checks["functions"][0]:
                for note in session.notes():
                    out(note)
            out(render(name, verdicts[name]))
        notes = session.notes()
    out(summary(verdicts))
    return NotebookCheck(verdicts, notes)


def check_and_report(path: Path, classroom: bool = False) -> bool:
    """Check ``path`` (on stdout) and, in GitHub Classroom's workflow, report its points; whether it passed."""
    checked = check_notebook(path, out=lambda line: print(line, flush=True))
    if classroom:
        report_check_to_classroom(checked, path)
    return checked.passed


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
    data = release_files.summary_data()
    rows = classroom_rows(checked, data["points"], notebook.name)
    score, total = sum(row["score"] for row in rows), sum(data["points"].values())
    result = classroom_result(rows, total)
    title = f"{data['assignment']}: {score:g} / {total:g} points from the visible checks"
    report_to_classroom(result, classroom_summary(title, rows, checked.notes), environ)
    return result
