"""The students' checker, as students get it: a copy of the release folder, nothing of the kit.

(Messages and hints on the corpus's mistakes, and agreement with the grader on every corpus
notebook, are tested in tests/test_install.py, in an environment with only torch and tiktoken.)

``python check.py`` runs in a real subprocess from that folder, with the kit's directory off the
path; the in-notebook ``check()`` runs in a real Jupyter kernel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.authoring import release_checks
from tests import corpus

ROOT = Path(__file__).resolve().parents[4]
RELEASE = ROOT / "release" / "tokens_and_loss"


def student_env(linger: str = "0") -> dict:
    """No PYTHONPATH, and a working directory outside the kit: nothing of it can be imported. No warm
    process left in the background, but where a test asks for one."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_KIT_CHECKING")}
    return {**env, "CHECK_PY_LINGER": linger}


@pytest.fixture
def folder(tmp_path) -> Path:
    """The release folder as a student has it, with their notebook in it."""
    return Path(shutil.copytree(RELEASE, tmp_path / "tokens_and_loss"))


def check_py(folder: Path, *args: str, python: str = sys.executable, linger: str = "0") -> subprocess.CompletedProcess:
    return subprocess.run([python, "check.py", *args], cwd=folder, env=student_env(linger), capture_output=True,
                          text=True, timeout=300)


def verdicts(output: str) -> dict[str, str]:
    """PASS or FAIL per function, from what check.py printed."""
    return dict((name, status) for status, name in re.findall(r"^(PASS|FAIL)  (\w+)$", output, re.MULTILINE))


def test_a_correct_notebook_passes_every_function(folder):
    corpus.write(corpus.with_answers(), folder / "tokens_and_loss.ipynb")
    done = check_py(folder)  # the notebook beside it, by default
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts(done.stdout) == {f: "PASS" for f in
                                     ("text_to_token_ids", "token_ids_to_text", "target_probas",
                                      "manual_cross_entropy", "perplexity")}
    assert "All 5 functions pass their visible checks" in done.stdout


def _background_pid(folder: Path) -> int | None:
    """The pid of the warm process waiting for ``folder``'s checks, from its socket's peer credentials."""
    code = "import check; from checker import background; print(background.address())"
    address = subprocess.run([sys.executable, "-c", code], cwd=folder,
                             env=student_env(), capture_output=True, text=True, check=True).stdout.strip()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        credentials = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", credentials)[0]


def _gone(pid: int) -> bool:
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_the_first_check_leaves_a_warm_process_the_next_ones_use(folder):
    """What makes a second `python check.py` start in about a second: the first one's warm process,
    found again, started afresh when it was killed or its files changed, ended by --stop."""
    corpus.write(corpus.with_answers(), folder / "tokens_and_loss.ipynb")
    started = "Started the checker in the background"
    first = check_py(folder, linger="120")
    try:
        assert first.returncode == 0 and started in first.stdout, first.stdout + first.stderr
        pid = _background_pid(folder)
        assert pid is not None
        second = check_py(folder, linger="120")
        assert second.returncode == 0 and started not in second.stdout, second.stdout + second.stderr
        assert verdicts(second.stdout) == verdicts(first.stdout)
        assert _background_pid(folder) == pid

        os.kill(pid, signal.SIGKILL)  # its socket file stays behind
        assert _gone(pid)
        third = check_py(folder, linger="120")
        assert third.returncode == 0 and started in third.stdout, third.stdout + third.stderr
        assert _background_pid(folder) not in (None, pid)
    finally:
        pid = _background_pid(folder)
        stopped = check_py(folder, "--stop")
    assert "Stopped the checker" in stopped.stdout
    assert _gone(pid) and _background_pid(folder) is None
    assert "No checker was waiting" in check_py(folder, "--stop").stdout


def test_a_hanging_call_costs_its_function_only(folder):
    """The child is ended at the call's limit and the notebook runs again for the other functions.
    (A hanging cell is left out the same way, at the cell's limit: the kit's own hang tests cover
    the idea, and each restart here costs a whole notebook run.)"""
    limits = json.loads((folder / "checks.json").read_text())
    (folder / "checks.json").write_text(json.dumps({**limits, "call_timeout": 2}))
    # Redefined after the notebook's own cells have used it, so only the checker's call loops.
    looping = "def token_ids_to_text(token_ids, tokenizer):\n    while True:\n        pass"
    notebook = corpus.with_answers()
    notebook.cells.insert(len(notebook.cells) - 1, nbformat.v4.new_code_cell(looping))
    notebook = corpus.write(notebook, folder / "mine.ipynb")
    done = check_py(folder, str(notebook))
    assert done.returncode == 1
    assert "did not return within 2 s (an endless loop?)" in " ".join(done.stdout.split())
    assert verdicts(done.stdout) == {"text_to_token_ids": "PASS", "token_ids_to_text": "FAIL",
                                     "target_probas": "PASS", "manual_cross_entropy": "PASS", "perplexity": "PASS"}


def test_a_broken_file_fails_every_function_with_a_reason(folder):
    (folder / "mine.ipynb").write_text('{"cells": [{"cell_type": "code", "sour')
    done = check_py(folder, "mine.ipynb")
    assert done.returncode == 1
    # The grader's own words for the same file (the engine reads the JSON for both).
    assert "mine.ipynb is not a notebook: its JSON is broken at line 1" in " ".join(done.stdout.split())
    assert set(verdicts(done.stdout).values()) == {"FAIL"}


def test_check_in_the_notebook_judges_the_kernels_functions(folder):
    """The last cell, `check()`, sees the kernel's functions: here a fix made in the kernel only,
    never saved, which `python check.py` could not see."""
    mistake = next(m for m in corpus.MISTAKES if m.name == "exp_of_negative_loss")
    notebook = corpus.with_answers(perplexity=mistake.code)
    assert notebook.cells[-1].source == "from check import check\n\ncheck()"
    notebook.cells.insert(len(notebook.cells) - 1, nbformat.v4.new_code_cell(
        "def perplexity(loss):\n    return torch.exp(loss)"))
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    output = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    assert verdicts(output)["perplexity"] == "PASS", output
    assert "All 5 functions pass their visible checks" in output


def test_the_release_carries_the_grader_s_current_visible_checks(assignment):
    """Regenerated from the grader, the checker's files equal those in source/ and release/."""
    assert release_checks.stale(assignment, assignment.source_dir) == []
    assert release_checks.stale(assignment, assignment.release_dir) == []


def test_stale_checks_are_named(assignment, tmp_path):
    folder = Path(shutil.copytree(RELEASE, tmp_path / "release"))
    calls = __import__("torch").load(folder / "checks.pt", weights_only=True)
    calls[0]["mistakes"][0]["text"] = "an older hint"
    __import__("torch").save(calls, folder / "checks.pt")
    (folder / "check.py").write_text((folder / "check.py").read_text() + "\n# edited\n")
    assert release_checks.stale(assignment, folder) == [
        "check.py differs from the kit's autograder/sandbox/inside/check.py",
        "checks.pt differs from the grader's visible checks"]


def test_an_engine_change_is_told_apart_from_an_assignment_s(assignment, tmp_path):
    """Every release ships the engine, so a change to it makes every release stale at once: validate
    says so in one line (and `student-checker --all` rewrites them); a change to one assignment's
    checks is that assignment's alone."""
    folder = Path(shutil.copytree(RELEASE, tmp_path / "release"))
    judge = folder / "checker" / "judge.py"
    judge.write_text(judge.read_text() + "\n# edited\n")
    problems = release_checks.stale(assignment, folder)
    assert problems == ["checker/ differs from the kit's engine, autograder/sandbox/inside/checker/"]
    assert [release_checks.engine_changed(problem) for problem in problems] == [True]
    assert not release_checks.engine_changed("checks.pt differs from the grader's visible checks")


def _solution_lines() -> set[str]:
    """Every line of every solution: every source notebook's solution regions, and solutions/ (but
    gpt2.py, which ships to students on purpose)."""
    lines, shown = set(), set()  # shown: lines the notebooks give students anyway, outside the answers
    for notebook in sorted((ROOT / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                    inside = "BEGIN" in line
                else:
                    (lines if inside else shown).add(line.strip())
    for reference in sorted((ROOT / "solutions").glob("*.py")):
        if reference.name not in ("gpt2.py", "__init__.py"):
            lines |= {line.strip() for line in reference.read_text().splitlines() if line.startswith("    ")}
    shown |= {line.strip() for line in (ROOT / "solutions" / "gpt2.py").read_text().splitlines()}
    shown |= {"break", "continue", "else:", "pass", "try:", "finally:"}  # a bare keyword gives nothing away
    return {line for line in lines - shown if line and not line.startswith(("#", '"""'))}


def test_no_solution_line_appears_anywhere_under_release():
    lines = _solution_lines()
    assert len(lines) >= 10  # the regions were found
    found = []
    for path in (ROOT / "release").rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [(path.name, line) for line in lines if line in text]
    assert found == []


def test_the_checker_leaves_out_the_cells_tagged_skip_when_grading():
    """python check.py runs a notebook as the grader does: without its training loop."""
    from autograder.sandbox.inside.checker.cells import sanitize

    notebook = json.loads((ROOT / "release" / "train_and_generate" / "train_and_generate.ipynb").read_text())
    sources = [cell.source for cell in sanitize(notebook, notebook).cells]
    assert any("def train_step" in source for source in sources)
    assert not any("for epoch in range" in source for source in sources)
