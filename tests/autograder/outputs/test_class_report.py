"""The instructor's class report: its numbers, its files, and the page in a real browser."""

import csv
import io
import json
import subprocess
import sys

import pytest
from PIL import Image

from autograder.outputs.class_report import BAR_COLOUR, status, summarize
from autograder.outputs.results import CheckResult, FunctionResult, SubmissionResult
from tests import browser
from tests.conftest import UNUSABLE


def _student(name: str, passes: tuple[bool, bool], mistakes=(), **fields) -> SubmissionResult:
    functions = tuple(
        FunctionResult(function, points, (CheckResult("c", function, False, "passed" if ok else "failed", "m",
                                                      hints=tuple(f"hint {m}" for m in mistakes if ok is False),
                                                      mistakes=tuple(m for m in mistakes if ok is False)),))
        for function, points, ok in (("first", 2, passes[0]), ("second", 3, passes[1])))
    return SubmissionResult(name, "demo", functions, **fields)


def test_summary_counts_scores_pass_rates_mistakes_and_problems():
    results = [_student("ann", (True, True)), _student("bob", (True, False), mistakes=("off_by_one",)),
               _student("cy", (False, False), mistakes=("off_by_one", "sign")),
               _student("dee", (False, False),
                        notes=("The notebook stopped early: the notebook did not finish within 300 s.",)),
               _student("eve", (False, False), unusable=True),
               _student("fay", (False, False), grader_errors=("test crashed",))]
    summary = summarize(results)
    assert summary.scores == {"0": 4, "2": 1, "5": 1}
    assert summary.mean == pytest.approx(7 / 6) and summary.median == 0
    assert summary.pass_rates == {"first": pytest.approx(2 / 6), "second": pytest.approx(1 / 6)}
    # a mistake counts students, per function; the most common comes first
    assert [(m.name, m.function, m.students) for m in summary.mistakes] == [
        ("off_by_one", "second", ("bob", "cy")), ("off_by_one", "first", ("cy",)), ("sign", "first", ("cy",)),
        ("sign", "second", ("cy",))]
    assert summary.problems == {"stopped": ("dee",), "unusable": ("eve",), "grader error": ("fay",)}
    assert [status(r) for r in results[:3]] == ["graded"] * 3


@pytest.fixture(scope="module")
def report(graded_corpus):
    out = graded_corpus["_out"]
    made = subprocess.run([sys.executable, "-m", "autograder", "report", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    return out


def test_report_files_describe_the_whole_batch(report, graded_corpus):
    students = sorted(name for name in graded_corpus if not name.startswith("_"))
    rows = list(csv.DictReader(io.StringIO((report / "report.csv").read_text())))
    assert [row["student"] for row in rows] == students
    assert {row["student"]: float(row["score"]) for row in rows} == {s: graded_corpus[s].score for s in students}
    summary = json.loads((report / "report.json").read_text())
    assert summary["submissions"] == len(students)
    assert set(summary["problems"]["unusable"]) == set(UNUSABLE)
    named = {m["name"]: m["students"] for m in summary["mistakes"]}
    assert named["sum_not_mean"] == ["sum_not_mean"] and "seed" not in sum(named.values(), [])


def test_report_renders_in_chromium(report, tmp_path):
    """Load the page from disk in headless Chromium: the key parts are there and the plots are drawn."""
    page = report / "report.html"
    dom = browser.dump_dom(page, tmp_path / "profile")
    for part in ('id="score-distribution"', 'id="pass-rates"', 'id="pass-rate-table"', 'id="mistakes"',
                 'id="problems"', 'id="students"', 'id="copies"'):
        assert part in dom
    assert dom.count("<tr>") > 30 and "sum not mean" in dom and "corrupt_json" in dom

    shot = browser.screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    print(f"report screenshot: {shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2000)
    bar = tuple(int(BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    colours = {colour: count for count, colour in image.getcolors(maxcolors=1 << 24)}
    assert colours.get(bar, 0) > 20_000  # the embedded plots decoded and drew their bars
    assert len(image.crop((0, 0, 1200, 200)).getcolors(maxcolors=1 << 24)) > 20  # header text, not a blank page
