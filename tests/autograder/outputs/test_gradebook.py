"""Batch grades in nbgrader's gradebook: readable through nbgrader's API, and idempotent."""

from nbgrader.api import Gradebook

from autograder.outputs.gradebook import record, scores
from autograder.outputs.results import CheckResult, build, unusable


def passing(assignment, student, failing=()):
    checks = [CheckResult("check", f.name, True, "failed" if f.name in failing else "passed")
              for f in assignment.functions]
    return build(assignment, student, checks)


def test_rows_are_readable_through_nbgraders_api(tmp_path, assignment):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    record([passing(assignment, "ada"), passing(assignment, "grace", failing=("target_probas",)),
            unusable(assignment, "margaret", "not a notebook")], assignment, url)
    assert scores(url, "tokens_and_loss") == {"ada": 10, "grace": 8, "margaret": 0}
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade("test_target_probas", "tokens_and_loss", "tokens_and_loss", "grace")
        assert grade.auto_score == 0 and grade.max_score == 2


def test_regrading_updates_in_place_and_keeps_manual_scores(tmp_path, assignment):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    record([passing(assignment, "grace", failing=("target_probas",))], assignment, url)
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade("test_perplexity", "tokens_and_loss", "tokens_and_loss", "grace")
        grade.manual_score = 0.5  # the instructor overrides one cell by hand
        gradebook.db.commit()
    record([passing(assignment, "grace")], assignment, url)
    record([passing(assignment, "grace")], assignment, url)
    with Gradebook(url) as gradebook:
        assert len(gradebook.assignment_submissions("tokens_and_loss")) == 1
        assert gradebook.find_submission("tokens_and_loss", "grace").score == 9.5
