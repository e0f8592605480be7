"""Limits that hold when the grader runs as root: tasks, memory (temp files included), temp space.

Real notebooks in the real sandbox. On the project's machines the grader may make control groups
(cgroup v1 here), so the cgroup tests run; the watchdog, which takes over where it may not, is
tested by hiding the control groups from the grader. Every notebook that forks is bounded by
itself, so a failing cap cannot take the machine down with the test.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from autograder.batch.local import grade_directory
from autograder.checks.grading import grade_notebook
from autograder.sandbox import confinement
from autograder.sandbox.bwrap import Limits, bwrap_status
from autograder.sandbox.notebook import load
from autograder.sandbox.student_process import StudentProcess
from autograder.settings import Settings
from tests import corpus

AFTER_SETUP = 3
SLEEPERS = """
import subprocess
children = [subprocess.Popen(["sleep", "4323"]) for _ in range(400)]
"""
# At most 2**10 processes even if nothing stops it; each lives three seconds.
FORK_BOMB = """
import os, time
for _ in range(10):
    os.fork()
time.sleep(3)
"""
FILL_TEMP = """
import os, tempfile

def fill(folder, prefix, files=100):
    written = 0
    try:
        for i in range(files):
            with open(os.path.join(folder, f"{prefix}-{i}"), "wb") as handle:
                handle.write(b"x" * 64 * 2**20)
            written += 1
    except OSError as exc:
        return [written, exc.errno]
    return [written, None]

def filled():
    return [fill(tempfile.gettempdir(), "temp"), fill(os.path.expanduser("~"), "home"), fill("/dev/shm", "shm"),
            fill("/dev", "dev", 1)]
"""
# At its end, a notebook started cold holds about 0.7 GiB (its model); with this buffer it stays under 3 GiB,
# and its temp files then take it over: the budget counts them.
AT_THE_END = 1000
HEAP_THEN_TMPFS = """
import tempfile
heap = bytearray(2000 * 2**20)
for i in range(8):
    with open(f"{tempfile.gettempdir()}/part-{i}", "wb") as handle:
        handle.write(b"x" * 64 * 2**20)
"""


@pytest.fixture(autouse=True)
def sandbox_required():
    if bwrap_status() is not None:
        pytest.fail(f"these tests need the sandbox: {bwrap_status()}. Install bubblewrap.")


def require_cgroups() -> None:
    """Skip where control groups cannot be made; in CI, whose machines can, that is a failure."""
    if not confinement.hierarchies():
        message = f"the grader cannot make control groups on this machine ({confinement.mechanism()})"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


@pytest.fixture
def cgroups_required():
    require_cgroups()


@pytest.fixture
def no_cgroups(monkeypatch):
    monkeypatch.setattr(confinement, "hierarchies", lambda: ())


class Sampler:
    """Counts, every few milliseconds, the machine's processes running ``sleep 4323``."""

    def __init__(self):
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def alive_now() -> int:
        alive = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                alive += Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x004323\x00"
            except OSError:
                pass
        return alive

    def _run(self):
        while not self._stop.is_set():
            self.most = max(self.most, self.alive_now())
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def grade(tmp_path, assignment, extra: str, settings: Settings | None = None, where: int = AFTER_SETUP):
    notebook = corpus.write(corpus.build(corpus.SEED, {where: extra}), tmp_path / "student.ipynb")
    settings = settings or Settings(cell_timeout=30, call_timeout=10, sandbox="bwrap")
    return grade_notebook(notebook, assignment, settings)


def skipped_note(result) -> str:
    return next(note for note in result.notes if "was skipped" in note)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory, assignment):
    """400 processes and a fork bomb, graded as one warm batch while the machine's sleepers are counted."""
    require_cgroups()
    submissions = tmp_path_factory.mktemp("crowded")
    for name, extra in (("sleepers", SLEEPERS), ("fork_bomb", FORK_BOMB)):
        corpus.write(corpus.build(corpus.SEED, {AFTER_SETUP: extra}), submissions / f"{name}.ipynb")
    processes_before = len([p for p in os.listdir("/proc") if p.isdigit()])
    with Sampler() as sampler:
        batch = grade_directory(submissions, tmp_path_factory.mktemp("crowded-out"), assignment,
                                Settings(cell_timeout=30, call_timeout=10, sandbox="bwrap", jobs=2))
    return {r.student: r for r in batch.results}, sampler.most, processes_before


def test_many_processes_never_pass_the_cap(crowded):
    results, most, _ = crowded
    assert most <= Limits().tasks
    assert results["sleepers"].score == 10  # only that cell is lost
    assert "tried to run more than 256 processes and threads at once" in skipped_note(results["sleepers"])


def test_a_fork_bomb_ends_its_cell_and_leaves_the_machine_alone(crowded):
    results, _, before = crowded
    assert results["fork_bomb"].score == 10
    assert "more than 256 processes" in skipped_note(results["fork_bomb"])
    time.sleep(0.5)
    assert len([p for p in os.listdir("/proc") if p.isdigit()]) < before + 20  # nothing of it survives


def test_the_memory_budget_counts_temp_files(tmp_path, assignment, cgroups_required, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_CACHE", str(tmp_path / "no-store"))  # cold: the notebook builds its own model
    settings = Settings(cell_timeout=30, call_timeout=10, sandbox="bwrap", limits=Limits(memory_bytes=3 * 2**30))
    result = grade(tmp_path, assignment, HEAP_THEN_TMPFS, settings, where=AT_THE_END)
    assert result.score == 10
    assert "used more than its 3 GiB of memory (temp files included)" in skipped_note(result)


def test_temp_space_is_capped_inside_the_sandbox(tmp_path, assignment):
    """A write past the cap fails in the student's code; the machine's shared memory barely moves."""
    notebook = corpus.write(corpus.build(corpus.SEED, {AFTER_SETUP: FILL_TEMP}), tmp_path / "fill.ipynb")
    loaded = load(notebook, corpus.RELEASE)
    shmem_before = _shmem()
    with StudentProcess(assignment.release_dir, sandbox="bwrap") as process:
        run = process.run_notebook(loaded.cells, ("filled",), timeout=120)
        assert run.stopped is None
        reply = process.call("filled", [], timeout=120)
        grown = _shmem() - shmem_before
    assert reply.error is None, reply.error
    temp, home, shm, dev = reply.value
    no_space, read_only = 28, 30
    assert temp == [512 // 64 - 1, no_space] or temp == [512 // 64, no_space]  # the rest of the 512 MiB
    assert home == [0, no_space]  # the same capped space
    assert shm[1] == no_space and shm[0] <= 1
    assert dev == [0, read_only]
    assert grown < 1024**3  # was 6.3 GiB before /tmp was capped


def test_without_cgroups_the_watchdog_stops_a_submission_past_the_cap(tmp_path, assignment, no_cgroups):
    assert confinement.mechanism().startswith("rlimits and a watchdog")
    with Sampler() as sampler:
        result = grade(tmp_path, assignment, SLEEPERS)
    assert result.score == 10
    assert "ran more than 256 processes and threads at once" in skipped_note(result)
    # The watchdog acts within a poll, not at the cap exactly (a control group does that): vfork
    # starts 400 processes faster than one poll. What it guarantees is that none of them survives.
    assert sampler.most > 0 and sampler.alive_now() == 0


def _shmem() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no Shmem in /proc/meminfo")


# ---------------------------------------------------------------- the cgroup files, v1 and v2


def test_own_groups_are_read_from_proc_self_cgroup(tmp_path):
    (tmp_path / "user.slice" / "grader").mkdir(parents=True)
    (tmp_path / "user.slice" / "grader" / "cgroup.controllers").write_text("cpu io memory pids\n")
    v2 = confinement._own_groups("0::/user.slice/grader\n", tmp_path)
    assert v2 == [confinement.Hierarchy(tmp_path / "user.slice" / "grader", 2, ("pids", "memory"))]
    v1 = confinement._own_groups("8:pids:/\n4:memory:/jobs/7\n1:cpu:/\n0::/\n", tmp_path)
    assert v1 == [confinement.Hierarchy(tmp_path / "pids", 1, ("pids",)),
                  confinement.Hierarchy(tmp_path / "memory" / "jobs" / "7", 1, ("memory",))]


def test_a_v2_group_sets_its_limits_and_reports_an_oom_kill(tmp_path, monkeypatch):
    hierarchy = confinement.Hierarchy(tmp_path, 2, ("pids", "memory"))
    monkeypatch.setattr(confinement, "hierarchies", lambda: (hierarchy,))
    limits = Limits(tasks=7, memory_bytes=3 * 2**30)
    group = confinement.Group(limits)
    (path,) = [p for _, p in group.paths]
    assert (path / "pids.max").read_text() == "7" and (path / "memory.max").read_text() == str(3 * 2**30)
    assert group.exceeded(limits) is None
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.exceeded(limits) == "it used more than its 3 GiB of memory (temp files included)"
    (path / "pids.events").write_text("max 2\n")
    assert "more than 7 processes" in group.exceeded(limits)
