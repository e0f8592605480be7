"""Grading on a Dask cluster: a real LocalCluster of worker processes, one of them killed mid-batch."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from autograder import GraderError
from autograder.batch.local import grade_directory
from autograder.settings import Settings
from tests import dask_cluster

distributed = dask_cluster.distributed()

STUDENTS = ("seed", "stub", "sum_not_mean", "hardcoded_positions", "raising_cell", "corrupt_json", "base_two")


def test_without_a_scheduler_dask_is_not_imported():
    probe = subprocess.run([sys.executable, "-c", "import sys, autograder.cli, autograder.batch; "
                            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"],
                           capture_output=True, text=True, timeout=120, check=True)
    assert probe.stdout.strip() == "[]"


def test_a_worker_with_another_release_refuses_to_grade():
    from autograder.batch.cluster import WarmGrader

    with pytest.raises(GraderError, match="different release of tokens_and_loss"):
        WarmGrader("tokens_and_loss", Settings(), digest="not-this-one").setup(SimpleNamespace(address="tcp://w:1"))


def _kill_a_worker_mid_submission(client, killed: dict, stop: threading.Event) -> None:
    """Wait until a worker is grading, then SIGKILL that worker's process; note whose notebook it had."""
    def grading(dask_worker):
        return os.getpid(), [str(ts.key) for ts in dask_worker.state.executing]

    while not stop.is_set():
        for pid, keys in client.run(grading).values():
            if keys:
                killed.update(pid=pid, key=keys[0])
                os.kill(pid, signal.SIGKILL)
                return
        time.sleep(0.2)


def test_cluster_grades_like_the_local_path_and_survives_a_killed_worker(graded_corpus, assignment, tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for student in STUDENTS:
        shutil.copy(graded_corpus[student].source, submissions / f"{student}.ipynb")

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        killed, stop = {}, threading.Event()
        killer = threading.Thread(target=_kill_a_worker_mid_submission, args=(client, killed, stop), daemon=True)
        killer.start()
        try:
            batch = grade_directory(submissions, tmp_path / "out", assignment, Settings(),
                                    scheduler=cluster.scheduler_address)
        finally:
            stop.set()
            killer.join(timeout=30)

    assert killed, "no worker was caught grading"
    victim = killed["key"].split("-")[1]
    assert victim in STUDENTS
    assert [r.student for r in batch.results] == sorted(STUDENTS)  # every submission, each once
    for result in batch.results:
        local = graded_corpus[result.student]
        assert result.score == local.score, result.student
        assert [(c.name, c.outcome, c.feedback) for c in result.checks] == \
               [(c.name, c.outcome, c.feedback) for c in local.checks], result.student
        assert result.grader_errors == () and result.notes == local.notes
        assert result.source == str(submissions / f"{result.student}.ipynb")
    rows = (tmp_path / "out" / "grades.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == sorted(STUDENTS)
