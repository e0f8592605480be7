"""input_target_pairs(token_ids, max_length, stride) -> (inputs, targets), two (n, max_length) long tensors."""

import pytest

from autograder.assignments.train_and_generate import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("input_target_pairs")


# Strides below, at and above the window; a stream with room for one window only.
@pytest.mark.parametrize("length, max_length, stride", [(30, 5, 1), (30, 5, 5), (30, 4, 7), (9, 8, 3), (41, 6, 4)],
                         ids=str)
def test_windows(submission, length, max_length, stride):
    judged(submission, calls.input_target_pairs(cases.token_ids(length, seed=length + stride), max_length, stride))
