"""Benchmark: a change's cost to batch grading, and Colab-saved notebooks against Jupyter-saved ones.

Grades the same submissions with two checkouts of the kit (``--before``, say a ``git worktree`` of
the last commit, and this one), one right after the other, ``--rounds`` times each, after one
untimed batch that warms each checkout's store; prints the median seconds per submission of each
and their ratio. Then grades, with this checkout, the same notebooks as Jupyter saves them and as
Colab saves them (every cell's metadata gone, so the cells are recognised by their content), in
alternation, and prints both medians and their ratio. It asserts nothing: a benchmark prints figures.

    git worktree add /tmp/before HEAD~1
    python -m bench.before_after --before /tmp/before [--assignment train_and_generate] [--submissions 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import corpus
from tests import train_and_generate_corpus as tg_corpus

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {"tokens_and_loss": (corpus.with_answers, corpus.MISTAKES),
           "train_and_generate": (tg_corpus.with_answers, tg_corpus.MISTAKES)}


def submissions(directory: Path, count: int, assignment: str, colab: bool = False) -> Path:
    """About half correct, the rest each with one mistake of the corpus; as Colab saves them, or not."""
    with_answers, mistakes = CORPORA[assignment]
    for index in range(count):
        mistake = mistakes[(index // 2) % len(mistakes)] if index % 2 else None
        notebook = with_answers(**({mistake.function: mistake.code} if mistake else {}))
        corpus.write(corpus.colab(notebook) if colab else notebook, directory / f"student{index:03d}.ipynb")
    return directory


def grade(checkout: Path, folder: Path, out: Path, assignment: str, jobs: int, store: Path) -> float:
    """Seconds for ``python -m autograder grade`` of ``folder`` with the kit in ``checkout``."""
    env = {**os.environ, "AUTOGRADER_CACHE": str(store), "PYTHONPATH": str(checkout)}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "-o", str(out), "--assignment",
                    assignment, "--jobs", str(jobs), "--course", str(checkout)],
                   cwd=checkout, env=env, check=True, capture_output=True)
    return time.monotonic() - started


def alternate(runs: dict[str, tuple], rounds: int, count: int, tmp: Path) -> dict[str, float]:
    """Median seconds per submission of each run, the runs taken in turn, after one untimed each."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(rounds + 1):
        for name, (checkout, folder, assignment, jobs) in runs.items():
            store = tmp / f"store-{checkout.name}"
            seconds = grade(checkout, folder, tmp / f"out-{name}-{round_}", assignment, jobs, store)
            if round_:
                times[name].append(seconds / count)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="another checkout of the kit")
    parser.add_argument("--assignment", default="train_and_generate", choices=sorted(CORPORA))
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        tmp = Path(name)
        jupyter = submissions(tmp / "jupyter", args.submissions, args.assignment)
        colab = submissions(tmp / "colab", args.submissions, args.assignment, colab=True)
        print(f"machine: {os.cpu_count()} cores; {args.assignment}, {args.submissions} submissions, "
              f"--jobs {args.jobs}, median of {args.rounds} rounds")
        change = alternate({"before": (args.before.resolve(), jupyter, args.assignment, args.jobs),
                            "after": (ROOT, jupyter, args.assignment, args.jobs)}, args.rounds, args.submissions, tmp)
        print(f"before: {change['before']:.2f} s/submission; after: {change['after']:.2f} s/submission; "
              f"throughput after / before: {change['before'] / change['after']:.2f}x")
        saved = alternate({"jupyter": (ROOT, jupyter, args.assignment, args.jobs),
                           "colab": (ROOT, colab, args.assignment, args.jobs)}, args.rounds, args.submissions, tmp)
        print(f"saved by Jupyter: {saved['jupyter']:.2f} s/submission; saved by Colab: {saved['colab']:.2f} "
              f"s/submission; Colab / Jupyter: {saved['colab'] / saved['jupyter']:.2f}")


if __name__ == "__main__":
    main()
