"""Sampled token sequences, judged by what every correct sampler does, whatever its random draws.

The model a call gave the sampler is known (``models``), so any sequence it returned can be judged
token by token: the judge recomputes, for each drawn token, the distribution given everything
before it (up to ``context`` tokens, as the sampler must crop it), whatever the prompt's length.
"""

from __future__ import annotations

import math
from typing import Any

from . import models
from .values import describe

TIE = 1e-4  # logits this close to the k-th largest count as inside the top k: rounding differs by ~1e-6


def sampled(spec: dict, value: Any) -> str | None:
    """{"model": spec, "prompt": [ids], "context", "top_k", "temperature", "largest"?, "rate"?,
    "false_failure", "what"}: every token after the prompt is one of the ``top_k`` most likely
    (least likely with "largest": false) given the tokens before it; with "rate", the most likely of
    them is drawn about as often as softmax(top-k logits / temperature) says.

    The rate: the count of draws of the most likely token minus the sum of its probabilities is a
    martingale whose every step lies in an interval of length 1 known before the draw ([-p, 1 - p]),
    so by Azuma-Hoeffding a correct sampler is farther than sqrt(n ln(2 / false_failure) / 2) from
    it with probability below ``false_failure``, however many steps n there are and whatever the
    contexts were.
    """
    import torch

    if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[0] != 1 or value.is_floating_point():
        return f"expected a (1, n) tensor of token ids, got {describe(value)}."
    tokens, prompt = tuple(value[0].tolist()), list(spec["prompt"])
    if list(tokens[:len(prompt)]) != prompt:
        return f"{spec['what']}: the returned ids do not start with the prompt {prompt}."
    vocab = spec["model"]["config"]["vocab_size"]
    if any(not 0 <= token < vocab for token in tokens):
        return f"{spec['what']}: it returned token ids outside the vocabulary (0 to {vocab - 1})."
    if len(tokens) == len(prompt):
        return None
    logits = models.logits_along(spec["model"], tokens, len(prompt), spec["context"])
    k, largest = spec["top_k"], spec.get("largest", True)
    top = torch.topk(logits, k, dim=-1, largest=largest)
    drawn = torch.tensor(tokens[len(prompt):])
    own = logits.gather(1, drawn.view(-1, 1))[:, 0]
    kth = top.values[:, -1]
    inside = own >= kth - TIE if largest else own <= kth + TIE
    if not bool(inside.all()):
        step = int((~inside).nonzero()[0])
        position, before = len(prompt) + step, min(len(prompt) + step, spec["context"])
        return (f"{spec['what']}: token {tokens[position]} at position {position} is not one of the {k} the "
                f"sampler may draw there (given the {before} tokens before it), {sorted(top.indices[step].tolist())}.")
    if not spec.get("rate"):
        return None
    p = torch.softmax(top.values / spec["temperature"], dim=-1)[:, 0]
    count, mean = int((drawn == top.indices[:, 0]).sum()), float(p.sum())
    bound = math.sqrt(len(drawn) * math.log(2 / spec["false_failure"]) / 2)
    if abs(count - mean) <= bound:
        return None
    return (f"{spec['what']}: the most likely token was drawn {count} times in {len(drawn)} steps; sampling "
            f"from softmax(logits / temperature) draws it about {mean:.0f} times (a gap over {bound:.0f} "
            f"happens by chance less than once in {1 / spec['false_failure']:,.0f} checks).")
