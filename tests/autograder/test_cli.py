"""The commands as users type them, run as real subprocesses."""

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.outputs.gradebook import scores
from autograder.warmup import store as warm_store
from tests import corpus

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def assert_gradescope_schema(data):
    assert set(data) >= {"score", "execution_time", "output", "tests"}
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility", "tags"}
        assert test["tags"] == [test["name"]]
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    assert data["score"] == sum(t["score"] for t in data["tests"])


def test_grade_the_example_class(tmp_path):
    done = run("grade", "examples/submissions", "-o", str(tmp_path / "out"), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    rows = {row["student"]: row for row in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert {s: float(r["score"]) for s, r in rows.items()} == {"ada": 10, "grace": 8, "linus": 0, "margaret": 0}
    assert rows["grace"]["target_probas"] == "0"
    for student in rows:
        assert_gradescope_schema(json.loads((tmp_path / "out" / student / "results.json").read_text()))
    assert "4 submissions: 4 graded" in done.stdout
    assert scores(f"sqlite:///{tmp_path / 'out' / 'gradebook.db'}", "tokens_and_loss")["grace"] == 8
    # the batch is compared for copies: the examples were made from one seed notebook, and ada's and
    # grace's manual_cross_entropy are the same code, which is neither the release's nor the kit's
    assert "Possible copies: 1 pair(s) share at least 50% of a function's code beyond the base" in done.stdout
    copies = list(csv.DictReader((tmp_path / "out" / "similarity.csv").open()))
    assert {(r["student_a"], r["student_b"], r["function"]) for r in copies} == {
        ("ada", "grace", "manual_cross_entropy"), ("ada", "grace", "all")}


def test_grade_one_notebook_writes_results_json(tmp_path):
    out = tmp_path / "results.json"
    done = run("grade", "examples/submissions/grace.ipynb", "-o", str(out), "--timeout", "120")
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert_gradescope_schema(data)
    assert data["score"] == 8
    failed = next(t for t in data["tests"] if t["name"] == "target_probas")
    assert failed["score"] == 0 and "IndexError" in failed["output"]


@pytest.mark.parametrize("notebook, status, text", [
    ("seed", 0, "5 of 5 functions pass their visible checks"),
    ("stub", 1, "0 of 5 functions pass their visible checks"),
])
def test_check_prints_and_exits_for_scripts(tmp_path, notebook, status, text):
    path = tmp_path / f"{notebook}.ipynb"
    if notebook == "seed":
        corpus.write(corpus.with_answers(), path)
    else:
        path.write_bytes(corpus.RELEASE.read_bytes())
    done = run("check", str(path))
    assert done.returncode == status, done.stderr
    assert text in done.stdout
    assert "\033[" not in done.stdout  # no colour when not on a terminal


def test_check_names_a_hanging_cell_and_grades_the_rest(tmp_path):
    from tests.autograder.checks.test_submission import LOOPING_LOSS

    path = corpus.write(corpus.with_answers(manual_cross_entropy=LOOPING_LOSS), tmp_path / "hangs.ipynb")
    done = run("check", str(path), "--cell-timeout", "4", "--call-timeout", "3")
    assert done.returncode == 1, done.stderr
    assert "4 of 5 functions pass their visible checks" in done.stdout
    assert 'cell 22 ("loss = manual_cross_entropy(logits, targets)") was skipped: it did not finish within its 4 s' \
        in done.stdout
    assert "did not return within 3 s" in done.stdout


def test_missing_path_is_an_error_not_a_crash(tmp_path):
    done = run("grade", str(tmp_path / "nope.ipynb"), "-o", str(tmp_path / "r.json"))
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_validate_passes_on_the_committed_course(assignment):
    done = run("validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All good" in done.stdout
    assert "Limits: cgroup" in done.stdout or "Limits: rlimits and a watchdog" in done.stdout
    assert f"stored in {warm_store.find(assignment)}" in done.stdout  # batches after it start warm


def test_validate_passes_on_the_second_assignment():
    """train_and_generate: the solution 10/10, the release 0/10, the release and its checker in sync."""
    done = run("validate", "--assignment", "train_and_generate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  10/10" in done.stdout and "  0/10" in done.stdout and "All good" in done.stdout


def test_grade_writes_junit_for_ci(tmp_path):
    out = tmp_path / "results.xml"
    done = run("grade", "examples/submissions/grace.ipynb", "-o", str(out), "--format", "junit")
    assert done.returncode == 0, done.stderr
    suite = ET.parse(out).getroot().find("testsuite")
    failed = [c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None]
    assert suite.get("name") == "grace" and failed and all(name.startswith("any shape") for name in failed)


def test_adding_an_assignment_does_not_change_the_default():
    """Commands without --assignment grade the assignment that declares itself the course's default
    (tokens_and_loss), whatever sorts first: a CI script written for the first
    assignment keeps grading it."""
    from autograder.assignment import assignment_names, default_assignment

    assert assignment_names()[0] == "attention" and default_assignment() == "tokens_and_loss"
    done = run("grade", "--help")
    assert "(default: tokens_and_loss)" in " ".join(done.stdout.split())
