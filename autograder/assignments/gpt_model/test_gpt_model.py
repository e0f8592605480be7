"""GPTModel(cfg): logits with the reference's parameters (one to three blocks, biased or not,
sequences shorter than the context and as long), and greedy generation with them."""

from functools import cache

import pytest
import torch

from autograder.assignments.gpt_model import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("GPTModel")
CASES = [  # config, token ids shape
    (calls.config(vocab=61, context=10, emb=12, heads=3, layers=3, drop=0.1, bias=True), (2, 5)),
    (calls.config(vocab=50, context=6, emb=8, heads=2, layers=1), (1, 6)),
]


@cache
def _calls():
    made = []
    for index, (cfg, shape) in enumerate(CASES):
        ids = calls.token_ids(shape, 90 + index, cfg["vocab_size"])
        made.append(calls.outputs("GPTModel", [cfg], ids, seed=95 + index, shown_x=f"token ids of shape {shape}"))
    made.append(calls.generation(CASES[1][0], torch.tensor([[4, 7]]), 9, seed=97))
    return tuple(made)


def test_logits_and_greedy_tokens(submission):
    for call in _calls():
        judged(submission, call)
