"""Benchmark: what the bubblewrap sandbox costs per graded notebook.

Grades the same correct notebook repeatedly, alternating ``--sandbox bwrap`` and ``--sandbox none``
in one process (so both see the same machine load and warm caches), and prints the median seconds
of each and their ratio. A benchmark prints figures; it asserts nothing.

    python -m bench.sandbox_overhead [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from autograder.assignment import load_assignment
from autograder.checks.grading import grade_notebook
from autograder.settings import Settings
from tests import corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    assignment = load_assignment()
    with tempfile.TemporaryDirectory() as tmp:
        notebook = corpus.write(corpus.with_answers(), Path(tmp) / "seed.ipynb")
        grade_notebook(notebook, assignment, Settings(sandbox="none"))  # warm the grader's reference values
        times: dict[str, list[float]] = {"bwrap": [], "none": []}
        for _ in range(args.rounds):
            for mode in times:
                started = time.perf_counter()
                result = grade_notebook(notebook, assignment, Settings(sandbox=mode))
                times[mode].append(time.perf_counter() - started)
                assert result.score == result.max_score, f"{mode}: {result.score}"
    bwrap, none = statistics.median(times["bwrap"]), statistics.median(times["none"])
    print(f"rounds: {args.rounds}")
    print(f"median seconds per correct notebook, sandboxed (bwrap): {bwrap:.2f}")
    print(f"median seconds per correct notebook, no sandbox:        {none:.2f}")
    print(f"ratio bwrap / none: {bwrap / none:.3f}")


if __name__ == "__main__":
    main()
