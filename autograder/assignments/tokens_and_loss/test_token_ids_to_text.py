"""token_ids_to_text(token_ids, tokenizer) -> str, for (1, n) and (n,) tensors."""

import pytest
import torch

from autograder.assignments.tokens_and_loss import hints
from autograder.assignments.tokens_and_loss.cases import TEXTS
from autograder.submission import describe_value

pytestmark = pytest.mark.student_function("token_ids_to_text")


def check_decodes(submission, tokenizer, student_tokenizer, ids, expected):
    checked = hints.call(submission, "token_ids_to_text", (ids, tokenizer), (ids, student_tokenizer))
    call = f"token_ids_to_text({describe_value(ids)}, tokenizer)"
    with checked.hinting():
        text = checked.value
        assert isinstance(text, str), f"{call} should return a str; it returned {describe_value(text)}."
        assert text == expected, f"{call} returned {text!r}; expected {expected!r}."


@pytest.mark.visible
def test_book_example(submission, tokenizer, student_tokenizer):
    check_decodes(submission, tokenizer, student_tokenizer, torch.tensor([[16833, 3626, 6100]]), "every effort moves")
    check_decodes(submission, tokenizer, student_tokenizer, torch.tensor([3626, 6100, 345]), " effort moves you")


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_batch_of_one(submission, tokenizer, student_tokenizer, text):
    ids = torch.tensor([tokenizer.encode(text, allowed_special={"<|endoftext|>"})])
    check_decodes(submission, tokenizer, student_tokenizer, ids, text)


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_single_row(submission, tokenizer, student_tokenizer, text):
    ids = torch.tensor(tokenizer.encode(text, allowed_special={"<|endoftext|>"}))
    check_decodes(submission, tokenizer, student_tokenizer, ids, text)
