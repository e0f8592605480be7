"""GELU(): the tanh approximation, at points from -100 to 100, batched."""

from functools import cache

import pytest
import torch

from autograder.assignments.gpt_model import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("GELU")


@cache
def _calls():
    far = torch.tensor([-100.0, -30.0, -10.0, -5.0, 5.0, 10.0, 30.0, 100.0])
    return (calls.outputs("GELU", [], torch.linspace(-8, 8, 161), seed=0, shown_x="torch.linspace(-8, 8, 161)"),
            calls.outputs("GELU", [], far, seed=0, shown_x=f"{far.tolist()}"),
            calls.outputs("GELU", [], calls.randn((2, 3, 4), 7, 3.0), seed=0, shown_x="a tensor of shape (2, 3, 4)"))


def test_is_the_tanh_approximation_everywhere(submission):
    for call in _calls():
        judged(submission, call)
