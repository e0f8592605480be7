"""Benchmark: the three ways to check one notebook, timed on the same correct notebook in one run.

``python check.py`` (the release's own checker, from a copy of the release folder, as a student
runs it: once with no checker waiting in the background, as a student's first check, and once
more right after, as every later check), ``python -m autograder check NOTEBOOK`` (the kit,
sandboxed, from its warm store) and ``nbgrader validate NOTEBOOK``, interleaved round by round
so all see the same machine load, each as the command a user types, in a fresh process. Also
times the in-notebook ``check()`` in a running kernel (the kernel is started and the notebook run
once; only the call is timed).
Prints the medians; asserts only that every run found the notebook correct.

    python -m bench.student_check [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from bench.single_notebook import report, timed
from tests import corpus

ROOT = Path(__file__).resolve().parents[1]


def in_notebook(folder: Path, rounds: int) -> list[float]:
    """check() in a live kernel: run the notebook once, then time the checker's cell alone."""
    notebook = corpus.with_answers()
    timing = nbformat.v4.new_code_cell("import time\n_t = time.perf_counter()\nfrom check import check\n"
                                       "check()\nprint('SECONDS', time.perf_counter() - _t)")
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    times = []
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        notebook.cells.append(timing)
        for _ in range(rounds):
            client.execute_cell(timing, len(notebook.cells) - 1)
            text = "".join(o.get("text", "") for o in timing.outputs)
            assert "All 5 functions pass" in text, text
            times.append(float(text.split("SECONDS ")[1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "AUTOGRADER_CACHE": str(tmp / "store")}
        student_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        folder = Path(shutil.copytree(ROOT / "release" / "tokens_and_loss", tmp / "student"))
        notebook = corpus.write(corpus.with_answers(), folder / "tokens_and_loss.ipynb")
        kit = [sys.executable, "-m", "autograder"]
        subprocess.run([*kit, "warm-up"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
        stop = [sys.executable, "check.py", "--stop"]  # untimed: each round's first check starts afresh
        commands = {
            "python check.py, first": ([sys.executable, "check.py"], {"cwd": folder, "env": student_env}),
            "python check.py, next": ([sys.executable, "check.py"], {"cwd": folder, "env": student_env}),
            "python -m autograder check": ([*kit, "check", str(notebook)], {"cwd": ROOT, "env": env}),
            "nbgrader validate": ([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                                  {"cwd": ROOT, "env": env}),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            subprocess.run(stop, cwd=folder, env=student_env, check=True, capture_output=True)
            for name, (argv, kwargs) in commands.items():
                ok = (lambda d: "Success!" in d.stdout) if "nbgrader" in name else (lambda d: d.returncode == 0)
                times[name].append(timed(argv, ok, **kwargs))
        subprocess.run(stop, cwd=folder, env=student_env, check=True, capture_output=True)
        times["check() in the notebook"] = in_notebook(folder, args.rounds)
    report(times, args.rounds)


if __name__ == "__main__":
    main()
