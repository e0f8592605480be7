"""Nothing left behind: no temporary folder and no process, after a batch, after a batch killed
with SIGKILL and resumed to its end, and after the students' ``python check.py --stop``.

A grading host runs batches for a term: a folder per batch worker would be thousands. Each run here
gets a temporary directory of its own (TMPDIR), so what is counted is exactly what it made.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import corpus

ROOT = Path(__file__).resolve().parents[3]


def ours(marker: str) -> set[int]:
    """The processes started for this test: their command line or environment names its TMPDIR."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in seen:
            found.add(int(entry.name))
    return found


def left(tmp: Path) -> tuple[list[str], set[int]]:
    """What is left: the folders in the test's temporary directory, and its processes."""
    return sorted(p.name for p in tmp.iterdir()), ours(str(tmp))


def settled(tmp: Path, seconds: float = 60) -> tuple[list[str], set[int]]:
    """What is left once the processes that are on their way out have ended (a pool's workers wind
    down after the batch has written its results)."""
    deadline = time.monotonic() + seconds
    while True:
        found = left(tmp)
        if found == ([], set()) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def kit(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "TMPDIR": str(tmp)})


def test_a_batch_leaves_nothing_behind_even_when_killed_and_resumed(tmp_path):
    tmp, submissions = tmp_path / "tmp", tmp_path / "submitted"
    tmp.mkdir()
    for name, notebook in {"ada": corpus.with_answers(), "grace": corpus.with_answers(perplexity=None),
                           "alan": corpus.with_answers(), "mary": corpus.with_answers()}.items():
        corpus.write(notebook, submissions / f"{name}.ipynb")
    assert left(tmp) == ([], set())

    out = tmp_path / "killed"
    batch = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submissions), "-o", str(out),
                              "--jobs", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 300
    while not list(out.glob("*/grading.json")) and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.2)
    assert batch.poll() is None, "the batch finished before it could be killed"
    os.kill(batch.pid, signal.SIGKILL)  # as `kill -9`: the batch itself cleans up nothing
    batch.wait()
    time.sleep(1)
    folders, _ = left(tmp)
    assert any(name.startswith("autograder-warm-") for name in folders)  # what a killed batch leaves

    done = kit("grade", str(submissions), "-o", str(out), "--jobs", "2", tmp=tmp)  # a batch run to its end
    assert done.returncode == 0, done.stderr[-2000:]
    assert settled(tmp) == ([], set())
    assert sorted(p.parent.name for p in out.glob("*/grading.json")) == ["ada", "alan", "grace", "mary"]


def test_check_py_stop_leaves_nothing_behind(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    folder = Path(shutil.copytree(ROOT / "release" / "tokens_and_loss", tmp_path / "tokens_and_loss"))
    corpus.write(corpus.with_answers(), folder / "tokens_and_loss.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_KIT_CHECKING")}
    env.update(TMPDIR=str(tmp), CHECK_PY_LINGER="120")
    done = subprocess.run([sys.executable, "check.py"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    folders, processes = left(tmp)
    assert folders == [f"course-kit-check-{os.getuid()}"] and len(processes) == 1  # the warm process, waiting
    stopped = subprocess.run([sys.executable, "check.py", "--stop"], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=120)
    assert "Stopped the checker" in stopped.stdout
    assert settled(tmp) == ([], set())
    # With no linger, nothing is left even for a moment after the command.
    done = subprocess.run([sys.executable, "check.py"], cwd=folder, env={**env, "CHECK_PY_LINGER": "0"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and left(tmp) == ([], set()), done.stdout + done.stderr
