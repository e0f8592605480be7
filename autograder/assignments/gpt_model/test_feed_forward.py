"""FeedForward(cfg): two widths, batched, with the reference's parameters."""

from functools import cache

import pytest

from autograder.assignments.gpt_model import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("FeedForward")
CONFIGS = [calls.config(emb=12, heads=3), calls.config(emb=16, heads=4)]


@cache
def _call(index: int):
    cfg = CONFIGS[index]
    x = calls.randn((2, 5, cfg["emb_dim"]), 30 + index)
    return calls.outputs("FeedForward", [cfg], x, seed=40 + index, shown_x=f"a tensor of shape {tuple(x.shape)}")


@pytest.mark.parametrize("index", range(len(CONFIGS)))
def test_widens_by_four_and_back(submission, index):
    judged(submission, _call(index))
