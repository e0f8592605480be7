"""text_to_token_ids(text, tokenizer) -> torch.long tensor of shape (1, n)."""

import pytest
import torch

from autograder import expect
from autograder.assignments.tokens_and_loss.cases import TEXTS
from solutions import tokens_and_loss as reference

pytestmark = pytest.mark.student_function("text_to_token_ids")


@pytest.mark.visible
def test_book_example(submission, student_tokenizer):
    ids = submission.call("text_to_token_ids", "every effort moves", student_tokenizer)
    ids = expect.tensor(ids, what='text_to_token_ids("every effort moves", tokenizer)', dtype=torch.long,
                        shape=(1, 3))
    assert ids.tolist() == [[16833, 3626, 6100]], f"expected token ids [[16833, 3626, 6100]], got {ids.tolist()}."


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_matches_tiktoken(submission, tokenizer, student_tokenizer, text):
    expected = reference.text_to_token_ids(text, tokenizer)
    call = f"text_to_token_ids({text!r}, tokenizer)"
    ids = expect.tensor(submission.call("text_to_token_ids", text, student_tokenizer), what=call,
                        dtype=torch.long, shape=tuple(expected.shape))
    assert torch.equal(ids, expected), f"{call} returned {ids.tolist()}; expected {expected.tolist()}."
