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
