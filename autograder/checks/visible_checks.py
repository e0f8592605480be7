"""The visible checks: for each function, the calls its assignment marks visible, made in order.

Collected beside every assignment's own test files (``grading.pytest_args``), so no assignment
writes this loop: the calls its ``visible`` names are the checks students run with ``check.py``, and
the grader runs exactly them, as one check per function, besides its hidden ones.
"""

import pytest

from autograder.checks.expect import judged
from autograder.checks.plugin import assignment_of


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "visible_calls" not in metafunc.fixturenames:
        return
    calls = assignment_of(metafunc.config).visible_calls()
    groups = {}
    for call in calls:
        groups.setdefault(call["function"], []).append(call)
    metafunc.parametrize("visible_calls", [
        pytest.param(group, id=name, marks=[pytest.mark.student_function(name), pytest.mark.visible])
        for name, group in groups.items()])


def test_the_notebook_s_examples(submission, visible_calls):
    for call in visible_calls:
        judged(submission, call)
