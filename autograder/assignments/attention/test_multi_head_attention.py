"""MultiHeadAttention: head counts from 1 to 4, biased or not, d_in != d_out, shorter sequences than the
context, its own mask, eval mode, causality as built, the weights' rows, dropout, and d_out % num_heads."""

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


@pytest.mark.parametrize("config, batch, n", CONFIGS)
def test_context_vectors_with_the_reference_parameters(submission, config, batch, n):
    x = calls.randn((batch, n, config["d_in"]), 100 + n)
    judged(submission, calls.outputs("MultiHeadAttention", config, x, seed=config["num_heads"] + n))


def test_its_own_mask_hides_the_future(submission):
    config = {"d_in": 4, "d_out": 8, "context_length": 8, "dropout": 0.0, "num_heads": 2, "qkv_bias": True}
    judged(submission, calls.outputs("MultiHeadAttention", config, calls.randn((2, 6, 4), 61), seed=9, own_mask=True))


def test_eval_mode_is_deterministic(submission):
    config = {"d_in": 4, "d_out": 8, "context_length": 8, "dropout": 0.5, "num_heads": 2, "qkv_bias": False}
    judged(submission, calls.outputs("MultiHeadAttention", config, calls.randn((2, 6, 4), 4), seed=4, repeat=2))


def test_no_token_sees_later_ones_as_built(submission):
    config = {"d_in": 4, "d_out": 8, "context_length": 8, "dropout": 0.0, "num_heads": 2, "qkv_bias": False}
    judged(submission, calls.causality("MultiHeadAttention", config, calls.randn((8, 4), 13), cuts=(2, 5), seed=13))


@pytest.mark.parametrize("train", [False, True], ids=["weights_sum_to_one", "dropout_on_the_weights"])
def test_attention_weights(submission, train):
    judged(submission, calls.weights_shown("MultiHeadAttention", n=8, heads=2, p=calls.TRAIN_P, batch=8, train=train))


def test_refuses_a_d_out_not_divisible_by_num_heads(submission):
    judged(submission, calls.indivisible_heads())
