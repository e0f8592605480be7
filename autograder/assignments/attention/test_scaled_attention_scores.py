"""scaled_attention_scores(queries, keys): batched and unbatched, as many queries as keys or not, several d_k."""

from functools import cache

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("scaled_attention_scores")


SHAPES = [((5, 4), (5, 4)), ((3, 16), (7, 16)), ((2, 4, 6, 8), (2, 4, 6, 8)), ((3, 5, 2), (3, 4, 2))]


@cache  # built once per grading process, not once per submission
def _call(q_shape: tuple, k_shape: tuple):
    queries, keys = calls.randn(q_shape, len(q_shape) * 10 + 1, 2.0), calls.randn(k_shape, len(k_shape) * 10 + 2)
    return calls.scores_call(queries, keys, f"queries of shape {q_shape}, keys of shape {k_shape}")


@pytest.mark.parametrize("q_shape, k_shape", SHAPES)
def test_divides_every_dot_product_by_the_root_of_d_k(submission, q_shape, k_shape):
    judged(submission, _call(q_shape, k_shape))
