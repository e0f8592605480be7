"""What the students' checker and the grader each said about the same notebooks, side by side.

``python check.py`` runs in a copy of the release folder, as a student runs it; the kit's verdict on a
function is that of its visible checks in a graded batch. Both must give every function the same
PASS or FAIL and the same message: the engine is one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests import installs

Said = dict[str, tuple[str, str]]  # function -> (PASS or FAIL, the message, whitespace made single)


def one_line(text: str) -> str:
    return " ".join(text.split())


def checker_said(bin_dir: Path, release: Path, notebooks: list[Path], tmp: Path, **env: str) -> dict[str, Said]:
    """Per notebook (by stem): what ``python check.py NB ...`` printed for each function. Two checkers
    each take half of the notebooks at once (two cores here), each in its own copy of the release."""
    halves = [notebooks[::2], notebooks[1::2]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = pool.map(lambda half: _check_py(bin_dir, release, half[1], tmp / f"half{half[0]}", env),
                         enumerate(half for half in halves if half))
    return {name: said for part in found for name, said in part.items()}


def _check_py(bin_dir: Path, release: Path, notebooks: list[Path], tmp: Path, env: dict) -> dict[str, Said]:
    folder = Path(shutil.copytree(release, tmp / release.name))
    done = subprocess.run([str(bin_dir / "python"), "check.py", *map(str, notebooks)], cwd=folder,
                          capture_output=True, text=True, timeout=1500,
                          env=installs.image_env(bin_dir, CHECK_PY_LINGER="0", OMP_NUM_THREADS="1", **env))
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    sections = re.split(r"^Checking (\S+)\.ipynb .*$", done.stdout, flags=re.MULTILINE)[1:]
    return {name: said_in(text) for name, text in zip(sections[::2], sections[1::2])}


def said_in(text: str) -> Said:
    """What check.py printed for one notebook: each function's PASS or FAIL and its message (without
    hints): a verdict line, then the message and hints indented under it."""
    blocks = re.findall(r"^(PASS|FAIL)  (\w+)\n((?: {6}.*(?:\n|$))*)", text, re.MULTILINE)
    return {name: (status, one_line(body).split(" Hint: ")[0]) for status, name, body in blocks}


def grader_said(result) -> Said:
    """The kit's visible verdict on each function of a graded result, and its first failure's message."""
    said = {}
    for function in result.functions:
        visible = [check for check in function.checks if check.visible]
        failing = next((check for check in visible if not check.passed), None)
        if not visible:
            failing_message = next((c.message for c in function.checks if not c.passed), "")
            said[function.name] = ("FAIL", one_line(failing_message))
        else:
            said[function.name] = ("PASS", "") if failing is None else ("FAIL", one_line(failing.message))
    return said
