"""manual_cross_entropy(logits, targets) -> 0-dim tensor, agreeing with torch's cross-entropy.

Correct implementations differ from torch's by float32 rounding (about 1e-7 relative); a wrong
one is off by far more, so a relative tolerance of 1e-5 separates them.
"""

import pytest
import torch

from autograder import expect
from autograder.assignments.tokens_and_loss import cases, hints
from solutions import tokens_and_loss as reference

pytestmark = pytest.mark.student_function("manual_cross_entropy")

RTOL = 1e-5


def check_loss(submission, logits, targets):
    call = f"manual_cross_entropy(logits of shape {tuple(logits.shape)}, targets of shape {tuple(targets.shape)})"
    checked = hints.call(submission, "manual_cross_entropy", (logits, targets))
    with checked.hinting():
        loss = expect.tensor(checked.value, what=call, shape=(),
                             hint="Return the mean as a 0-dimensional tensor (a scalar), not a list or a float.")
        expect.close(loss, reference.manual_cross_entropy(logits, targets),
                     what=f"{call}, compared with torch's cross_entropy", rtol=RTOL)
        # F.cross_entropy, F.nll_loss, nn.CrossEntropyLoss, nn.NLLLoss and torch._C._nn all end in one of
        # these aten ops, however they are reached (getattr included).
        used = sorted(checked.ops & hints.TORCH_LOSS_OPS)
        assert not used, f"{call} used PyTorch's own loss ({', '.join(used)})."
    return loss


@pytest.mark.visible
def test_book_example(submission):
    loss = check_loss(submission, *cases.book_batch())
    expect.close(loss, torch.tensor(cases.BOOK_LOSS), what="loss of the book's batch", rtol=1e-4)


@pytest.mark.parametrize("case", cases.CASES, ids=str)
def test_agrees_with_torch(submission, case):
    check_loss(submission, *cases.batch(case))
