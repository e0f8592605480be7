"""Benchmark: a class graded on a Dask cluster versus local workers, in one run, on the same files.

Makes N submissions (the same mix as ``batch_throughput``), grades them with local workers
(``--jobs J``) and then on a ``distributed.LocalCluster`` of J single-threaded worker processes
(``--scheduler``), and prints seconds per submission for each and Dask's overhead per submission.
Both start from the machine's stored warm-up (prepared first, untimed, as ``validate`` does); each
Dask worker still starts its own grader when the batch registers it. It checks that both give every
student the same score.

    python -m bench.dask_overhead [--submissions 40] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import tempfile
from pathlib import Path

from distributed import LocalCluster

from autograder.assignment import load_assignment
from autograder.warmup.prepare import prepare_warm_store
from bench.batch_throughput import ROOT, make_course, measure


def grade(course: Path, name: str, *flags: str) -> tuple[float, dict[str, float]]:
    out = course / name
    seconds, _ = measure([sys.executable, "-m", "autograder", "grade", str(course / "submitted"), "-o", str(out),
                          "--course", str(ROOT), *flags], ROOT)
    return seconds, {row["student"]: float(row["score"]) for row in csv.DictReader((out / "grades.csv").open())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        course = Path(tmp)
        n = len(make_course(course, args.submissions))
        os.environ["AUTOGRADER_CACHE"] = str(course / "warm-store")
        prepare_warm_store(load_assignment())
        local, local_scores = grade(course, "local", "--jobs", str(args.jobs))
        with LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster:
            dask, dask_scores = grade(course, "dask", "--scheduler", cluster.scheduler_address)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {n} submissions")
        print(f"local, --jobs {args.jobs}:                  {local / n:6.2f} s/submission ({local:.1f} s)")
        print(f"Dask LocalCluster, {args.jobs} workers:      {dask / n:6.2f} s/submission ({dask:.1f} s)")
        print(f"Dask overhead per submission:       {(dask - local) / n:+6.2f} s")
        print("per-student scores identical" if local_scores == dask_scores else
              f"SCORES DIFFER: {set(local_scores.items()) ^ set(dask_scores.items())}")


if __name__ == "__main__":
    main()
