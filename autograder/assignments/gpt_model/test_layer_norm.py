"""LayerNorm(emb_dim): rows at initialisation, and the reference's scale and shift on other sizes,
batches and spreads (a nearly constant row, where eps matters)."""

from functools import cache

import pytest

from autograder.assignments.gpt_model import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("LayerNorm")
SHAPES = [(8, (4, 8)), (16, (2, 3, 16)), (6, (1, 6))]


@cache
def _calls(index: int):
    emb_dim, shape = SHAPES[index]
    x = calls.layer_norm_input(shape, 10 + index)
    return (calls.layer_norm_at_init(emb_dim, x, seed=index),
            calls.outputs("LayerNorm", [emb_dim], x, seed=20 + index, shown_x=f"a tensor of shape {shape}"))


@pytest.mark.parametrize("index", range(len(SHAPES)))
def test_normalises_each_row_then_scales_and_shifts(submission, index):
    for call in _calls(index):
        judged(submission, call)
