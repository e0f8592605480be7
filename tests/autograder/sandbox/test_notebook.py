"""Reading and sanitizing a submitted notebook."""

import nbformat
import pytest

from autograder.sandbox.notebook import UnusableNotebook, parse, read_submitted, sanitize
from tests import corpus


@pytest.fixture
def trusted():
    return nbformat.read(corpus.RELEASE, as_version=4)


def test_locked_cells_are_restored_and_test_cells_left_out(trusted):
    submitted = corpus.with_answers()
    setup = next(c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source = "torch = None  # tampered"
    test_cell = next(c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_perplexity")
    cells = sanitize(submitted, trusted).cells
    restored = next(c for c in cells if c.grade_id == "setup")
    assert "tampered" not in restored.source and "torch.manual_seed(123)" in restored.source
    assert all(c.grade_id != "test_perplexity" for c in cells)
    assert test_cell.source not in [c.source for c in cells]


def test_cell_positions_count_every_cell(trusted):
    cells = sanitize(corpus.with_answers(), trusted).cells
    answer = next(c for c in cells if c.grade_id == "text_to_token_ids")
    assert answer.index == 5  # two markdown cells, setup, markdown, then this one
    assert answer.first_line == "def text_to_token_ids(text,tokenizer):"


def test_a_missing_locked_cell_is_noted(trusted):
    submitted = corpus.build({"setup": None})
    assert "setup" in sanitize(submitted, trusted).notes[0]


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "binary file"),
    (b'{"cells": [', "JSON is broken at line 1, column 12"),
    (b"[1, 2]", "not a Jupyter notebook"),
    (b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested far deeper than any notebook's"),
])
def test_unusable_files_say_what_is_wrong(data, message):
    with pytest.raises(UnusableNotebook, match=message) as raised:
        parse(data, "alice.ipynb")
    assert "submit the .ipynb file again" in str(raised.value)


def test_a_byte_order_mark_is_accepted():
    data = nbformat.writes(corpus.with_answers()).encode()
    assert parse(b"\xef\xbb\xbf" + data).cells == parse(data).cells


def test_a_file_over_the_size_limit_is_not_read(tmp_path):
    big = tmp_path / "alice.ipynb"
    big.write_bytes(b" " * 3 * 1024**2)
    with pytest.raises(UnusableNotebook, match="is 3 MB, over the 2 MB a notebook may be.*Clear all outputs"):
        read_submitted(big, 2 * 1024**2)


def test_a_symbolic_link_is_never_followed(tmp_path):
    (tmp_path / "real.ipynb").write_text("{}")
    (tmp_path / "alice.ipynb").symlink_to(tmp_path / "real.ipynb")
    with pytest.raises(UnusableNotebook, match="is a symbolic link"):
        read_submitted(tmp_path / "alice.ipynb", 1024)


def test_the_instructor_s_skip_when_grading_cells_are_left_out_and_only_theirs():
    """train_and_generate's training loop is locked and tagged in the release: it is never run by
    the grader, even from a copy whose tag the student removed; a student's own tag skips nothing."""
    release = corpus.ROOT / "release" / "train_and_generate" / "train_and_generate.ipynb"
    trusted = nbformat.read(release, as_version=4)
    submitted = nbformat.read(release, as_version=4)
    training = next(c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "training")
    training.metadata["tags"] = []
    answer = next(c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "generate")
    answer.metadata["tags"] = ["skip-when-grading"]
    sanitized = sanitize(submitted, trusted)
    grade_ids = [c.grade_id for c in sanitized.cells]
    assert "training" not in grade_ids and "generate" in grade_ids and "data" in grade_ids
    assert not any("for epoch in range" in c.source for c in sanitized.cells)
    assert sanitized.notes == ()  # left out on purpose, not missing


@pytest.mark.parametrize("release", [corpus.RELEASE, corpus.ROOT / "release" / "train_and_generate" /
                                     "train_and_generate.ipynb"], ids=["tokens_and_loss", "train_and_generate"])
def test_a_notebook_without_cell_metadata_runs_the_same_cells(release):
    """Colab drops every cell's nbgrader metadata: the trusted copy's cells are recognised by their
    content, so the same cells run (the setup restored, tests and skip-when-grading cells left out),
    and the note says why; the engine's reader (check.py's) does the same."""
    from autograder.sandbox.inside.checker import cells as engine

    trusted = nbformat.read(release, as_version=4)
    jupyter = sanitize(nbformat.read(release, as_version=4), trusted)
    saved = corpus.colab(nbformat.read(release, as_version=4))
    for graded in (sanitize(saved, trusted), engine.sanitize(engine.read(nbformat.writes(saved).encode()), trusted)):
        assert [(c.index, c.source) for c in graded.cells] == [(c.index, c.source) for c in jupyter.cells]
        assert graded.notes == (engine.BY_CONTENT_NOTE,)


def test_a_cell_of_the_student_s_own_is_not_taken_for_a_locked_one(trusted):
    """Only a cell whose content is the trusted cell's counts as it: a changed setup cell without
    metadata is the student's code, and the setup is noted missing."""
    saved = corpus.colab(corpus.with_answers())
    setup = next(c for c in saved.cells if c.cell_type == "code" and "torch.manual_seed(123)" in c.source)
    setup.source += "\ntorch = None"
    notes = sanitize(saved, trusted).notes
    assert any('The locked cell "setup" is missing' in note for note in notes)


def test_an_nbformat_3_notebook_is_upgraded_by_both_readers(trusted, monkeypatch):
    """By nbformat in the grader, and in check.py where nbformat is installed; by the engine's own
    upgrade of what a run reads where it is not: the same cells, the same note."""
    import sys

    from autograder.sandbox.inside.checker import cells as engine

    data = corpus.nbformat_3(corpus.with_answers())
    current = sanitize(corpus.with_answers(), trusted)
    with_nbformat = engine.sanitize(engine.read(data), trusted)
    monkeypatch.setitem(sys.modules, "nbformat", None)  # as in a student's environment without Jupyter
    without_nbformat = engine.sanitize(engine.read(data), trusted)
    monkeypatch.undo()
    for graded in (sanitize(parse(data), trusted), with_nbformat, without_nbformat):
        assert [c.source for c in graded.cells] == [c.source for c in current.cells]
        assert "was saved in an old format (nbformat 3)" in graded.notes[0]

