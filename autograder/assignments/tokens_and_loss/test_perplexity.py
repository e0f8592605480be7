"""perplexity(loss) -> exp(loss) as a tensor."""


import pytest
import torch

from autograder import expect
from autograder.assignments.tokens_and_loss import cases, hints
from solutions import tokens_and_loss as reference

pytestmark = pytest.mark.student_function("perplexity")


def check_perplexity(submission, loss):
    call = f"perplexity(tensor({float(loss):.4f}))"
    checked = hints.call(submission, "perplexity", (loss,))
    with checked.hinting():
        got = expect.tensor(checked.value, what=call, shape=tuple(loss.shape))
        expect.close(got, reference.perplexity(loss), what=call, rtol=1e-5)
    return got


@pytest.mark.visible
def test_book_example(submission):
    logits, targets = cases.book_batch()
    got = check_perplexity(submission, reference.manual_cross_entropy(logits, targets))
    expect.close(got, torch.tensor(cases.BOOK_PERPLEXITY), what="perplexity of the book's batch", rtol=1e-4)


@pytest.mark.parametrize("value", [0.0, 1.0, 2.5, 7.25])
def test_is_exp_of_loss(submission, value):
    check_perplexity(submission, torch.tensor(value))


@pytest.mark.parametrize("case", cases.CASES[1:2], ids=str)
def test_near_vocabulary_size_when_untrained(submission, case):
    got = check_perplexity(submission, reference.manual_cross_entropy(*cases.batch(case)))
    vocab = cases.CONFIG["vocab_size"]
    assert vocab / 3 < float(got) < vocab * 3, (
        f"an untrained model's perplexity should be near the vocabulary size ({vocab}); got {float(got):.1f}.")
