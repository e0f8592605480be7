"""MultiHeadAttention: head counts from 1 to 4, biased or not, d_in != d_out, shorter sequences than the
context, its own mask, eval mode, causality as built, the weights' rows, dropout, and d_out % num_heads."""

from functools import cache

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("MultiHeadAttention")

CONFIGS = [  # batch, n
    ({"d_in": 4, "d_out": 8, "context_length": 8, "dropout": 0.0, "num_heads": 2, "qkv_bias": True}, 2, 5),
    ({"d_in": 6, "d_out": 12, "context_length": 10, "dropout": 0.0, "num_heads": 3, "qkv_bias": False}, 1, 10),
    ({"d_in": 5, "d_out": 8, "context_length": 6, "dropout": 0.0, "num_heads": 4, "qkv_bias": True}, 3, 6),
    ({"d_in": 8, "d_out": 8, "context_length": 8, "dropout": 0.0, "num_heads": 1, "qkv_bias": False}, 2, 7),
]
TWO_HEADS = {"d_in": 4, "d_out": 8, "context_length": 8, "dropout": 0.0, "num_heads": 2, "qkv_bias": True}


@cache  # every hidden call, built once per grading process rather than once per submission
def _calls() -> dict[str, tuple]:
    return {
        "reference": tuple(calls.outputs("MultiHeadAttention", config, calls.randn((batch, n, config["d_in"]), 100 + n),
                                         seed=config["num_heads"] + n) for config, batch, n in CONFIGS),
        "own_mask": (calls.outputs("MultiHeadAttention", TWO_HEADS, calls.randn((2, 6, 4), 61), seed=9,
                                   own_mask=True),),
        "eval": (calls.outputs("MultiHeadAttention", {**TWO_HEADS, "dropout": 0.5, "qkv_bias": False},
                               calls.randn((2, 6, 4), 4), seed=4, repeat=2),),
        "causal": (calls.causality("MultiHeadAttention", {**TWO_HEADS, "qkv_bias": False}, calls.randn((8, 4), 13),
                                   cuts=(2, 5), seed=13),),
        "weights": tuple(calls.weights_shown("MultiHeadAttention", n=8, heads=2, p=calls.TRAIN_P, batch=8, train=train)
                         for train in (False, True)),
        "indivisible": (calls.indivisible_heads(),),
    }


def _judged(submission, kind: str) -> None:
    for call in _calls()[kind]:
        judged(submission, call)


def test_context_vectors_with_the_reference_parameters(submission):
    _judged(submission, "reference")


def test_its_own_mask_hides_the_future(submission):
    _judged(submission, "own_mask")


def test_eval_mode_is_deterministic(submission):
    _judged(submission, "eval")


def test_no_token_sees_later_ones_as_built(submission):
    _judged(submission, "causal")


def test_attention_weights_sum_to_one_and_are_dropped_on_the_weights(submission):
    _judged(submission, "weights")


def test_refuses_a_d_out_not_divisible_by_num_heads(submission):
    _judged(submission, "indivisible")
