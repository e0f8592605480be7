"""Fixtures shared by the tokens_and_loss checks: the grader's own tokenizer and a reference to the student's."""

import pytest

from autograder import tokenizer as grader_tokenizer
from autograder.wire import Ref


@pytest.fixture(scope="session", autouse=True)
def tokenizer():
    """GPT-2's tokenizer in the grader's process, for expected values.

    Built before the first check (autouse), while the student's sandbox is still starting: loading
    the vocabulary takes a few tenths of a second that would otherwise come after it.
    """
    return grader_tokenizer.gpt2()


@pytest.fixture(scope="session")
def student_tokenizer():
    """The same tokenizer, built inside the student's process (objects cannot cross the boundary)."""
    return Ref("tiktoken:gpt2")
