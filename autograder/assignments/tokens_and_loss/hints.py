"""Known mistakes in tokens_and_loss and the hint each one earns, in one table.

A mistake is recognised from what the student's function did with the grader's inputs (the value
it returned, the error it raised, the torch ops it ran), never from the student's variable names:
each detector recomputes the wrong answer the mistake would give and compares. The kit's corpus
test proves every hint fires on its mistake and on no correct submission.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from autograder.submission import StudentCodeFailed
from solutions import tokens_and_loss as reference

TORCH_LOSS_OPS = frozenset({"aten.nll_loss_forward", "aten.nll_loss2d_forward", "aten.nll_loss_nd", "aten.nll_loss",
                            "aten.cross_entropy_loss", "aten.nll_loss2d"})


@dataclass(frozen=True)
class Attempt:
    """One call of a student function: its inputs, and what came back (a value, or an error message)."""

    function: str
    args: tuple
    value: Any = None
    error: str = ""
    ops: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Hint:
    name: str
    function: str
    text: str
    matches: Callable[[Attempt], bool]


def _close(value: Any, expected: torch.Tensor, rtol: float = 1e-4) -> bool:
    if not isinstance(value, torch.Tensor) or value.shape != expected.shape or not value.is_floating_point():
        return False
    return bool(torch.isclose(value.double(), expected.double(), rtol=rtol, atol=1e-12).all())


def _picked(probas: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.gather(probas, -1, targets.unsqueeze(-1)).squeeze(-1)


def _ids(attempt: Attempt) -> torch.Tensor:
    text, tokenizer = attempt.args
    return reference.text_to_token_ids(text, tokenizer)


def _text(attempt: Attempt) -> str:
    return reference.token_ids_to_text(*attempt.args)


def _loss(attempt: Attempt) -> torch.Tensor:
    return reference.manual_cross_entropy(*attempt.args)


HINTS = (
    Hint("missing_batch_dimension", "text_to_token_ids",
         "The model expects a batch: add a batch dimension with `.unsqueeze(0)`, so shape (n,) becomes (1, n).",
         lambda a: isinstance(a.value, torch.Tensor) and a.value.dim() == 1
         and a.value.tolist() == _ids(a)[0].tolist()),
    Hint("special_token_not_allowed", "text_to_token_ids",
         'tiktoken refuses "<|endoftext|>" in text unless you allow it: '
         '`tokenizer.encode(text, allowed_special={"<|endoftext|>"})`.',
         lambda a: "disallowed special token" in a.error),
    Hint("ids_not_integers", "text_to_token_ids",
         "Token ids are integers: build the tensor from the list as it is (torch.long), without a float dtype.",
         lambda a: isinstance(a.value, torch.Tensor) and a.value.is_floating_point()),
    Hint("decode_nested_list", "token_ids_to_text",
         "`.tolist()` of a (1, n) tensor is a nested list, which `decode` cannot read: "
         "remove the batch dimension first with `.squeeze(0)`.",
         lambda a: isinstance(a.args[0], torch.Tensor) and a.args[0].dim() == 2 and "TypeError" in a.error),
    Hint("stripped_spaces", "token_ids_to_text",
         "Do not strip the decoded text: GPT-2 tokens carry their leading spaces, and they are part of the text.",
         lambda a: isinstance(a.value, str) and a.value != _text(a) and a.value == _text(a).strip()),
    Hint("hardcoded_positions", "target_probas",
         "The positions must follow the input: index them with `torch.arange(targets.shape[1])`, "
         "not the example's `[0, 1, 2]`.",
         lambda a: a.args[1].shape[1] != 3 and ("shape mismatch" in a.error or "out of bounds" in a.error
                                               or (isinstance(a.value, torch.Tensor) and a.value.dim() == 2
                                                   and a.value.shape[1] == 3))),
    Hint("first_row_only", "target_probas",
         "Every row of the batch needs its probabilities, not only the first: index rows with "
         "`torch.arange(batch)[:, None]`, or use `torch.gather`.",
         lambda a: a.args[1].shape[0] > 1 and _close(a.value, _picked(*a.args)[:1])),
    Hint("predicted_not_target", "target_probas",
         "That is the probability of the most likely token; training needs the probability of the target "
         "token, `probas[b, t, targets[b, t]]`.",
         lambda a: _close(a.value, a.args[0].max(dim=-1).values)
         and not _close(a.value, _picked(*a.args))),
    Hint("torch_loss_used", "manual_cross_entropy",
         "manual_cross_entropy must compute the loss by hand (softmax, pick, log, mean, negate), not call "
         "torch's cross_entropy or nll_loss.",
         lambda a: bool(a.ops & TORCH_LOSS_OPS)),
    Hint("sum_not_mean", "manual_cross_entropy",
         "Average over all positions with `torch.mean`: a sum grows with the batch and the sequence length.",
         lambda a: a.args[1].numel() > 1 and _close(a.value, _loss(a) * a.args[1].numel())),
    Hint("missing_minus", "manual_cross_entropy",
         "The loss is the *negative* mean log-probability: log-probabilities are negative, the loss is positive.",
         lambda a: _close(a.value, -_loss(a))),
    Hint("log_of_logits", "manual_cross_entropy",
         "Turn logits into probabilities with softmax before taking the log: logits can be negative, "
         "and their log is not a log-probability.",
         lambda a: isinstance(a.value, torch.Tensor) and a.value.is_floating_point()
         and a.value.numel() == 1 and math.isnan(float(a.value))),
    Hint("softmax_wrong_dim", "manual_cross_entropy",
         "Apply softmax over the vocabulary, the last dimension (`dim=-1`), so each position's scores sum to 1.",
         lambda a: a.args[0].shape[0] > 1 and _close(
             a.value, -torch.log(_picked(torch.softmax(a.args[0], dim=0), a.args[1])).mean())),
    Hint("exp_of_negative_loss", "perplexity",
         "Perplexity is `exp(loss)`, not `exp(-loss)`: it grows as the model gets worse.",
         lambda a: float(a.args[0]) != 0 and _close(a.value, torch.exp(-a.args[0]))),
    Hint("base_two", "perplexity",
         "Use the natural exponential, `torch.exp(loss)`: cross-entropy here is in nats, not bits.",
         lambda a: float(a.args[0]) != 0 and _close(a.value, 2 ** a.args[0])),
    Hint("returns_float", "perplexity",
         "Return a tensor: `torch.exp(loss)` rather than `math.exp`, so it works on tensors and batches.",
         lambda a: isinstance(a.value, float)),
)


def hints_for(attempt: Attempt) -> list[Hint]:
    """The hints whose mistake this attempt shows (a detector that fails to apply simply does not fire)."""
    found = []
    for hint in HINTS:
        if hint.function != attempt.function:
            continue
        try:
            if hint.matches(attempt):
                found.append(hint)
        except Exception:  # noqa: BLE001 - an odd value must not break feedback
            continue
    return found


def _hinted(exc: Exception, hints: list[Hint]) -> Exception:
    """Attach the hints to the failure; the grader's plugin files them beside the message."""
    exc.hints = tuple((hint.name, hint.text) for hint in hints)
    return exc


class Checked:
    """A student call under check: failures raised inside ``hinting()`` get the matching hints."""

    def __init__(self, function: str, args: tuple, value: Any, ops: frozenset[str]):
        self.function, self.args, self.value, self.ops = function, args, value, ops

    @contextlib.contextmanager
    def hinting(self):
        try:
            yield self
        except AssertionError as exc:
            message = str(exc).split("\nassert ")[0].strip()
            hints = hints_for(Attempt(self.function, self.args, value=self.value, ops=self.ops))
            raise _hinted(AssertionError(message), hints) from None


def call(submission, function: str, args: tuple, sent: tuple | None = None) -> Checked:
    """Call ``function`` with ``sent`` (default ``args``); ``args`` are the grader-side inputs hints use."""
    try:
        reply = submission.call_traced(function, *(sent if sent is not None else args))
    except StudentCodeFailed as exc:
        raise _hinted(StudentCodeFailed(str(exc)), hints_for(Attempt(function, args, error=str(exc)))) from None
    return Checked(function, args, reply.value, reply.ops)
