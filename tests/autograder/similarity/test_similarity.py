"""The copy finder on a class built from the corpora (``tests/similarity_class.py``): every planted
copy is reported and ranked above every independent pair, students who typed the book's code (or
made the same slip in it) are not reported when the book is in the base, and the page and the CSV an
instructor reads, from the command an instructor types, checked in Chromium."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from autograder.assignment import load_assignment
from autograder.outputs.results import SubmissionResult, to_dict
from autograder.outputs.writers import GRADING_RECORD
from autograder.similarity.compare import THRESHOLD
from autograder.similarity.report import find_similar
from tests import browser, corpus
from tests import similarity_class as sc
from tests import train_and_generate_corpus as tg

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The class's notebooks as submitted, and the records a graded batch leaves in OUT (the copy finder
    reads only which notebook each student handed in), and the book's code as a base file."""
    root = tmp_path_factory.mktemp("similarity")
    results = []
    for student, notebook in sc.notebooks().items():
        path = corpus.write(notebook, root / "submitted" / student / "train_and_generate.ipynb")
        results.append(SubmissionResult(student, "train_and_generate", (), source=str(path)))
        (root / "out" / student).mkdir(parents=True)
        (root / "out" / student / GRADING_RECORD).write_text(json.dumps({"result": to_dict(results[-1])}))
    book = root / "book" / "ch05.py"
    book.parent.mkdir()
    book.write_text("import torch\n\n" + "\n".join(tg.BOOK.values()))
    return {"results": results, "out": root / "out", "book": book.parent}


@pytest.fixture(scope="module")
def everything(batch):
    """Every pair sharing anything beyond the base, at threshold 0, ranked."""
    return find_similar(batch["results"], load_assignment("train_and_generate"), [batch["book"]], threshold=0.0)


def test_every_planted_copy_is_reported_and_ranked_above_every_independent_pair(everything):
    students = sorted(sc.students())
    planted = {(a, b) for i, a in enumerate(students) for b in students[i + 1:] if sc.planted(a, b)}
    ranked = [(p.a, p.b) for p in everything.pairs]
    assert planted <= set(ranked)
    last_planted = max(ranked.index(pair) for pair in planted)
    independent = [pair for pair in ranked if pair not in planted]
    assert all(ranked.index(pair) > last_planted for pair in independent), independent
    reported = {(p.a, p.b) for p in everything.pairs if max(p.top, p.score) >= THRESHOLD}
    assert reported == planted


def test_the_threshold_lies_between_the_copies_and_the_independent_pairs(everything):
    """What justifies the default: the least a planted copy shares (the copy with reordered statements,
    the notebook that copied one function) and the most an independent pair does (two students who both
    wrote `logits = model(input_batch.to(device))`, or made the same slip in the book's code)."""
    copies = [p.top for p in everything.pairs if sc.planted(p.a, p.b)]
    independent = [p.top for p in everything.pairs if not sc.planted(p.a, p.b)]
    assert max(independent) < 0.4 < THRESHOLD < 0.7 < min(copies), (max(independent), min(copies))


def test_typing_the_book_or_the_same_slip_in_it_is_not_copying(everything):
    for pair in everything.pairs:
        if pair.a.startswith(("book", "slip")) and pair.b.startswith(("book", "slip")):
            assert pair.top < THRESHOLD, pair


def test_code_in_a_base_file_is_shared_by_right(batch, tmp_path):
    """The four students who share SOURCE_TWO are a group; with that code in a --base file (last year's
    solutions, say, or the book's code, which the kit's solutions do not always follow), they share
    nothing beyond the base, and no pair of them is reported."""
    last_year = tmp_path / "last_year.py"
    last_year.write_text("\n".join(sc.SOURCE_TWO.values()))
    found = find_similar(batch["results"], load_assignment("train_and_generate"), [batch["book"], last_year])
    assert not any(p.a.startswith("two") or p.b.startswith("two") for p in found.pairs)
    assert any(p.a.startswith("one") for p in found.pairs)


def test_a_group_of_four_is_one_group(everything, batch):
    found = find_similar(batch["results"], load_assignment("train_and_generate"), [batch["book"]])
    assert ("two_copy_a", "two_copy_b", "two_copy_c", "two_source") in found.groups
    assert ("one_function_copied", "one_recommented", "one_renamed", "one_reordered", "one_source",
            "one_straight_copy") in found.groups


@pytest.fixture(scope="module")
def command(batch):
    """`python -m autograder similarity OUT --base BOOK`, as an instructor types it after a batch."""
    done = subprocess.run([sys.executable, "-m", "autograder", "similarity", str(batch["out"]),
                           "--base", str(batch["book"])], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_the_command_writes_the_csv_an_instructor_can_sort(command, batch):
    rows = list(csv.DictReader((batch["out"] / "similarity.csv").open()))
    assert list(rows[0]) == ["student_a", "student_b", "function", "score", "shared_lines"]
    pairs = {(r["student_a"], r["student_b"]) for r in rows}
    assert all(sc.planted(a, b) for a, b in pairs) and len(pairs) == 21
    one = [r for r in rows if (r["student_a"], r["student_b"]) == ("one_function_copied", "one_source")]
    assert {r["function"] for r in one} >= {"generate", "all"}
    generate = next(r for r in one if r["function"] == "generate")
    assert float(generate["score"]) >= THRESHOLD and int(generate["shared_lines"]) >= 10
    assert "Possible copies: 21 pair(s), 2 group(s) of three or more" in command.stdout


def test_the_page_says_nothing_is_deducted_escapes_student_text_and_loads_nothing(command, batch):
    page = (batch["out"] / "similarity.html").read_text()
    assert "Nothing is deducted automatically" in page
    assert "<script" not in page and "http" not in page.replace("https://", "")  # no script, no URL to load
    assert "&lt;" in page  # the code's `<` comparisons, escaped
    assert page.count('class="shared"') > 50 and 'class="base"' in page


def test_the_page_renders_in_chromium(command, batch, tmp_path):
    page = batch["out"] / "similarity.html"
    dom = browser.dump_dom(page, tmp_path / "profile")
    assert dom.count('id="pair-') == 21 and "two_copy_a, two_copy_b, two_copy_c, two_source" in dom
    shot = browser.screenshot(page, tmp_path / "similarity.png", tmp_path / "profile", size=(1200, 1600))
    image = Image.open(shot).convert("RGB")
    colours = {colour: count for count, colour in image.getcolors(maxcolors=1 << 24)}
    assert colours.get((255, 235, 233), 0) > 5_000  # the shared passages' highlight, drawn


def test_the_class_report_links_the_evidence(command, batch):
    from autograder.outputs.class_report import report_html, summarize
    from autograder.outputs.results import from_dict
    from autograder.similarity.report import possible_copies

    results = [from_dict(json.loads(p.read_text())["result"]) for p in sorted(batch["out"].glob(f"*/{GRADING_RECORD}"))]
    page = report_html(summarize(results), results, possible_copies(batch["out"]))
    assert "Possible copies: 21 pair(s), 2 group(s)" in page and '<a href="similarity.html">' in page


def test_a_cell_the_parser_cannot_read_costs_nothing_but_itself():
    """A notebook written to break the comparison (nesting too deep, a null byte, a syntax error) loses
    only those cells: the class is still compared."""
    from autograder.similarity.code import functions_in_sources

    cells = ["x = " + "(" * 100_000 + ")" * 100_000, "y = 1\x00", "def broken(:", "def f(a):\n    return a + 1\n"]
    assert list(functions_in_sources(cells, ("f", "broken"))) == ["f"]


def test_a_notebook_moved_away_since_grading_is_named_not_silently_left_out(batch, tmp_path):
    from autograder.similarity.report import possible_copies, write_similarity

    moved = [SubmissionResult(r.student, r.assignment, (), source=str(tmp_path / "gone.ipynb"))
             if r.student == "book_01" else r for r in batch["results"]]
    write_similarity(tmp_path, moved, load_assignment("train_and_generate"), [batch["book"]])
    assert "Not compared, their notebooks no longer where the batch read them: book_01." in possible_copies(tmp_path)
