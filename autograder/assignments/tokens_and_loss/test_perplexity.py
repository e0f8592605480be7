"""perplexity(loss) -> exp(loss) as a tensor."""

import pytest
import torch

from autograder.assignments.tokens_and_loss import calls, cases
from autograder.checks.expect import judged
from solutions import tokens_and_loss as reference

pytestmark = pytest.mark.student_function("perplexity")


@pytest.mark.parametrize("value", [0.0, 1.0, 2.5, 7.25])
def test_is_exp_of_loss(submission, value):
    judged(submission, calls.perplexity(torch.tensor(value)))


@pytest.mark.parametrize("case", cases.CASES[1:2], ids=str)
def test_near_vocabulary_size_when_untrained(submission, case):
    got = judged(submission, calls.perplexity(reference.manual_cross_entropy(*cases.batch(case))))
    vocab = cases.CONFIG["vocab_size"]
    assert vocab / 3 < float(got) < vocab * 3, (
        f"an untrained model's perplexity should be near the vocabulary size ({vocab}); got {float(got):.1f}.")
