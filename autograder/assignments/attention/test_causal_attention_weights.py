"""causal_attention_weights(scores): square scores of several sizes, with and without batch and head dimensions."""

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("causal_attention_weights")


@pytest.mark.parametrize("shape, scale", [((4, 4), 1.0), ((7, 7), 3.0), ((2, 5, 5), 2.0), ((2, 3, 6, 6), 1.5)])
def test_each_row_weighs_only_its_past_and_sums_to_one(submission, shape, scale):
    scores = calls.randn(shape, sum(shape), scale)
    judged(submission, calls.weights_call(scores, f"scores of shape {shape}"))
