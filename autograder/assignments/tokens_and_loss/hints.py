"""Known mistakes in tokens_and_loss and the hint each one earns, in one table.

A mistake is recognised from what the student's function did with the grader's inputs (the value
it returned, the error it raised, the torch ops it ran), never from the student's variable names.
For each call, ``when`` computes, from the reference answers, what the mistake would give on
those inputs: a matcher, plain data that ``checker.judge.holds`` tests on the outcome. So
the grader and the release's own checker (which ships the matchers of the visible checks as data)
recognise mistakes the same way. The kit's corpus test proves every hint fires on its mistake and
on no correct submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from autograder.sandbox.inside.checker.judge import Outcome, shown_mistakes
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
    when: Callable[[tuple], dict | None]  # the matcher for these inputs; None: the mistake cannot show on them


def _picked(probas: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.gather(probas, -1, targets.unsqueeze(-1)).squeeze(-1)


def _loss(args: tuple) -> torch.Tensor:
    return reference.manual_cross_entropy(*args)


def _stripped(args: tuple) -> dict | None:
    text = reference.token_ids_to_text(*args)
    return {"equal": text.strip()} if text != text.strip() else None


HINTS = (
    Hint("missing_batch_dimension", "text_to_token_ids",
         "The model expects a batch: add a batch dimension with `.unsqueeze(0)`, so shape (n,) becomes (1, n).",
         lambda args: {"same_values": {"dim": 1, "values": reference.text_to_token_ids(*args)[0].tolist()}}),
    Hint("special_token_not_allowed", "text_to_token_ids",
         'tiktoken refuses "<|endoftext|>" in text unless you allow it: '
         '`tokenizer.encode(text, allowed_special={"<|endoftext|>"})`.',
         lambda args: {"raised": "disallowed special token"}),
    Hint("ids_not_integers", "text_to_token_ids",
         "Token ids are integers: build the tensor from the list as it is (torch.long), without a float dtype.",
         lambda args: {"floating": True}),
    Hint("decode_nested_list", "token_ids_to_text",
         "`.tolist()` of a (1, n) tensor is a nested list, which `decode` cannot read: "
         "remove the batch dimension first with `.squeeze(0)`.",
         lambda args: {"raised": "TypeError"} if args[0].dim() == 2 else None),
    Hint("stripped_spaces", "token_ids_to_text",
         "Do not strip the decoded text: GPT-2 tokens carry their leading spaces, and they are part of the text.",
         _stripped),
    Hint("hardcoded_positions", "target_probas",
         "The positions must follow the input: index them with `torch.arange(targets.shape[1])`, "
         "not the example's `[0, 1, 2]`.",
         lambda args: {"any": [{"raised": "shape mismatch"}, {"raised": "out of bounds"},
                               {"columns": 3}]} if args[1].shape[1] != 3 else None),
    Hint("first_row_only", "target_probas",
         "Every row of the batch needs its probabilities, not only the first: index rows with "
         "`torch.arange(batch)[:, None]`, or use `torch.gather`.",
         lambda args: {"close": _picked(*args)[:1]} if args[1].shape[0] > 1 else None),
    Hint("predicted_not_target", "target_probas",
         "That is the probability of the most likely token; training needs the probability of the target "
         "token, `probas[b, t, targets[b, t]]`.",
         lambda args: {"all": [{"close": args[0].max(dim=-1).values}, {"not": {"close": _picked(*args)}}]}),
    Hint("torch_loss_used", "manual_cross_entropy",
         "manual_cross_entropy must compute the loss by hand (softmax, pick, log, mean, negate), not call "
         "torch's cross_entropy or nll_loss.",
         lambda args: {"ops_any": sorted(TORCH_LOSS_OPS)}),
    Hint("sum_not_mean", "manual_cross_entropy",
         "Average over all positions with `torch.mean`: a sum grows with the batch and the sequence length.",
         lambda args: {"close": _loss(args) * args[1].numel()} if args[1].numel() > 1 else None),
    Hint("missing_minus", "manual_cross_entropy",
         "The loss is the *negative* mean log-probability: log-probabilities are negative, the loss is positive.",
         lambda args: {"close": -_loss(args)}),
    Hint("log_of_logits", "manual_cross_entropy",
         "Turn logits into probabilities with softmax before taking the log: logits can be negative, "
         "and their log is not a log-probability.",
         lambda args: {"nan_scalar": True}),
    Hint("softmax_wrong_dim", "manual_cross_entropy",
         "Apply softmax over the vocabulary, the last dimension (`dim=-1`), so each position's scores sum to 1.",
         lambda args: {"close": -torch.log(_picked(torch.softmax(args[0], dim=0), args[1])).mean()}
         if args[0].shape[0] > 1 else None),
    Hint("exp_of_negative_loss", "perplexity",
         "Perplexity is `exp(loss)`, not `exp(-loss)`: it grows as the model gets worse.",
         lambda args: {"close": torch.exp(-args[0])} if float(args[0]) != 0 else None),
    Hint("base_two", "perplexity",
         "Use the natural exponential, `torch.exp(loss)`: cross-entropy here is in nats, not bits.",
         lambda args: {"close": 2 ** args[0]} if float(args[0]) != 0 else None),
    Hint("returns_float", "perplexity",
         "Return a tensor: `torch.exp(loss)` rather than `math.exp`, so it works on tensors and batches.",
         lambda args: {"float": {}}),
)


def mistakes_for(function: str, args: tuple) -> list[dict]:
    """The known mistakes that could show on a call of ``function`` with ``args``, as plain data:
    {"name", "text", "when": matcher}. Part of every check's description, and of the release's."""
    return [{"name": hint.name, "text": hint.text, "when": when}
            for hint in HINTS if hint.function == function and (when := hint.when(args)) is not None]


def hints_for(attempt: Attempt) -> list[Hint]:
    """The hints whose mistake this attempt shows, found as the judge finds them."""
    by_name = {hint.name: hint for hint in HINTS}
    outcome = Outcome("", attempt.value, attempt.error, frozenset(attempt.ops))
    return [by_name[name] for name, _ in shown_mistakes(mistakes_for(attempt.function, attempt.args), outcome)]
