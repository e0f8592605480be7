"""The sandbox: what student code can see and reach, what outlives it, and the unsandboxed fallback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.notebook import load
from autograder.sandbox.student_process import StudentProcess
from tests import corpus

ROOT = Path(__file__).resolve().parents[3]
AFTER_SETUP = 3

PROBE = """
import os, socket, subprocess

def probe(port, other_submission):
    secrets = [SOLUTIONS, HIDDEN_TESTS, SOURCE_NOTEBOOK, other_submission, "/etc/shadow", "/root/.bash_history"]
    readable = []
    for path in secrets:
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            readable.append(path)
        except OSError:
            pass
    network = []
    for address in [("127.0.0.1", port), ("pypi.org", 443)]:
        try:
            socket.create_connection(address, timeout=2).close()
            network.append(address[0])
        except OSError:
            pass
    subprocess.Popen(["sleep", "4321"], start_new_session=True)
    return [readable, network, sorted(os.listdir("."))]
"""


def sleepers() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline == b"sleep\x004321\x00":
            found.append(pid)
    return found


def test_sandbox_hides_files_network_and_ends_every_process(tmp_path, assignment):
    if bwrap_status() is not None:
        pytest.fail(f"this test needs the sandbox: {bwrap_status()}")
    other = tmp_path / "other_student.ipynb"
    other.write_text("{}")
    secrets = {
        "SOLUTIONS": ROOT / "solutions" / "gpt2.py",
        "HIDDEN_TESTS": ROOT / "autograder" / "assignments" / "tokens_and_loss" / "test_perplexity.py",
        "SOURCE_NOTEBOOK": ROOT / "source" / "tokens_and_loss" / "tokens_and_loss.ipynb",
    }
    code = "".join(f"{name} = {str(path)!r}\n" for name, path in secrets.items()) + PROBE
    notebook = corpus.write(corpus.build(corpus.SEED, {AFTER_SETUP: code}), tmp_path / "probe.ipynb")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    loaded = load(notebook, corpus.RELEASE)
    with StudentProcess(assignment.release_dir, sandbox="bwrap") as process:
        run = process.run_notebook(loaded.cells, ("probe",), timeout=120,
                                   own_file=(loaded.file_name, loaded.file_bytes))
        assert run.stopped is None and run.functions["probe"].callable
        reply = process.call("probe", [listener.getsockname()[1], str(other)], timeout=30)
        assert reply.error is None, reply.error
        assert sleepers()  # the student's detached process is running...
    listener.close()
    readable, network, home = reply.value
    assert readable == [] and network == []
    assert {"gpt2.py", "tiktoken_cache", "probe.ipynb"} <= set(home)  # the release files and its own notebook
    assert sleepers() == []  # ...and is gone with the sandbox


def test_without_bwrap_the_grader_warns_once_and_still_grades(tmp_path):
    submissions = tmp_path / "class"
    corpus.write(corpus.with_answers(), submissions / "seed.ipynb")
    (submissions / "broken.ipynb").write_text("{")
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions), "-o", str(tmp_path / "out"),
                           "--jobs", "2"], cwd=ROOT, env={**os.environ, "PATH": str(no_bwrap)},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("WITHOUT a sandbox") == 1
    assert "bubblewrap (bwrap) is not installed" in done.stderr
    assert "seed: 10/10" in done.stdout
