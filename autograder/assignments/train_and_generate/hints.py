"""Known mistakes in train_and_generate and the hint each one earns, in one table.

As in tokens_and_loss, a mistake is recognised from what the student's function did with the
grader's inputs, never from the student's code: ``when`` computes, from the reference answers,
a matcher (plain data, see ``checker.judge.holds``) for the outcome the mistake would give on
this call's inputs, which ``calls`` describes in a ``case`` dict. The corpus test proves every hint
fires on its mistake and on no correct submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from autograder.assignments.train_and_generate import cases
from autograder.assignments.train_and_generate.support import probe_loss
from solutions import train_and_generate as reference


@dataclass(frozen=True)
class Hint:
    name: str
    function: str
    text: str
    when: Callable[[dict], dict | None]  # the matcher for this call's case; None: it cannot show here


def _off_by_one(case: dict) -> dict | None:
    rows, length = case["rows"], case["max_length"]
    shapes = [[rows + 1, length], [rows, length + 1], [rows, length - 1]] + ([[rows - 1, length]] if rows > 1 else [])
    return {"any": [{"raised": "stack expects each tensor to be equal size"},
                    *({"item": [0, {"shape": shape}]} for shape in shapes)]}


def _params(case: dict, **mistake) -> list[dict]:
    """The parameters a step with ``mistake`` leaves, with the kit's stand-in loss and the real one."""
    return [cases.step(case["spec"], case["optimizer"], case["x"], case["y"], loss, case["count"], **mistake)
            for loss in (probe_loss, reference.calc_loss_batch)]


def _after(expected: list[dict]) -> dict:
    return {"params": {"arg": 0, "expected": expected, "atol": 1e-6, "what": ""}}


def _rate_at_temperature_one(case: dict) -> dict | None:
    sampled = case.get("sampled")
    if not sampled or not sampled.get("rate"):
        return None
    return {"all": [{"sampled": {**sampled, "temperature": 1.0}}, {"not": {"sampled": sampled}}]}


def _smallest_k(case: dict) -> dict | None:
    if case.get("top_k") == 1 and case.get("temperature"):  # one token kept: the least likely, every step
        return {"equal": cases.least_likely(case["spec"], case["prompt"], case["new"], case["context"])}
    sampled = case.get("sampled")
    if not sampled:
        return None
    return {"all": [{"sampled": {**sampled, "largest": False, "rate": False}}, {"not": {"sampled": sampled}}]}


def _not_cropped(case: dict) -> dict | None:
    if case["prompt"].shape[1] <= case["context"]:
        return None
    if case["prompt"].shape[1] + case["new"] > case["spec"]["config"]["context_length"]:
        return {"raised": "index out of range"}  # more positions than the model has
    return {"equal": cases.greedy(case["spec"], case["prompt"], case["new"], case["context"], crop=False)}


def _eos_appended(case: dict) -> dict | None:
    eos = case.get("eos")
    if eos is None:
        return None
    kept = cases.greedy(case["spec"], case["prompt"], case["new"], case["context"], eos=eos)
    return {"equal": torch.cat([kept, torch.tensor([[eos]])], dim=1)}


HINTS = (
    Hint("windows_off_by_one", "input_target_pairs",
         "Count the windows again: one starts at every `i` in `range(0, len(token_ids) - max_length, stride)`, "
         "and each is `token_ids[i:i + max_length]`, exactly `max_length` long; its target is the same slice "
         "moved one token right, `token_ids[i + 1:i + max_length + 1]`.",
         _off_by_one),
    Hint("targets_not_shifted", "input_target_pairs",
         "The targets are the inputs shifted one token to the right (`token_ids[i + 1:i + max_length + 1]`): "
         "at every position the model learns to predict the next token, not the one it already sees.",
         lambda case: {"item": [1, {"equal": case["inputs"]}]}),
    Hint("sum_not_mean", "calc_loss_batch",
         "Average the loss over every position (cross_entropy's default `reduction='mean'`): a sum grows with "
         "the batch size and the window length.",
         lambda case: {"close": torch.tensor(case["loss"] * case["x"].numel())} if case["x"].numel() > 1 else None),
    Hint("forgotten_zero_grad", "train_step",
         "Clear the old gradients first, with the optimizer's `zero_grad()`: PyTorch adds new gradients to those "
         "already in `.grad`, so without it the previous batch's gradients leak into this step.",
         lambda case: _after(_params(case, zero_grad=False)) if case["spec"]["grad"] or case["count"] > 1 else None),
    Hint("step_before_backward", "train_step",
         "The order is: clear the gradients (`zero_grad()`), compute the loss, backpropagate it (`backward()`), "
         "then step the optimizer (`step()`): the step uses the gradients that backward has just computed.",
         lambda case: _after([cases.before(case["spec"]), *_params(case, backward=False),
                              *_params(case, zero_grad=False, backward=False)])),
    Hint("temperature_after_softmax", "generate",
         "Divide the logits by the temperature *before* the softmax, `softmax(logits / temperature)`: dividing "
         "the probabilities afterwards changes nothing once they are normalised, so the temperature is lost.",
         _rate_at_temperature_one),
    Hint("smallest_k_kept", "generate",
         "Keep the k *largest* logits: `torch.topk(logits, top_k)` returns them, largest first, and every logit "
         "below the k-th largest becomes -inf.",
         _smallest_k),
    Hint("context_not_cropped", "generate",
         "Feed the model only the last `context_size` tokens, `idx[:, -context_size:]`: it has no positions "
         "beyond its context.",
         _not_cropped),
    Hint("eos_appended", "generate",
         "When the chosen token is `eos_id`, stop before appending it: the end token is not part of the text.",
         _eos_appended),
)


def mistakes_for(function: str, case: dict) -> list[dict]:
    """The known mistakes that could show on this call, as plain data: {"name", "text", "when": matcher}."""
    return [{"name": hint.name, "text": hint.text, "when": when}
            for hint in HINTS if hint.function == function and (when := hint.when(case)) is not None]
