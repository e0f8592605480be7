"""Every graded call of tokens_and_loss, as plain data: the inputs, what must come back, the known mistakes.

A call is a dict that ``checker.judge`` reads (see there): the function, how the call is
shown in messages, its arguments (tensors, strings, or the tokenizer by name), the expectations in
the order they are checked, and the mistakes it could show. The expected values are computed here,
in the grader, from the reference answers. The grader's checks judge these calls; the visible ones
(``visible``) also ship in the release as data, so the student's own ``check.py`` judges them the
same way without the reference answers.
"""

from __future__ import annotations

from functools import cache

import torch

from autograder.assignments.tokens_and_loss import cases, hints
from autograder.assignments.tokens_and_loss import tokenizer as grader_tokenizer
from autograder.assignments.tokens_and_loss.support import TOKENIZER
from autograder.checks.call import Call
from autograder.sandbox.inside.checker.values import describe
from solutions import tokens_and_loss as reference


def _call(function: str, shown: str, args: tuple, expect: list[dict]) -> Call:
    sent = [TOKENIZER if arg is _tokenizer() else arg for arg in args]
    return Call(function, shown, sent, expect, hints.mistakes_for(function, args))


@cache
def _tokenizer():
    return grader_tokenizer.gpt2()


def text_to_token_ids(text: str) -> dict:
    expected = reference.text_to_token_ids(text, _tokenizer())
    return _call("text_to_token_ids", f"text_to_token_ids({text!r}, tokenizer)", (text, _tokenizer()),
                 [{"tensor": {"dtype": "int64", "shape": list(expected.shape)}}, {"equal": expected}])


def token_ids_to_text(ids: torch.Tensor, expected: str) -> dict:
    return _call("token_ids_to_text", f"token_ids_to_text({describe(ids)}, tokenizer)", (ids, _tokenizer()),
                 [{"str": True}, {"equal": expected}])


def target_probas(logits: torch.Tensor, targets: torch.Tensor, book: bool = False) -> dict:
    probas = torch.softmax(logits, dim=-1)
    shown = f"target_probas(probas of shape {tuple(probas.shape)}, targets of shape {tuple(targets.shape)})"
    expect = [{"tensor": {"shape": list(targets.shape)}},
              {"close": reference.target_probas(probas, targets), "rtol": 1e-6, "what": shown}]
    if book:
        expect.append({"close": torch.tensor(cases.BOOK_TARGET_PROBAS_ROW0), "row": 0, "rtol": 1e-4,
                       "what": "target probabilities of row 0"})
    return _call("target_probas", shown, (probas, targets), expect)


# Correct implementations differ from torch's by float32 rounding (about 1e-7 relative); a wrong
# one is off by far more, so a relative tolerance of 1e-5 separates them.
LOSS_RTOL = 1e-5


def manual_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, book: bool = False) -> dict:
    shown = f"manual_cross_entropy(logits of shape {tuple(logits.shape)}, targets of shape {tuple(targets.shape)})"
    expect = [
        {"tensor": {"shape": [],
                    "hint": "Return the mean as a 0-dimensional tensor (a scalar), not a list or a float."}},
        {"close": reference.manual_cross_entropy(logits, targets), "rtol": LOSS_RTOL,
         "what": f"{shown}, compared with torch's cross_entropy"},
        # F.cross_entropy, F.nll_loss, nn.CrossEntropyLoss, nn.NLLLoss and torch._C._nn all end in one
        # of these aten ops, however they are reached (getattr included).
        {"no_ops": sorted(hints.TORCH_LOSS_OPS), "what": "PyTorch's own loss"},
    ]
    if book:
        expect.append({"close": torch.tensor(cases.BOOK_LOSS), "rtol": 1e-4, "what": "loss of the book's batch"})
    return _call("manual_cross_entropy", shown, (logits, targets), expect)


def perplexity(loss: torch.Tensor, book: bool = False) -> dict:
    shown = f"perplexity(tensor({float(loss):.4f}))"
    expect = [{"tensor": {"shape": list(loss.shape)}},
              {"close": reference.perplexity(loss), "rtol": 1e-5, "what": shown}]
    if book:
        expect.append({"close": torch.tensor(cases.BOOK_PERPLEXITY), "rtol": 1e-4,
                       "what": "perplexity of the book's batch"})
    return _call("perplexity", shown, (loss,), expect)


@cache
def visible() -> tuple[Call, ...]:
    """The visible checks: the book's examples, one test per function. The release ships them."""
    logits, targets = cases.book_batch()
    return (
        text_to_token_ids("every effort moves"),
        token_ids_to_text(torch.tensor([[16833, 3626, 6100]]), "every effort moves"),
        token_ids_to_text(torch.tensor([3626, 6100, 345]), " effort moves you"),
        target_probas(logits, targets, book=True),
        manual_cross_entropy(logits, targets, book=True),
        perplexity(reference.manual_cross_entropy(logits, targets), book=True),
    )


def visible_of(function: str) -> list[dict]:
    return [call for call in visible() if call.function == function]
