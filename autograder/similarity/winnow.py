"""Fingerprints of a token sequence, by winnowing (Schleimer, Wilkerson and Aiken, 2003), as MOSS does.

Every run of ``K`` tokens is hashed; of every ``W`` consecutive hashes the smallest is kept (the
rightmost on a tie). Any passage of ``K + W - 1`` tokens or more that two codes share gives them a
fingerprint in common, and a passage shorter than ``K`` never does, so renaming nothing and sharing
a line of boilerplate do not count. The hashes are stable across processes (``blake2b``), so that
fingerprints of the base and of every submission can be compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .code import Token

K = 12  # tokens per hashed run: about one short statement
W = 8  # window: any shared passage of K + W - 1 = 19 tokens or more is found


@dataclass(frozen=True)
class Fingerprint:
    hash: int
    first_line: int
    last_line: int


def _hash(texts: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(texts).encode(), digest_size=8).digest(), "big")


def fingerprints(tokens: tuple[Token, ...] | list[Token], k: int = K, w: int = W) -> list[Fingerprint]:
    """The winnowed fingerprints of ``tokens``, each with the lines its run of tokens spans."""
    texts = [t.text for t in tokens]
    grams = [(_hash(texts[i:i + k]), tokens[i].line, tokens[i + k - 1].line) for i in range(len(tokens) - k + 1)]
    if not grams:
        return []
    if len(grams) <= w:
        return [Fingerprint(*min(grams, key=lambda g: g[0]))]
    kept, last = [], -1
    for start in range(len(grams) - w + 1):
        window = grams[start:start + w]
        low = min(g[0] for g in window)
        index = start + max(i for i, g in enumerate(window) if g[0] == low)
        if index != last:
            kept.append(Fingerprint(*grams[index]))
            last = index
    return kept
