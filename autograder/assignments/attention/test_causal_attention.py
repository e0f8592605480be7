"""CausalAttention: the reference's parameters with its mask and with the student's own, shorter
sequences than the context, eval mode deterministic, causality as built, the weights' rows, dropout."""

import pytest

from autograder.assignments.attention import calls
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("CausalAttention")

CONFIGS = [  # (d_in, d_out, context_length, dropout, qkv_bias), batch, n
    ({"d_in": 4, "d_out": 6, "context_length": 8, "dropout": 0.0, "qkv_bias": True}, 3, 5),
    ({"d_in": 6, "d_out": 4, "context_length": 10, "dropout": 0.0, "qkv_bias": False}, 1, 10),
    ({"d_in": 5, "d_out": 5, "context_length": 6, "dropout": 0.0, "qkv_bias": False}, 2, 6),
]


@pytest.mark.parametrize("config, batch, n", CONFIGS)
def test_context_vectors_with_the_reference_parameters(submission, config, batch, n):
    judged(submission, calls.outputs("CausalAttention", config, calls.randn((batch, n, config["d_in"]), n), seed=n))


@pytest.mark.parametrize("n", [5, 8])
def test_its_own_mask_hides_the_future(submission, n):
    config = {"d_in": 4, "d_out": 6, "context_length": 8, "dropout": 0.0, "qkv_bias": True}
    judged(submission, calls.outputs("CausalAttention", config, calls.randn((2, n, 4), 40 + n), seed=7,
                                     own_mask=True))


def test_eval_mode_is_deterministic(submission):
    config = {"d_in": 4, "d_out": 4, "context_length": 8, "dropout": 0.5, "qkv_bias": False}
    judged(submission, calls.outputs("CausalAttention", config, calls.randn((2, 6, 4), 3), seed=3, repeat=2))


def test_no_token_sees_later_ones_as_built(submission):
    config = {"d_in": 4, "d_out": 6, "context_length": 8, "dropout": 0.0, "qkv_bias": True}
    judged(submission, calls.causality("CausalAttention", config, calls.randn((7, 4), 12), cuts=(1, 4), seed=12))


@pytest.mark.parametrize("train", [False, True], ids=["weights_sum_to_one", "dropout_on_the_weights"])
def test_attention_weights(submission, train):
    judged(submission, calls.weights_shown("CausalAttention", n=12, heads=1, p=calls.TRAIN_P, batch=8, train=train))
