"""causal_attention_weights(scores): square scores of several sizes, with and without batch and head dimensions."""

from functools import cache

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("causal_attention_weights")


@pytest.mark.parametrize("shape, scale", [((4, 4), 1.0), ((7, 7), 3.0), ((2, 5, 5), 2.0), ((2, 3, 6, 6), 1.5)])
def test_each_row_weighs_only_its_past_and_sums_to_one(submission, shape, scale):
    judged(submission, _call(shape, scale))


@cache  # built once per grading process, not once per submission
def _call(shape: tuple, scale: float):
    return calls.weights_call(calls.randn(shape, sum(shape), scale), f"scores of shape {shape}")
