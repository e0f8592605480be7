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

    python -m bench.batch_throughput [--submissions 40] [--jobs 2] [--assignment NAME]

For train_and_generate, nbgrader runs every cell, the ten-epoch training loop included (about half
a minute each); the kit leaves out the cells tagged skip-when-grading.
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

from tests import attention_corpus, corpus, gpt_model_corpus
from tests import train_and_generate_corpus as tg_corpus

ROOT = Path(__file__).resolve().parents[1]
# Per assignment: a correct notebook, and one with a mistake, that nbgrader's own test cells catch
# too (so both graders must agree on every student). Left out of train_and_generate's mix: the
# mistakes in calc_loss_batch, which nbgrader's cells charge to calc_loss_loader and train_step as
# well (the kit does not), and a temperature lost after the softmax, which they do not see.
CORPORA = {
    "tokens_and_loss": (corpus.with_answers, corpus.MISTAKES),
    "train_and_generate": (tg_corpus.with_answers, [
        m for m in tg_corpus.MISTAKES if m.function != "calc_loss_batch" and m.name != "temperature_after_softmax"]),
    # attention: the mistakes in the book's code that the notebook's own cells see (they run no dropout,
    # and check the heads with one head only).
    "attention": (attention_corpus.with_answers, [
        m for m in attention_corpus.MISTAKES if m.style is None and m.name not in (
            "heads_merged_before_transpose", "dropout_on_the_values", "dropout_on_the_output")]),
    # gpt_model: the mistakes its test cells see (a wrong LayerNorm fails the block's and the model's cells
    # there too, and the cells run no dropout and compare nothing with the exact GELU).
    "gpt_model": (gpt_model_corpus.with_answers, [
        m for m in gpt_model_corpus.MISTAKES if m.name in (
            "feed_forward_shortcut_missing", "post_layer_norm", "out_head_with_bias")]),
}
# Peak memory is sampled from /proc; each sample walks every process's page tables, which costs CPU the
# graders would otherwise use, so it is taken once a second (the peaks last longer than that).
SAMPLE_EVERY = 1.0


def make_course(directory: Path, count: int, assignment: str) -> dict[str, Path]:
    shutil.copytree(ROOT / "source", directory / "source", symlinks=False)
    shutil.copy(ROOT / "nbgrader_config.py", directory)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment], cwd=directory,
                   check=True, capture_output=True)
    with_answers, mix = CORPORA[assignment]
    students = {}
    for index in range(count):
        student = f"student{index:03d}"
        if index % 2 == 0:
            notebook = with_answers()
        else:
            mistake = mix[(index // 2) % len(mix)]
            notebook = with_answers(**{mistake.function: mistake.code})
        students[student] = corpus.write(notebook, directory / "submitted" / student / assignment /
                                         f"{assignment}.ipynb")
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


def ours(course: Path, assignment: str, jobs: int, name: str = "") -> tuple[float, int, dict[str, float]]:
    out = course / f"ours-jobs{jobs}{name}"
    seconds, peak = measure([sys.executable, "-m", "autograder", "grade", str(course / "submitted"), "-o", str(out),
                             "--jobs", str(jobs), "--course", str(ROOT), "--assignment", assignment], ROOT)
    scores = {row["student"]: float(row["score"]) for row in csv.DictReader((out / "grades.csv").open())}
    return seconds, peak, scores


def nbgrader(course: Path, assignment: str) -> tuple[float, int, dict[str, float]]:
    seconds, peak = measure([sys.executable, "-m", "nbgrader", "autograde", assignment], course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s.student.id: s.score for s in gradebook.assignment_submissions(assignment)}
    return seconds, peak, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--assignment", default="tokens_and_loss", choices=sorted(CORPORA))
    args = parser.parse_args()
    gib = 1024**3
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        course = Path(tmp)
        students = make_course(course, args.submissions, args.assignment)
        n = len(students)
        os.environ["AUTOGRADER_CACHE"] = str(course / "warm-store")  # start with no stored warm-up
        check_seconds, _ = measure([sys.executable, "-m", "autograder", "check", str(students["student000"]),
                                    "--assignment", args.assignment], ROOT)
        first, first_peak, first_scores = ours(course, args.assignment, args.jobs, "-first")  # warms up, stores it
        ours_n, ours_n_peak, ours_scores = ours(course, args.assignment, args.jobs)
        ours_1, ours_1_peak, _ = ours(course, args.assignment, 1)
        theirs, theirs_peak, theirs_scores = nbgrader(course, args.assignment)
        differ = {s: (ours_scores.get(s), first_scores.get(s), theirs_scores.get(s)) for s in students
                  if not ours_scores.get(s) == first_scores.get(s) == theirs_scores.get(s)}
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.assignment}, {n} submissions "
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
