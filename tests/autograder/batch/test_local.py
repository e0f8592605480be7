"""Finding submissions in nbgrader's layout and in a flat folder."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from autograder.batch.local import grade_directory
from autograder.batch.submissions import discover
from autograder.outputs.gradebook import scores
from autograder.settings import Settings
from tests import corpus

ROOT = Path(__file__).resolve().parents[3]


def test_discover_understands_every_layout(tmp_path, assignment):
    (tmp_path / "alice" / "tokens_and_loss").mkdir(parents=True)
    (tmp_path / "alice" / "tokens_and_loss" / "tokens_and_loss.ipynb").write_text("{}")
    (tmp_path / "bob" / "tokens_and_loss").mkdir(parents=True)
    (tmp_path / "bob" / "tokens_and_loss" / "my_copy.ipynb").write_text("{}")
    (tmp_path / "carol").mkdir()
    (tmp_path / "dave.ipynb").write_text("{}")
    (tmp_path / "tokens-and-loss-frank").mkdir()  # a clone of a GitHub Classroom repository
    (tmp_path / "tokens-and-loss-frank" / "tokens_and_loss.ipynb").write_text("{}")
    (tmp_path / "tokens-and-loss-frank" / "check.py").write_text("")
    (tmp_path / "erin.pdf").write_bytes(b"%PDF")
    (tmp_path / ".DS_Store").write_bytes(b"")
    found = {f.student: f for f in discover(tmp_path, assignment)}
    assert sorted(found) == ["alice", "bob", "carol", "dave", "erin.pdf", "tokens-and-loss-frank"]
    assert found["tokens-and-loss-frank"].path == tmp_path / "tokens-and-loss-frank" / "tokens_and_loss.ipynb"
    assert found["alice"].path.name == "tokens_and_loss.ipynb"
    assert found["bob"].path.name == "my_copy.ipynb"
    assert found["carol"].path is None and "nothing was submitted" in found["carol"].problem
    assert found["dave"].path.name == "dave.ipynb"
    assert found["erin.pdf"].path.name == "erin.pdf"  # graded as unusable, never silently skipped


def write_class(directory):
    corpus.write(corpus.with_answers(), directory / "ada.ipynb")
    corpus.write(corpus.with_answers(target_probas=corpus.MISTAKES[7].code), directory / "grace.ipynb")
    corpus.write(nbformat.read(corpus.RELEASE, as_version=4), directory / "linus.ipynb")
    (directory / "margaret.ipynb").write_text("{")


def grade_cli(submissions, out):
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submissions), "-o", str(out),
                             "--jobs", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_a_killed_batch_resumes_where_it_stopped(tmp_path):
    submissions, out = tmp_path / "class", tmp_path / "out"
    write_class(submissions)
    first = grade_cli(submissions, out)
    deadline = time.monotonic() + 300
    while len(list(out.glob("*/grading.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    finished = len(list(out.glob("*/grading.json")))
    assert 2 <= finished < 4 and not (out / "grades.csv").exists()

    second = grade_cli(submissions, out)
    stdout, stderr = second.communicate(timeout=600)
    assert second.returncode == 0, stderr
    assert f"{4 - finished} graded" in stdout and f"{finished} already graded" in stdout
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert sorted((r["student"], r["score"]) for r in rows) == [
        ("ada", "10"), ("grace", "8"), ("linus", "0"), ("margaret", "0")]
    assert scores(f"sqlite:///{out / 'gradebook.db'}", "tokens_and_loss") == {
        "ada": 10, "grace": 8, "linus": 0, "margaret": 0}

    third = grade_cli(submissions, out)  # nothing left to do: an idempotent re-run
    stdout, _ = third.communicate(timeout=600)
    assert "0 graded" in stdout and "4 already graded" in stdout


def test_a_changed_submission_is_graded_again(tmp_path, assignment):
    submissions, out = tmp_path / "class", tmp_path / "out"
    (submissions).mkdir()
    (submissions / "zed.ipynb").write_text("{")
    assert grade_directory(submissions, out, assignment).results[0].score == 0
    corpus.write(corpus.with_answers(), submissions / "zed.ipynb")
    batch = grade_directory(submissions, out, assignment, Settings(jobs=1))
    assert batch.resumed == 0 and batch.results[0].score == 10
