"""``python -m autograder similarity OUT``: the graded batch in ``OUT`` compared, written as
``OUT/similarity.html`` and ``OUT/similarity.csv``, and summed up in ``OUT/similarity.json`` (which
the class report and the batch summary read).

The notebooks are read where the batch found them (each result's ``source``), as plain data. The
base is the release notebook's code (given code and stubs), the instructor's source notebook and the
kit's solutions, and whatever ``--base`` names: for this course, the book's code.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Assignment
from autograder.outputs.writers import write_atomic

from .code import base_sources, functions_in_notebook
from .compare import THRESHOLD, Pair, base_hashes, compare, groups, prepare

SUMMARY = "similarity.json"


@dataclass(frozen=True)
class Similarity:
    pairs: list[Pair]
    groups: list[tuple[str, ...]]
    codes: dict  # student -> function -> Code, for the page
    threshold: float
    students: int
    missing: tuple[str, ...] = ()  # graded, but their notebooks are no longer where the batch read them


def kit_base(assignment: Assignment) -> list[Path]:
    """What every student may share in this assignment: the release's and the source's notebooks, and
    the kit's solutions."""
    import solutions

    found = [assignment.release_dir, Path(solutions.__file__).parent]
    if assignment.source_dir.is_dir():
        found.append(assignment.source_dir)
    return [path for path in found if path.exists()]


def find_similar(results: list, assignment: Assignment, base: list[Path] = (),
                 threshold: float = THRESHOLD) -> Similarity:
    names = tuple(f.name for f in assignment.functions)
    hashes = base_hashes(base_sources([*kit_base(assignment), *base]))
    codes, missing = {}, []
    for result in results:
        if result.source and Path(result.source).is_file():
            codes[result.student] = prepare(functions_in_notebook(Path(result.source), names), hashes)
        elif not result.unusable:
            missing.append(result.student)
    pairs = compare(codes, threshold)
    return Similarity(pairs, groups(pairs), codes, threshold, len(codes), tuple(missing))


def similarity_csv(similarity: Similarity) -> str:
    """One row per reported pair and function (and ``all``, the pair's total): the share of non-base
    code in common, and how many lines of student_a's code it covers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "function", "score", "shared_lines"])
    for pair in similarity.pairs:
        for shared in pair.functions:
            writer.writerow([pair.a, pair.b, shared.function, f"{shared.score:.3f}", len(shared.lines_a)])
        writer.writerow([pair.a, pair.b, "all", f"{pair.score:.3f}",
                         sum(len(s.lines_a) for s in pair.functions)])
    return buffer.getvalue()


def write_similarity(out: Path, results: list, assignment: Assignment, base: list[Path] = (),
                     threshold: float = THRESHOLD) -> Similarity:
    from .page import similarity_html

    similarity = find_similar(results, assignment, base, threshold)
    write_atomic(out / "similarity.csv", similarity_csv(similarity))
    write_atomic(out / "similarity.html", similarity_html(similarity, assignment.name))
    summary = {"pairs": len(similarity.pairs), "groups": [list(g) for g in similarity.groups],
               "threshold": threshold, "students": similarity.students, "missing": list(similarity.missing)}
    write_atomic(out / SUMMARY, json.dumps(summary) + "\n")
    return similarity


def possible_copies(out: Path) -> str | None:
    """The batch summary's line, when ``similarity`` has been run on ``out``."""
    try:
        data = json.loads((out / SUMMARY).read_text())
    except (OSError, ValueError):
        return None
    groups_text = f", {len(data['groups'])} group(s) of three or more" if data["groups"] else ""
    missing = data.get("missing") or []
    missing_text = (f" Not compared, their notebooks no longer where the batch read them: {', '.join(missing)}."
                    if missing else "")
    return (f"Possible copies: {data['pairs']} pair(s){groups_text} share at least {data['threshold']:.0%} of a "
            f"function's code beyond the base (see {out / 'similarity.html'}; nothing is deducted).{missing_text}")
