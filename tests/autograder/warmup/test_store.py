"""The warm store: a batch's warm-up is kept for the next batch, and only for exactly the same inputs."""

import shutil

import pytest

from autograder.assignment import load_assignment
from autograder.batch.local import grade_directory
from autograder.settings import Settings
from autograder.warmup import prepare
from autograder.warmup import store as warm_store

REUSED = ("seed", "sum_not_mean", "hardcoded_positions")


def test_a_later_batch_starts_from_the_stored_warm_up(graded_corpus, assignment, tmp_path, monkeypatch):
    assert warm_store.find(assignment) is not None  # the corpus batch published it
    monkeypatch.setattr(prepare, "warm_up", lambda *a, **k: pytest.fail("the warm-up ran again"))
    for student in REUSED:
        shutil.copy(graded_corpus[student].source, tmp_path / f"{student}.ipynb")
    results = grade_directory(tmp_path, tmp_path / "out", assignment, Settings(jobs=2)).results
    for result in results:
        local = graded_corpus[result.student]
        assert [(c.name, c.outcome, c.feedback) for c in result.checks] == \
               [(c.name, c.outcome, c.feedback) for c in local.checks]


def test_the_key_changes_with_the_release_and_nothing_else(tmp_path, assignment):
    course = tmp_path / "course"
    shutil.copytree(assignment.release_dir, course / "release" / assignment.name)
    (course / "source" / assignment.name).mkdir(parents=True)
    shutil.copy(assignment.source_dir / assignment.notebook_name, course / "source" / assignment.name)
    copy = load_assignment(assignment.name, course)
    assert warm_store.key(copy) == warm_store.key(assignment)  # same files, another place: same warm-up
    with open(copy.release_dir / "gpt2.py", "a") as gpt2:
        gpt2.write("\n# an instructor's edit\n")
    assert warm_store.key(copy) != warm_store.key(assignment)
    assert warm_store.find(copy) is None


def test_an_unwritable_store_costs_the_reuse_not_the_batch(tmp_path, monkeypatch, assignment):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("AUTOGRADER_CACHE", str(blocked))
    with prepare.staged(assignment) as folder:
        assert folder.is_dir() and blocked not in folder.parents
        (folder / "cache").mkdir()
    assert not folder.exists() and warm_store.find(assignment) is None
