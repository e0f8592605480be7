"""Attention written as functions of a state dict, right and in each known mistake's way.

The checks need more than the reference classes give: what a module computes with the kit's
stand-ins in place of the student's functions, and what each known mistake gives on a call's
inputs (the hints' matchers). ``output`` computes all of them from one description, and a test
proves that, without mistake or stand-in, it is the reference's (``solutions.attention``).
"""

from __future__ import annotations

import math
from typing import Callable

import torch

SCORING = {
    None: lambda q, k: q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1]),
    "not_scaled": lambda q, k: q @ k.transpose(-2, -1),
    "scaled_by_d_k": lambda q, k: q @ k.transpose(-2, -1) / k.shape[-1],
}
MASK_DIAGONAL = {"diagonal_masked": 0, "wrong_diagonal": 2}  # triu's diagonal in these mistakes (right: 1)


def scores(queries: torch.Tensor, keys: torch.Tensor, mistake: str | None = None) -> torch.Tensor:
    return SCORING.get(mistake, SCORING[None])(queries, keys)


def causal_weights(scores: torch.Tensor, mistake: str | None = None) -> torch.Tensor:
    """The causal softmax, or what a known mistake makes of it."""
    n = scores.shape[-1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=MASK_DIAGONAL.get(mistake, 1))
    if mistake == "mask_after_softmax":
        return torch.softmax(scores, dim=-1).masked_fill(future, 0.0)
    if mistake == "masked_with_zero":
        return torch.softmax(scores.masked_fill(future, 0.0), dim=-1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-2 if mistake == "softmax_dim" else -1)


def _linear(state: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.linear(x, state[f"{name}.weight"], state.get(f"{name}.bias"))


def output(kind: str, state: dict, x: torch.Tensor, num_heads: int = 1, mistake: str | None = None,
           scoring: Callable | None = None, weighting: Callable | None = None) -> torch.Tensor:
    """What the ``kind`` module with ``state`` gives for ``x`` in eval mode; with ``scoring`` and
    ``weighting`` standing in for the two functions (as a module that calls them computes)."""
    with torch.no_grad():
        q, k, v = (_linear(state, name, x) for name in ("W_query", "W_key", "W_value"))
        if kind == "MultiHeadAttention":
            q, k, v = (_split(t, num_heads, mistake) for t in (q, k, v))
        s = scoring(q, k) if scoring else scores(q, k, mistake)
        if kind == "SelfAttention":
            w = torch.softmax(s, dim=-2 if mistake == "softmax_dim" else -1)
        else:
            w = weighting(s) if weighting else causal_weights(s, mistake)
        context = w @ v
        if kind != "MultiHeadAttention":
            return context
        b, h, n, d = context.shape
        merged = (context.reshape(b, n, h * d) if mistake == "heads_merged_before_transpose"
                  else context.transpose(1, 2).reshape(b, n, h * d))
        return merged if mistake == "no_out_proj" else _linear(state, "out_proj", merged)


def _split(t: torch.Tensor, heads: int, mistake: str | None) -> torch.Tensor:
    b, n, d = t.shape
    if mistake == "heads_split_without_transpose":
        return t.reshape(b, heads, n, d // heads)
    return t.view(b, n, heads, d // heads).transpose(1, 2)
