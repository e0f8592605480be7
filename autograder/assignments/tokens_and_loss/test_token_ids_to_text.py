"""token_ids_to_text(token_ids, tokenizer) -> str, for (1, n) and (n,) tensors."""

import pytest
import torch

from autograder.assignments.tokens_and_loss import calls
from autograder.assignments.tokens_and_loss.cases import TEXTS
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("token_ids_to_text")


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_batch_of_one(submission, tokenizer, text):
    ids = torch.tensor([tokenizer.encode(text, allowed_special={"<|endoftext|>"})])
    judged(submission, calls.token_ids_to_text(ids, text))


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_single_row(submission, tokenizer, text):
    ids = torch.tensor(tokenizer.encode(text, allowed_special={"<|endoftext|>"}))
    judged(submission, calls.token_ids_to_text(ids, text))
