"""SelfAttention(d_in, d_out, qkv_bias): one sequence, with the reference's parameters, biased or not,
d_in equal to d_out or not."""

from functools import cache

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("SelfAttention")


@pytest.mark.parametrize("d_in, d_out, qkv_bias, n", [(4, 4, True, 5), (8, 6, False, 7), (5, 3, True, 3)])
def test_context_vectors_with_the_reference_parameters(submission, d_in, d_out, qkv_bias, n):
    judged(submission, _call(d_in, d_out, qkv_bias, n))


@cache  # built once per grading process, not once per submission
def _call(d_in: int, d_out: int, qkv_bias: bool, n: int):
    config = {"d_in": d_in, "d_out": d_out, "qkv_bias": qkv_bias}
    return calls.outputs("SelfAttention", config, calls.randn((n, d_in), n), seed=d_in + d_out)
