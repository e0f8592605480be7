"""text_to_token_ids(text, tokenizer) -> torch.long tensor of shape (1, n)."""

import pytest
import torch

from autograder import expect
from autograder.assignments.tokens_and_loss import hints
from autograder.assignments.tokens_and_loss.cases import TEXTS
from solutions import tokens_and_loss as reference

pytestmark = pytest.mark.student_function("text_to_token_ids")


def check_encodes(submission, tokenizer, student_tokenizer, text):
    expected = reference.text_to_token_ids(text, tokenizer)
    call = f"text_to_token_ids({text!r}, tokenizer)"
    checked = hints.call(submission, "text_to_token_ids", (text, tokenizer), (text, student_tokenizer))
    with checked.hinting():
        ids = expect.tensor(checked.value, what=call, dtype=torch.long, shape=tuple(expected.shape))
        assert torch.equal(ids, expected), f"{call} returned {ids.tolist()}; expected {expected.tolist()}."


@pytest.mark.visible
def test_book_example(submission, tokenizer, student_tokenizer):
    check_encodes(submission, tokenizer, student_tokenizer, "every effort moves")


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_matches_tiktoken(submission, tokenizer, student_tokenizer, text):
    check_encodes(submission, tokenizer, student_tokenizer, text)
