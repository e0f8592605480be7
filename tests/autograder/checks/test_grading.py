"""Grading real notebooks end to end: the seed earns full marks, the stub nothing, and each
mistake in the corpus costs exactly its own function's points."""

import pytest

from tests import corpus
from tests.conftest import CONTRACT, UNUSABLE


def scores(result):
    return {f.name: f.score for f in result.functions}


def test_seed_answers_earn_full_marks(graded_corpus):
    result = graded_corpus["seed"]
    assert result.score == result.max_score == 10, [c for c in result.checks if not c.passed]
    assert result.sandboxed


def test_release_stub_earns_nothing(graded_corpus):
    result = graded_corpus["stub"]
    assert result.score == 0
    first = result.functions[0].failures[0].message
    assert "still the stub" in first and "cell 5" in first


@pytest.mark.parametrize("mistake", corpus.MISTAKES, ids=lambda m: m.name)
def test_each_mistake_costs_exactly_its_function(graded_corpus, assignment, mistake):
    result = graded_corpus[mistake.name]
    expected = {f.name: (0.0 if f.name == mistake.function else f.points) for f in assignment.functions}
    assert scores(result) == expected


@pytest.mark.parametrize("name", CONTRACT)
def test_contract_problems_cost_their_function_and_say_why(graded_corpus, assignment, name):
    _, function, message = CONTRACT[name]
    result = graded_corpus[name]
    expected = {f.name: (0.0 if f.name == function else f.points) for f in assignment.functions}
    assert scores(result) == expected
    failed = next(f for f in result.functions if f.name == function)
    assert message in failed.failures[0].message


@pytest.mark.parametrize("name", [*corpus.AS_SAVED, "byte_order_mark", "nbformat_3"])
def test_notebooks_as_students_save_them_earn_full_marks(graded_corpus, name):
    """Colab (cell metadata gone) and VS Code metadata, magics and shell escapes, CRLF, a byte-order
    mark, answers moved, an old nbformat 3 file."""
    result = graded_corpus[name]
    assert result.score == 10, [c.message for c in result.checks if not c.passed]
    assert not any("skipped" in note or "missing" in note for note in result.notes)


@pytest.mark.parametrize("name, note", [("colab", "lost its cell metadata, as Colab does"),
                                        ("nbformat_3", "old format (nbformat 3); it was upgraded")])
def test_a_notebook_graded_by_content_or_upgraded_says_so(graded_corpus, name, note):
    assert any(note in n for n in graded_corpus[name].notes), graded_corpus[name].notes


def test_a_raising_cell_does_not_stop_grading(graded_corpus):
    result = graded_corpus["raising_cell"]
    assert result.score == 10
    assert any("RuntimeError: a cell that breaks" in note for note in result.notes)


@pytest.mark.parametrize("name", UNUSABLE)
def test_unusable_files_get_a_zero_and_a_reason(graded_corpus, name):
    result = graded_corpus[name]
    assert result.score == 0
    assert UNUSABLE[name][1] in result.notes[0]
    assert (graded_corpus["_out"] / name / "results.json").is_file()


def test_torch_loss_is_caught_at_run_time_even_through_getattr(graded_corpus):
    for name in ("torch_loss", "torch_loss_via_getattr", "nll_loss_module"):
        function = next(f for f in graded_corpus[name].functions if f.name == "manual_cross_entropy")
        assert all("used PyTorch's own loss" in c.message for c in function.failures), name


def test_one_notebook_starts_from_the_stored_warm_up(tmp_path, assignment, graded_corpus, monkeypatch):
    """grade NOTEBOOK and check use the warm-up a batch (or validate, or warm-up) stored, as batches do."""
    from autograder.checks.grading import grade_notebook
    from autograder.sandbox import warm_sandbox as warm
    from autograder.settings import Settings
    from autograder.warmup import store as warm_store

    store = warm_store.find(assignment)
    assert store is not None  # the corpus batch stored it
    started_with = []
    original = warm.WarmSandbox.__init__

    def spy(self, release_dir, settings, needs):
        started_with.append(settings.warm_cache)
        original(self, release_dir, settings, needs)

    monkeypatch.setattr(warm.WarmSandbox, "__init__", spy)
    result = grade_notebook(corpus.write(corpus.with_answers(), tmp_path / "one.ipynb"), assignment, Settings())
    assert result.score == 10
    assert started_with == [str(store / "cache")]
