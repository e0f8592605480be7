"""Benchmark: grading a class with ours versus ``nbgrader autograde``, in one run, on the same files.

Makes N submissions (a realistic mix: about half correct, the rest each with one mistake from the
kit's corpus), lays them out as an nbgrader course, then grades them with
``python -m autograder grade`` (with ``--jobs 1`` and ``--jobs J``) and with ``nbgrader autograde``.
Ours runs first on an empty warm store (the first batch of the assignment on a machine, which
warms up and stores it), then again as every later batch does. It checks that every student gets
the same score from all runs, and prints seconds per submission,
the throughput ratio and the peak memory of each run (the sum of PSS over the whole process tree,
so pages shared between workers count once). It also times a cold ``python -m autograder check``.
A benchmark prints figures; it asserts nothing but the agreement of the grades.

    python -m bench.batch_throughput [--submissions 40] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from nbgrader.api import Gradebook

from tests import corpus

ROOT = Path(__file__).resolve().parents[1]
# Mistakes that nbgrader's own test cells catch too, so both graders must agree on every student.
MIX = [m for m in corpus.MISTAKES]
# Peak memory is sampled from /proc; each sample walks every process's page tables, which costs CPU the
# graders would otherwise use, so it is taken once a second (the peaks last longer than that).
SAMPLE_EVERY = 1.0


def make_course(directory: Path, count: int) -> dict[str, Path]:
    shutil.copytree(ROOT / "source", directory / "source", symlinks=False)
    shutil.copy(ROOT / "nbgrader_config.py", directory)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "tokens_and_loss"], cwd=directory,
                   check=True, capture_output=True)
    students = {}
    for index in range(count):
        student = f"student{index:03d}"
        if index % 2 == 0:
            notebook = corpus.with_answers()
        else:
            mistake = MIX[(index // 2) % len(MIX)]
            notebook = corpus.with_answers(**{mistake.function: mistake.code})
        students[student] = corpus.write(notebook, directory / "submitted" / student / "tokens_and_loss" /
                                         "tokens_and_loss.ipynb")
    return students


def pss_of_tree(root: int) -> int:
    """Proportional set size, in bytes, of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def measure(argv: list[str], cwd: Path) -> tuple[float, int]:
    """(wall seconds, peak tree PSS in bytes) of a command."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, pss_of_tree(proc.pid))
            stop.wait(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{stderr[-3000:]}")
    return time.perf_counter() - started, peak


def ours(course: Path, jobs: int, name: str = "") -> tuple[float, int, dict[str, float]]:
    out = course / f"ours-jobs{jobs}{name}"
    seconds, peak = measure([sys.executable, "-m", "autograder", "grade", str(course / "submitted"), "-o", str(out),
                             "--jobs", str(jobs), "--course", str(ROOT)], ROOT)
    scores = {row["student"]: float(row["score"]) for row in csv.DictReader((out / "grades.csv").open())}
    return seconds, peak, scores


def nbgrader(course: Path) -> tuple[float, int, dict[str, float]]:
    seconds, peak = measure([sys.executable, "-m", "nbgrader", "autograde", "tokens_and_loss"], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: s.score for s in gradebook.assignment_submissions("tokens_and_loss")}
    return seconds, peak, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    gib = 1024**3
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        course = Path(tmp)
        students = make_course(course, args.submissions)
        n = len(students)
        os.environ["AUTOGRADER_CACHE"] = str(course / "warm-store")  # start with no stored warm-up
        check_seconds, _ = measure([sys.executable, "-m", "autograder", "check", str(students["student000"])], ROOT)
        first, first_peak, first_scores = ours(course, args.jobs, "-first")  # warms up and stores it
        ours_n, ours_n_peak, ours_scores = ours(course, args.jobs)
        ours_1, ours_1_peak, _ = ours(course, 1)
        theirs, theirs_peak, theirs_scores = nbgrader(course)
        differ = {s: (ours_scores.get(s), first_scores.get(s), theirs_scores.get(s)) for s in students
                  if not ours_scores.get(s) == first_scores.get(s) == theirs_scores.get(s)}
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {n} submissions "
              f"({sum(1 for s in ours_scores.values() if s == 10)} full marks)")
        print(f"nbgrader autograde:         {theirs / n:6.2f} s/submission, peak {theirs_peak / gib:.2f} GiB")
        print(f"ours, first batch (warm-up), --jobs {args.jobs}: {first / n:6.2f} s/submission, "
              f"peak {first_peak / gib:.2f} GiB")
        print(f"ours, --jobs 1:             {ours_1 / n:6.2f} s/submission, peak {ours_1_peak / gib:.2f} GiB")
        print(f"ours, --jobs {args.jobs}:             {ours_n / n:6.2f} s/submission, peak {ours_n_peak / gib:.2f} GiB")
        print(f"throughput ratio, ours --jobs {args.jobs} / nbgrader: {theirs / ours_n:.1f}x "
              f"(first batch: {theirs / first:.1f}x)")
        print(f"extra peak memory, --jobs {args.jobs} vs --jobs 1: {(ours_n_peak - ours_1_peak) / gib:.2f} GiB")
        print(f"autograder check, one notebook, cold: {check_seconds:.1f} s")
        print("per-student scores identical" if not differ else f"SCORES DIFFER: {differ}")


if __name__ == "__main__":
    main()
