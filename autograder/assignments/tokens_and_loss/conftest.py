"""Fixtures shared by the tokens_and_loss checks: the grader's own tokenizer."""

import pytest

from autograder.assignments.tokens_and_loss import tokenizer as grader_tokenizer


@pytest.fixture(scope="session", autouse=True)
def tokenizer():
    """GPT-2's tokenizer in the grader's process, for expected values.

    Built before the first check (autouse), while the student's sandbox is still starting: loading
    the vocabulary takes a few tenths of a second that would otherwise come after it.
    """
    return grader_tokenizer.gpt2()
