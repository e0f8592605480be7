"""``python check.py``: the visible checks on a saved notebook, run as the grader runs it.

This process only relays: the check runs in a fork of the warm process (``background``, then
``saved_notebook``), which has torch imported already, so the command itself never imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import background, release_files

USAGE = """python check.py [NOTEBOOK ...]   check the saved notebook (default: the assignment's, beside check.py)
python check.py --stop           end the checker waiting in the background
python check.py --classroom      in GitHub Classroom's workflow: also report the points"""


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
            passed.append(warm.check(notebook, classroom))
    finally:
        warm.close()
    # In a workflow, a failed check is reported as points, not as a failed step (the reporter runs next).
    return 0 if all(passed) or classroom else 1


