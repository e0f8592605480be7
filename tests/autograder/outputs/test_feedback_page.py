"""Students' feedback pages: what they show, that they are inert, and where nbgrader finds them."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader.utils import notebook_hash

from autograder.outputs.feedback_page import feedback_html
from autograder.outputs.results import CheckResult, FunctionResult, SubmissionResult

REPO = Path(__file__).resolve().parents[3]


def _result(**fields) -> SubmissionResult:
    failing = CheckResult("any shape[1x1]", "target_probas", False, "failed", "returned shape (1, 3), expected (1, 1)",
                          hints=("Index positions with torch.arange.",), mistakes=("hardcoded_positions",))
    functions = (FunctionResult("text_to_token_ids", 2, (CheckResult("book example", "text_to_token_ids", True,
                                                                     "passed"),)),
                 FunctionResult("target_probas", 2, (CheckResult("book example", "target_probas", True, "passed"),
                                                     failing)))
    return SubmissionResult("alice", "tokens_and_loss", functions, source="/x/alice.ipynb", **fields)


def test_the_page_shows_score_verdicts_messages_and_hints():
    page = feedback_html(_result())
    assert '<span class="score" id="score">2 / 4</span>' in page
    assert re.search(r"<code>target_probas</code></a></td>\s*<td class=\"fail\">not yet</td>\s*"
                     r"<td class=\"number\">0 / 2</td>", page)
    assert "returned shape (1, 3), expected (1, 1)" in page
    assert '<div class="hint"><strong>Hint:</strong> Index positions with torch.arange.</div>' in page
    assert "1 of 2 checks failed" in page and "All 1 checks passed." in page


def test_student_text_is_escaped_and_the_page_needs_nothing_from_outside():
    page = feedback_html(_result(notes=('cell 3 raised <script>alert("hi")</script>',)))
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_a_batch_writes_every_students_page(graded_corpus):
    out = graded_corpus["_out"]
    students = [name for name in graded_corpus if not name.startswith("_")]
    assert sorted(p.parent.name for p in out.glob("*/feedback.html")) == sorted(students)
    page = (out / "sum_not_mean" / "feedback.html").read_text()
    assert "Average over all positions with `torch.mean`" in page
    assert '<span class="score" id="score">7 / 10</span>' in page


def test_nbgrader_release_feedback_delivers_the_page(tmp_path):
    """An nbgrader course: grade submitted/, and `nbgrader release_feedback` sends our page to the student."""
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    folder = course / "submitted" / "grace" / "tokens_and_loss"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "examples" / "submissions" / "grace.ipynb", folder / "tokens_and_loss.ipynb")
    (folder / "timestamp.txt").write_text("2026-11-20 23:59:00.000000 UTC")
    (folder / "submission_secret.txt").write_text("s3cret")
    exchange.mkdir()  # nbgrader needs its exchange to exist

    graded = subprocess.run([sys.executable, "-m", "autograder", "grade", str(course / "submitted"),
                             "-o", str(tmp_path / "graded"), "--jobs", "1"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert graded.returncode == 0, graded.stderr
    page = course / "feedback" / "grace" / "tokens_and_loss" / "tokens_and_loss.html"
    assert "8 / 10" in page.read_text()
    assert (page.parent / "timestamp.txt").read_text() == "2026-11-20 23:59:00.000000 UTC"

    released = subprocess.run(["nbgrader", "release_feedback", "tokens_and_loss", "--course", "llm101",
                               f"--Exchange.root={exchange}", f"--CourseDirectory.root={course}"],
                              capture_output=True, text=True, timeout=120, cwd=course)
    assert released.returncode == 0, released.stderr
    checksum = notebook_hash(secret="s3cret", notebook_id="tokens_and_loss")  # how a student's fetch finds it
    delivered = exchange / "llm101" / "feedback" / f"{checksum}.html"
    assert delivered.read_text() == page.read_text()
