"""Sampled token sequences, judged by what every correct sampler does, whatever its random draws."""

from __future__ import annotations

import math
from typing import Any

from .values import describe


def sampled(expectation: dict, value: Any) -> str | None:
    """A sampled token sequence, judged by what every correct sampler does, whatever its random draws.

    Each check reads the tokens from position ``start`` on; the token before each one is its
    context (the call feeds one token of context, so the next token's distribution depends on the
    previous token alone, and the kit knows it for every token).
    - {"transitions": {"start", "allowed": [[token, ...] per previous token], "what"}}: every token
      is one the sampler may draw after its previous one (the top k);
    - {"rate": {"start", "top": [token per previous token], "p": [probability per previous token],
      "false_failure", "what"}}: how often the counted token was drawn agrees with its probability.
      The count minus the sum of the probabilities is a martingale whose every step lies in an
      interval of length 1 known before the draw ([-p, 1 - p]), so by Azuma-Hoeffding a correct
      sampler is farther than sqrt(n ln(2 / false_failure) / 2) from it with probability below
      ``false_failure``, however many steps n there are.
    """
    import torch

    if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.shape[0] != 1:
        return f"expected a (1, n) tensor of token ids, got {describe(value)}."
    tokens = value[0].tolist()
    if "transitions" in expectation:
        spec = expectation["transitions"]
        for position in range(spec["start"], len(tokens)):
            previous, token = tokens[position - 1], tokens[position]
            allowed = spec["allowed"][previous] if 0 <= previous < len(spec["allowed"]) else []
            if token not in allowed:
                return (f"{spec['what']}: token {token} at position {position} (after token {previous}) is not "
                        f"one of the {len(allowed)} the sampler may draw there, {sorted(allowed)}.")
        return None
    spec = expectation["rate"]
    steps = [(tokens[j - 1], tokens[j]) for j in range(spec["start"], len(tokens))]
    drawn = sum(token == spec["top"][previous] for previous, token in steps)
    mean = sum(spec["p"][previous] for previous, _ in steps)
    bound = math.sqrt(len(steps) * math.log(2 / spec["false_failure"]) / 2)
    if abs(drawn - mean) <= bound:
        return None
    return (f"{spec['what']}: the most likely token was drawn {drawn} times in {len(steps)} steps; sampling "
            f"from softmax(logits / temperature) draws it about {mean:.0f} times (a gap over {bound:.0f} "
            f"happens by chance less than once in {1 / spec['false_failure']:,.0f} checks).")

