"""manual_cross_entropy(logits, targets) -> 0-dim tensor, agreeing with torch's cross-entropy,
computed without torch's own loss (see ``calls.manual_cross_entropy`` for the tolerance)."""

import pytest

from autograder.assignments.tokens_and_loss import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("manual_cross_entropy")


@pytest.mark.parametrize("case", cases.CASES, ids=str)
def test_agrees_with_torch(submission, case):
    judged(submission, calls.manual_cross_entropy(*cases.batch(case)))
