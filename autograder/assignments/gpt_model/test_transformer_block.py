"""TransformerBlock(cfg): the reference's parameters (biased or not, dropout set but in eval mode,
twice in a row), a block whose branches give zeros returning its input, and the shortcut dropout
in train mode, judged by its properties."""

from functools import cache

import pytest

from autograder.assignments.gpt_model import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("TransformerBlock")
CONFIGS = [calls.config(emb=12, heads=3, context=8, bias=True), calls.config(emb=16, heads=4, context=10, drop=0.5)]


@cache
def _calls():
    made = []
    for index, cfg in enumerate(CONFIGS):
        x = calls.randn((2, 6, cfg["emb_dim"]), 50 + index)
        made.append(calls.outputs("TransformerBlock", [cfg], x, seed=60 + index,
                                  shown_x=f"a tensor of shape {tuple(x.shape)}", repeat=1 + index))
        made.append(calls.residual(cfg, x, seed=70 + index))
    cfg = calls.config(emb=16, heads=2, context=8, drop=calls.TRAIN_P)
    made.append(calls.shortcut_dropout(cfg, calls.randn((8, 8, 16), 80), seed=81))
    return tuple(made)


def test_adds_each_branch_to_its_input(submission):
    for call in _calls():
        judged(submission, call)
