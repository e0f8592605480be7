"""The instructor's class report: what a graded batch shows, as one self-contained HTML page.

Made from the grading records a batch leaves in its output folder (``OUT/<student>/grading.json``),
so it can be rebuilt at any time without grading again. Beside the page go ``report.csv`` (a row
per student: score, points per function, status, mistakes) and ``report.json`` (the summary).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder import GraderError
from autograder.outputs.html import png_data_uri, render
from autograder.outputs.results import SubmissionResult, from_dict
from autograder.outputs.writers import write_atomic

# what the grader says when it had to stop a notebook (student_process, submission)
STOPPED = ("could not be graded", "did not finish", "process exited", "killed by", "memory limit",
           "did not return within")
BAR_COLOUR = "#0969da"


def status(result: SubmissionResult) -> str:
    """How grading went for one submission: graded, unusable, stopped (time, memory, crash), needs a look
    (instructor material, a symbolic link, changed classes of torch or the kit) or grader error."""
    if result.grader_errors:
        return "grader error"
    if result.review or result.look:
        return "needs a look"
    if result.unusable:
        return "unusable"
    messages = [*(n for n in result.notes if n.startswith("The notebook stopped early")),
                *(c.message for c in result.checks if not c.passed)]
    if any(marker in message for message in messages for marker in STOPPED):
        return "stopped"
    return "graded"


def load_batch(out: Path) -> list[SubmissionResult]:
    """Every result a batch recorded in ``out``, sorted by student."""
    from autograder.outputs.writers import GRADING_RECORD

    results = []
    for record in sorted(out.glob(f"*/{GRADING_RECORD}")):
        try:
            results.append(from_dict(json.loads(record.read_text(encoding="utf-8"))["result"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise GraderError(f"{record} is not a grading record ({exc}); "
                              "grade the batch again to rewrite it") from None
    if not results:
        raise GraderError(f"no graded submissions in {out}: run `python -m autograder grade DIR -o {out}` first")
    return sorted(results, key=lambda r: r.student)


@dataclass(frozen=True)
class Mistake:
    """A known mistake and the students whose submission showed it."""

    name: str
    function: str
    hint: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    assignment: str
    submissions: int
    max_score: float
    mean: float
    median: float
    scores: dict[str, int]  # score -> how many students got it
    pass_rates: dict[str, float]  # function -> share of students earning its points
    mistakes: tuple[Mistake, ...]  # most common first
    problems: dict[str, tuple[str, ...]]  # status other than "graded" -> students


def summarize(results: list[SubmissionResult]) -> Summary:
    scores = [r.score for r in results]
    functions = [f.name for f in results[0].functions]
    seen: dict[tuple[str, str], tuple[str, set[str]]] = {}
    for result in results:
        for check in result.checks:
            for name, hint in zip(check.mistakes, check.hints):
                seen.setdefault((name, check.function), (hint, set()))[1].add(result.student)
    mistakes = sorted((Mistake(name, function, hint, tuple(sorted(students)))
                       for (name, function), (hint, students) in seen.items()),
                      key=lambda m: (-len(m.students), m.function, m.name))
    problems: dict[str, list[str]] = {}
    for result in results:
        if status(result) != "graded":
            problems.setdefault(status(result), []).append(result.student)
    return Summary(
        assignment=results[0].assignment, submissions=len(results), max_score=results[0].max_score,
        mean=statistics.fmean(scores), median=statistics.median(scores),
        scores={f"{score:g}": count for score, count in sorted(Counter(scores).items())},
        pass_rates={name: sum(r.functions[i].passed for r in results) / len(results)
                    for i, name in enumerate(functions)},
        mistakes=tuple(mistakes), problems={k: tuple(v) for k, v in problems.items()})


def _figure_png(draw) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.2), dpi=110)
    try:
        draw(axes)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def score_distribution_png(summary: Summary, results: list[SubmissionResult]) -> bytes:
    possible = sorted({0.0, summary.max_score, *(r.score for r in results)})

    def draw(axes):
        counts = Counter(r.score for r in results)
        axes.bar([f"{p:g}" for p in possible], [counts.get(p, 0) for p in possible], color=BAR_COLOUR)
        axes.set_xlabel(f"score (out of {summary.max_score:g})")
        axes.set_ylabel("students")
        axes.yaxis.get_major_locator().set_params(integer=True)
    return _figure_png(draw)


def pass_rate_png(summary: Summary) -> bytes:
    def draw(axes):
        names = list(summary.pass_rates)[::-1]
        axes.barh(names, [100 * summary.pass_rates[n] for n in names], color=BAR_COLOUR)
        axes.set_xlim(0, 100)
        axes.set_xlabel("students earning the function's points (%)")
    return _figure_png(draw)


def report_csv(results: list[SubmissionResult]) -> str:
    functions = [f.name for f in results[0].functions]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *functions, "status", "mistakes"])
    for result in results:
        mistakes = sorted({m for c in result.checks for m in c.mistakes})
        writer.writerow([result.student, f"{result.score:g}", f"{result.max_score:g}",
                         *(f"{f.score:g}" for f in result.functions), status(result), " ".join(mistakes)])
    return buffer.getvalue()


def report_html(summary: Summary, results: list[SubmissionResult], copies: str | None = None) -> str:
    notes = {r.student: (r.grader_errors or r.notes or [c.message for c in r.checks if not c.passed] or [""])[0]
             for r in results}
    return render("report.html.j2", summary=summary, results=results, notes=notes, copies=copies,
                  distribution=png_data_uri(score_distribution_png(summary, results)),
                  pass_rates=png_data_uri(pass_rate_png(summary)))


def write_report(out: Path) -> Path:
    """Write ``report.html``, ``report.csv`` and ``report.json`` into a batch's output folder."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GraderError("the class report draws its plots with matplotlib: "
                          "pip install 'llm-course-kit[report]'") from None
    results = load_batch(out)
    summary = summarize(results)
    write_atomic(out / "report.csv", report_csv(results))
    write_atomic(out / "report.json", json.dumps(asdict(summary), indent=2, ensure_ascii=False) + "\n")
    from autograder.similarity.report import possible_copies

    write_atomic(out / "report.html", report_html(summary, results, possible_copies(out)))
    return out / "report.html"
