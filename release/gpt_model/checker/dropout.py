"""Dropout in train mode, judged by what every correct dropout does, never by its random draws.

A check can make a module's output show the weights of its softmax one by one: with one-hot inputs and
a value projection that copies token j's one-hot vector into two places, each output entry is one
weight, twice. Dropout on the weights then leaves every entry either 0 or the eval-mode weight
scaled by 1 / (1 - p), both copies alike; dropout on the values or on the output drops the two
copies independently. So whichever order the random numbers are drawn in (``nn.Dropout``,
``F.dropout``, PyTorch's fused kernels' own), a correct module passes.
"""

from __future__ import annotations

import math
from typing import Any

from .values import describe

ZERO = 1e-6  # an entry this close to 0 was dropped (kept weights here are above 1e-3)
RTOL = 1e-4  # a kept weight is the eval-mode one scaled by 1 / (1 - p), up to float rounding
COUNTED = 1e-3  # entries this far from 0 count toward the dropped share (masked weights are 0 anyway)


def dropout(spec: dict, value: Any, stood_in: frozenset = frozenset()) -> str | None:
    """{"kept": eval-mode output, "p", "block": n, "twins"?: true, "share"?: true, "false_failure", "what",
    "base"?: tensor, "stand_in"?: [{"callees", "kept"}]}: with stand-ins in place for some callees, the
    eval-mode output computed with them is right too (the first that applies is the one a message
    shows). With "base", what is judged is the value minus it: a residual branch's dropout, say, after
    the shortcut's input.

    The output's last dimension is blocks of ``2 n``: in each, entries c and n + c are one weight's
    two copies. Every entry is 0 or ``kept / (1 - p)``; with "twins", the two copies of a weight are
    dropped together (dropout on the weights, not on the values or the output); with "share", the
    share of weights dropped is near p. The dropped count of N independent weights, each dropped with
    probability p, strays from pN by more than sqrt(N ln(2 / false_failure) / 2) with probability
    below ``false_failure`` (Hoeffding), so a correct module fails this check less often than that.
    """
    options = [{**spec, "kept": s["kept"]} for s in spec.get("stand_in", ())
               if stood_in and set(s["callees"]) <= set(stood_in)]
    failures = [_dropped(option, value) for option in [spec, *options]]
    return None if None in failures else failures[1 if options else 0]


def _dropped(spec: dict, value: Any) -> str | None:
    import torch

    kept, p, n = spec["kept"], spec["p"], spec["block"]
    if not isinstance(value, torch.Tensor) or value.shape != kept.shape or not value.is_floating_point():
        return f"{spec['what']}: expected a float tensor of shape {tuple(kept.shape)}, got {describe(value)}."
    value, scaled = value.detach().double() - spec.get("base", torch.zeros(())).double(), kept.double() / (1 - p)
    dropped = value.abs() <= ZERO
    right = dropped | torch.isclose(value, scaled, rtol=RTOL, atol=ZERO)
    if not bool(right.all()):
        at = tuple(int(i) for i in (~right).nonzero()[0])
        return (f"{spec['what']}: in train mode a weight is either dropped (0) or kept and scaled by "
                f"1 / (1 - p) = {1 / (1 - p):.4g}; at {at} the output was {float(value[at]):.4g}, where the kept "
                f"weight is {float(scaled[at]):.4g}.")
    pairs = dropped.reshape(*dropped.shape[:-1], -1, 2, n)
    if spec.get("twins", True) and not bool((pairs[..., 0, :] == pairs[..., 1, :]).all()):
        return (f"{spec['what']}: parts of the output were dropped that are not whole weights: dropout "
                "belongs on the weights, after the softmax and before they weigh the values.")
    if not spec.get("share", True):
        return None
    counted = (kept.double().abs().reshape(pairs.shape)[..., 0, :] > COUNTED)
    total, zeroed = int(counted.sum()), int((pairs[..., 0, :] & counted).sum())
    bound = math.sqrt(total * math.log(2 / spec["false_failure"]) / 2)
    if abs(zeroed - p * total) <= bound:
        return None
    return (f"{spec['what']}: {zeroed} of {total} weights were dropped ({zeroed / total:.1%}); with "
            f"dropout p = {p:g}, about {p:.0%} should be (between {max(0, p * total - bound):.0f} and "
            f"{min(total, p * total + bound):.0f}).")


def weight_rows(spec: dict, value: Any) -> str | None:
    """{"block": n, "what"}: an eval-mode output laid out as for ``dropout`` holds softmax weights,
    and every row of them sums to 1: a softmax over the keys, renormalised after any mask."""
    import torch

    if not isinstance(value, torch.Tensor) or not value.is_floating_point() or value.shape[-1] % (2 * spec["block"]):
        return f"{spec['what']}: expected a float tensor whose last dimension holds the weights, got {describe(value)}."
    sums = value.detach().double().reshape(*value.shape[:-1], -1, 2, spec["block"])[..., 0, :].sum(-1)
    wrong = ~torch.isclose(sums, torch.ones_like(sums), rtol=0, atol=1e-4)
    if not bool(wrong.any()):
        return None
    at = tuple(int(i) for i in wrong.nonzero()[0])
    return (f"{spec['what']}: the weights of a position should sum to 1 over the positions it attends "
            f"to; those of position {at[-2]} (at {at}) sum to {float(sums[at]):.4g}.")
