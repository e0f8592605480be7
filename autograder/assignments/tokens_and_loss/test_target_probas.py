"""target_probas(probas, targets) -> (batch, seq) tensor of probas[b, t, targets[b, t]]."""

import pytest
import torch

from autograder import expect
from autograder.assignments.tokens_and_loss import cases, hints
from solutions import tokens_and_loss as reference

pytestmark = pytest.mark.student_function("target_probas")


def check_target_probas(submission, logits, targets):
    probas = torch.softmax(logits, dim=-1)
    call = f"target_probas(probas of shape {tuple(probas.shape)}, targets of shape {tuple(targets.shape)})"
    checked = hints.call(submission, "target_probas", (probas, targets))
    with checked.hinting():
        got = expect.tensor(checked.value, what=call, shape=tuple(targets.shape))
        expect.close(got, reference.target_probas(probas, targets), what=call, rtol=1e-6)
    return got


@pytest.mark.visible
def test_book_example(submission):
    got = check_target_probas(submission, *cases.book_batch())
    expect.close(got[0], torch.tensor(cases.BOOK_TARGET_PROBAS_ROW0), what="target probabilities of row 0",
                 rtol=1e-4)


@pytest.mark.parametrize("case", cases.CASES, ids=str)
def test_any_shape(submission, case):
    check_target_probas(submission, *cases.batch(case))
