"""text_to_token_ids(text, tokenizer) -> torch.long tensor of shape (1, n)."""

import pytest

from autograder.assignments.tokens_and_loss import calls
from autograder.assignments.tokens_and_loss.cases import TEXTS
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("text_to_token_ids")


@pytest.mark.parametrize("text", TEXTS, ids=range(1, len(TEXTS) + 1))
def test_matches_tiktoken(submission, text):
    judged(submission, calls.text_to_token_ids(text))
