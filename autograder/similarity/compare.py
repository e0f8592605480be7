"""Pairs of submissions that share code, ranked, and the groups they form.

An inverted index of fingerprints (fingerprint -> the students whose function has it) gives every
pair that shares anything without looking at the pairs that share nothing, so the cost grows with
the number of fingerprints and the pairs that really share them, not with the square of the class.
A fingerprint found in many submissions is an idiom, not a copy (MOSS's -m): it is left out.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from .code import Function, normalised
from .winnow import fingerprints

MIN_SHARED = 3  # fingerprints two functions must share to count: about 30 tokens, two or three lines
THRESHOLD = 0.5  # the share of the non-base code in common from which a pair is reported (see the tests)


@dataclass(frozen=True)
class Code:
    """One student's function: its text, its non-base fingerprints and the lines the base covers."""

    function: Function
    prints: dict[int, tuple[int, int]]  # hash -> (first line, last line) of its first run, the base's left out
    base_lines: frozenset[int]
    size: int  # all its fingerprints, the base's included: what a score is a share of


@dataclass(frozen=True)
class Shared:
    """What two students' versions of one function share."""

    function: str
    score: float  # fingerprints in common beyond the base / all fingerprints of the smaller function
    count: int
    lines_a: frozenset[int]
    lines_b: frozenset[int]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float  # over all functions
    functions: tuple[Shared, ...]

    @property
    def top(self) -> float:
        return max((s.score for s in self.functions), default=0.0)


def _lines(span: tuple[int, int]) -> set[int]:
    return set(range(span[0], span[1] + 1))


def prepare(functions: dict[str, Function], base: set[int]) -> dict[str, Code]:
    """A student's functions with their fingerprints, the base's left out."""
    prepared = {}
    for name, function in functions.items():
        prints, base_lines, found = {}, set(), fingerprints(function.tokens)
        for fingerprint in found:
            span = (fingerprint.first_line, fingerprint.last_line)
            if fingerprint.hash in base:
                base_lines |= _lines(span)
            else:
                prints.setdefault(fingerprint.hash, span)
        prepared[name] = Code(function, prints, frozenset(base_lines), len({f.hash for f in found}))
    return prepared


def base_hashes(sources: list[str]) -> set[int]:
    """The fingerprints of code everyone may share (functions and whole sources alike)."""
    return {f.hash for source in sources for f in fingerprints(normalised(source))}


def idiom_limit(students: int) -> int:
    """A fingerprint in more submissions than this is an idiom: 10, or a tenth of a large class."""
    return max(10, math.ceil(students / 10))


def compare(submissions: dict[str, dict[str, Code]], threshold: float = THRESHOLD) -> list[Pair]:
    """The pairs sharing, beyond the base, at least ``threshold`` of some function's code (or of all
    their code), ranked: the most shared function first, then the share over all functions. A share is
    of the whole function, base included: two students who made the same small change to the book's
    code share a few fingerprints beyond the base, a small share of it; a copy shares nearly all."""
    limit = idiom_limit(len(submissions))
    names = sorted({name for codes in submissions.values() for name in codes})
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for name in names:
        index: dict[int, list[str]] = defaultdict(list)
        for student, codes in submissions.items():
            for digest in codes[name].prints if name in codes else ():
                index[digest].append(student)
        for holders in index.values():
            if 1 < len(holders) <= limit:
                for a, b in itertools.combinations(sorted(holders), 2):
                    counts[(a, b)][name] += 1
    pairs = [pair for (a, b), shared in counts.items()
             if (pair := _pair(a, b, shared, submissions, threshold)) is not None]
    return sorted(pairs, key=lambda p: (-p.top, -p.score, p.a, p.b))


def _pair(a: str, b: str, shared: Counter, submissions: dict, threshold: float) -> Pair | None:
    found, total_shared = [], 0
    total_a, total_b = (sum(code.size for code in submissions[s].values()) for s in (a, b))
    for name, count in sorted(shared.items()):
        code_a, code_b = submissions[a][name], submissions[b][name]
        if count < MIN_SHARED:
            continue
        common = code_a.prints.keys() & code_b.prints.keys()
        score = count / min(code_a.size, code_b.size)
        total_shared += count
        found.append(Shared(name, round(score, 3), count,
                            frozenset(line for h in common for line in _lines(code_a.prints[h])),
                            frozenset(line for h in common for line in _lines(code_b.prints[h]))))
    score = round(total_shared / min(total_a, total_b), 3) if total_a and total_b else 0.0
    if not found or max(max(s.score for s in found), score) < threshold:
        return None
    return Pair(a, b, score, tuple(found))


def groups(pairs: list[Pair]) -> list[tuple[str, ...]]:
    """Students linked by reported pairs, three or more together (one source, several copies)."""
    parent: dict[str, str] = {}

    def root(student: str) -> str:
        while parent.setdefault(student, student) != student:
            student = parent[student]
        return student

    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    members: dict[str, list[str]] = defaultdict(list)
    for student in parent:
        members[root(student)].append(student)
    return sorted((tuple(sorted(m)) for m in members.values() if len(m) >= 3), key=lambda g: (-len(g), g))
