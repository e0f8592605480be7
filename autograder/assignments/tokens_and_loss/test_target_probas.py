"""target_probas(probas, targets) -> (batch, seq) tensor of probas[b, t, targets[b, t]]."""

import pytest

from autograder.assignments.tokens_and_loss import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("target_probas")


@pytest.mark.parametrize("case", cases.CASES, ids=str)
def test_any_shape(submission, case):
    judged(submission, calls.target_probas(*cases.batch(case)))
