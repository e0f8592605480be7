"""The similarity page: a ranked list of groups and pairs, each pair's functions side by side, the
shared passages highlighted and the base greyed out. Self-contained and escaped, as the feedback
pages are: it holds students' code and names, is written only into the batch's folder, and loads
nothing from the network."""

from __future__ import annotations

from dataclasses import dataclass

from autograder.outputs.html import render


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    kind: str  # "shared", "base" or ""


def _lines(code, shared_lines: frozenset[int]) -> list[Line]:
    return [Line(number, text, "shared" if number in shared_lines else "base" if number in code.base_lines else "")
            for number, text in enumerate(code.function.source.splitlines(), start=1)]


def similarity_html(similarity, assignment: str) -> str:
    pairs = []
    for rank, pair in enumerate(similarity.pairs, start=1):
        functions = [{"name": s.function, "score": s.score, "count": s.count,
                      "a": _lines(similarity.codes[pair.a][s.function], s.lines_a),
                      "b": _lines(similarity.codes[pair.b][s.function], s.lines_b)} for s in pair.functions]
        pairs.append({"rank": rank, "a": pair.a, "b": pair.b, "score": pair.score, "top": pair.top,
                      "functions": functions})
    in_pairs = {frozenset((p["a"], p["b"])): p["rank"] for p in pairs}
    groups = [{"students": group, "ranks": sorted(rank for members, rank in in_pairs.items() if members <= set(group))}
              for group in similarity.groups]
    return render("similarity.html.j2", assignment=assignment, pairs=pairs, groups=groups,
                  threshold=similarity.threshold, students=similarity.students)
