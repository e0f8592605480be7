"""``python check.py``: the visible checks on a saved notebook, run as the grader runs it.

The notebook is sanitized against the release copy (``cells``), run by the grader's own runner in a
fork of the warm process (``background``), driven by the grader's own ``Session`` and judged by the
grader's own ``check_call``: the same cells run, with the same limits, and the same texts come back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import background, release_files
from .cells import REDOWNLOAD, Notebook, Unreadable, foreign, read, resembles, sanitize
from .channel import Channel
from .checking import check_function
from .classroom import classroom_result, classroom_summary, report_to_classroom
from .judge import Verdict
from .report import render, summary
from .session import Limits, Session

USAGE = """python check.py [NOTEBOOK ...]   check the saved notebook (default: the assignment's, beside check.py)
python check.py --stop           end the checker waiting in the background
python check.py --classroom      in GitHub Classroom's workflow: also report the points"""


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


def check_notebook(path: Path, warm: background.WarmProcess, out=print) -> NotebookCheck:
    """Check a saved notebook, printing each function's verdict as it comes."""
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
    with Session(notebook, contract, checks["assignment"], limits, lambda: Channel(warm.spawn), classes) as session:
        for name in checks["functions"]:
            verdicts[name] = check_function(session, name, checks["calls"])
            if name == checks["functions"][0]:
                for note in session.notes():
                    out(note)
            out(render(name, verdicts[name]))
        notes = session.notes()
    out(summary(verdicts))
    return NotebookCheck(verdicts, notes)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--warm-fd"]:
        import socket

        background.serve_own(socket.socket(fileno=int(argv[1])))
        return 0
    if argv[:1] == ["--warm-socket"]:
        background.serve_shared(Path(argv[1]))
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if argv == ["--stop"]:
        print(background.stop() if hasattr(os, "fork") else "No checker waits in the background here.")
        return 0
    classroom = "--classroom" in argv
    argv = [arg for arg in argv if arg != "--classroom"]
    default = release_files.FOLDER / f"{release_files.summary_data()['assignment']}.ipynb"
    notebooks = [Path(arg) for arg in argv] or [default]
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        print(f"No notebook at {', '.join(missing)}. Usage:\n{USAGE}")
        return 2
    if not hasattr(os, "fork"):
        print("python check.py needs Linux or macOS (it forks a process per run). Here, run the notebook's "
              "last cell, check(), instead.")
        return 2
    try:
        import IPython  # noqa: F401
    except ImportError:
        print("python check.py runs your notebook as Jupyter does, with IPython, which is not installed in this "
              "Python. Install it (`pip install ipython`), or run the notebook's last cell, check(), instead.")
        return 2
    try:
        warm = background.WarmProcess(linger_time=0 if classroom else None)  # a workflow run checks once
    except (RuntimeError, OSError) as exc:
        print(f"The checker could not start: {exc}")
        return 2
    if warm.started and not warm.own:
        print(f"(Started the checker in the background, so that your next checks start faster. It ends after "
              f"{background.linger() / 60:g} minutes without one; `python check.py --stop` ends it now.)", flush=True)
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

