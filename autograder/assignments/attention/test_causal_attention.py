"""CausalAttention: the reference's parameters with its mask and with the student's own, shorter
sequences than the context, eval mode deterministic, causality as built, the weights' rows, dropout."""

from functools import cache

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("CausalAttention")

CONFIGS = [  # (d_in, d_out, context_length, dropout, qkv_bias), batch, n
    ({"d_in": 4, "d_out": 6, "context_length": 8, "dropout": 0.0, "qkv_bias": True}, 3, 5),
    ({"d_in": 6, "d_out": 4, "context_length": 10, "dropout": 0.0, "qkv_bias": False}, 1, 10),
    ({"d_in": 5, "d_out": 5, "context_length": 6, "dropout": 0.0, "qkv_bias": False}, 2, 6),
]
OWN_MASK = {"d_in": 4, "d_out": 6, "context_length": 8, "dropout": 0.0, "qkv_bias": True}


@cache  # every hidden call, built once per grading process rather than once per submission
def _calls() -> dict[str, tuple]:
    return {
        "reference": tuple(calls.outputs("CausalAttention", config, calls.randn((batch, n, config["d_in"]), n), seed=n)
                           for config, batch, n in CONFIGS),
        "own_mask": tuple(calls.outputs("CausalAttention", OWN_MASK, calls.randn((2, n, 4), 40 + n), seed=7,
                                        own_mask=True) for n in (5, 8)),
        "eval": (calls.outputs("CausalAttention", {**OWN_MASK, "d_out": 4, "dropout": 0.5, "qkv_bias": False},
                               calls.randn((2, 6, 4), 3), seed=3, repeat=2),),
        "causal": (calls.causality("CausalAttention", OWN_MASK, calls.randn((7, 4), 12), cuts=(1, 4), seed=12),),
        "weights": tuple(calls.weights_shown("CausalAttention", n=12, heads=1, p=calls.TRAIN_P, batch=8, train=train)
                         for train in (False, True)),
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
