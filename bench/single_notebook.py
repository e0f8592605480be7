"""Benchmark: one notebook, as a student or CI grades it, against ``nbgrader validate``, in one run.

Times, on the same correct notebook and interleaved round by round (so all see the same machine
load), ``python -m autograder grade NOTEBOOK``, ``python -m autograder check NOTEBOOK`` (both from
the warm store, which it prepares first, as ``validate`` would) and ``nbgrader validate NOTEBOOK``,
each as the command a user types, in a fresh process. With ``--gradescope`` it also builds the
Gradescope image as the kit's tests do (a fresh virtual environment set up by the zip's own
``setup.sh``: a few minutes), but with torch's bytecode compiled, as pip installs it on Gradescope
(the tests skip that to save half a minute), and times ``run_autograder``. Prints the medians; asserts nothing but
that every run graded the notebook right.

    python -m bench.single_notebook [--rounds 5] [--gradescope]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import corpus, installs

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list, ok, **kwargs) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kwargs)
    seconds = time.perf_counter() - started
    assert ok(done), f"{argv[:4]} went wrong:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gradescope", action="store_true", help="also time run_autograder in a built image")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "AUTOGRADER_CACHE": str(tmp / "store")}
        # As a student has it: the release folder (gpt2.py, the tokenizer files) with the notebook in it.
        folder = Path(shutil.copytree(ROOT / "release" / "tokens_and_loss", tmp / "student"))
        notebook = corpus.write(corpus.with_answers(), folder / "tokens_and_loss.ipynb")
        kit = [sys.executable, "-m", "autograder"]
        subprocess.run([*kit, "warm-up"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
        commands = {
            "grade NOTEBOOK": ([*kit, "grade", str(notebook), "-o", str(tmp / "r.json")],
                               lambda d: d.returncode == 0 and "10/10" in d.stdout),
            "check NOTEBOOK": ([*kit, "check", str(notebook)], lambda d: d.returncode == 0),
            "nbgrader validate": ([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                                  lambda d: d.returncode == 0 and "Success!" in d.stdout),
        }
        if args.gradescope:
            root, bin_dir = installs.gradescope_image(tmp / "gradescope", compiled=True)
            shutil.copy(notebook, root / "submission" / notebook.name)
            commands["Gradescope run_autograder"] = (
                ["bash", str(root / "source" / "run_autograder")],
                lambda d: json.loads((root / "results" / "results.json").read_text())["score"] == 10)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, (argv, ok) in commands.items():
                kwargs = {"cwd": ROOT, "env": env}
                if name.startswith("Gradescope"):
                    kwargs["env"] = installs.image_env(bin_dir, AUTOGRADER_ROOT=str(root))
                times[name].append(timed(argv, ok, **kwargs))
    report(times, args.rounds)


def report(times: dict[str, list[float]], rounds: int) -> None:
    """The medians, each also as a multiple of nbgrader validate's in the same run."""
    print(f"rounds: {rounds}; median seconds, each command in a fresh process on one correct notebook")
    validate = statistics.median(times["nbgrader validate"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<28} {median:6.2f} s   ({median / validate:.2f}x nbgrader validate; "
              f"runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
