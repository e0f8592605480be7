"""Finding submissions in nbgrader's layout and in a flat folder."""

from autograder.batch import discover


def test_discover_understands_both_layouts(tmp_path, assignment):
    (tmp_path / "alice" / "tokens_and_loss").mkdir(parents=True)
    (tmp_path / "alice" / "tokens_and_loss" / "tokens_and_loss.ipynb").write_text("{}")
    (tmp_path / "bob" / "tokens_and_loss").mkdir(parents=True)
    (tmp_path / "bob" / "tokens_and_loss" / "my_copy.ipynb").write_text("{}")
    (tmp_path / "carol").mkdir()
    (tmp_path / "dave.ipynb").write_text("{}")
    (tmp_path / "erin.pdf").write_bytes(b"%PDF")
    (tmp_path / ".DS_Store").write_bytes(b"")
    found = {f.student: f for f in discover(tmp_path, assignment)}
    assert sorted(found) == ["alice", "bob", "carol", "dave", "erin.pdf"]
    assert found["alice"].path.name == "tokens_and_loss.ipynb"
    assert found["bob"].path.name == "my_copy.ipynb"
    assert found["carol"].path is None and "nothing was submitted" in found["carol"].problem
    assert found["dave"].path.name == "dave.ipynb"
    assert found["erin.pdf"].path.name == "erin.pdf"  # graded as unusable, never silently skipped
