"""A cell that hangs or ends the student's process costs only itself: the notebook runs on without it.

Real notebooks in the real sandbox, graded as one warm batch. The limits are short so the tests are
quick; the assertions about time are far from the limits, since timing on shared machines is noisy.
"""

from __future__ import annotations

import pytest

from autograder.batch.local import grade_directory
from autograder.checks.grading import grade_notebook
from autograder.settings import Settings
from tests import corpus

IGNORE_SIGNALS = """
import signal, time
for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, signal.SIG_IGN)
"""
# The release's own cell `loss = manual_cross_entropy(logits, targets)` calls it, so that cell hangs too.
LOOPING_LOSS = IGNORE_SIGNALS + """
def manual_cross_entropy(logits, targets):
    while True:
        time.sleep(0.1)
"""
SETTINGS = Settings(cell_timeout=5, call_timeout=3, notebook_timeout=300, sandbox="bwrap", jobs=2)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assignment):
    submissions = tmp_path_factory.mktemp("hangs")
    notebooks = {
        "loss_loops": corpus.with_answers(manual_cross_entropy=LOOPING_LOSS),
        "kills_itself": corpus.build(corpus.SEED, {3: IGNORE_SIGNALS + "import os\nos.kill(os.getpid(), 9)"}),
        "hangs_while_defining": corpus.with_answers(perplexity=corpus.SEED["perplexity"] + "\nwhile True:\n    pass"),
    }
    for name, notebook in notebooks.items():
        corpus.write(notebook, submissions / f"{name}.ipynb")
    batch = grade_directory(submissions, tmp_path_factory.mktemp("hangs-out"), assignment, SETTINGS)
    return {result.student: result for result in batch.results}


def scores(result):
    return {f.name: f.score for f in result.functions}


def test_a_looping_function_costs_only_its_own_points(graded):
    """The issue's case: the hang is in a function the release notebook's own cell calls."""
    result = graded["loss_loops"]
    assert scores(result) == {"text_to_token_ids": 2, "token_ids_to_text": 2, "target_probas": 2,
                              "manual_cross_entropy": 0, "perplexity": 1}
    skipped = [note for note in result.notes if "was skipped" in note]
    assert len(skipped) == 1
    assert 'cell 22 ("loss = manual_cross_entropy(logits, targets)") was skipped' in skipped[0]
    assert "did not finish within its 5 s" in skipped[0]
    # One cell limit, a replay and a call limit, not the 300 s notebook limit.
    assert result.execution_time < SETTINGS.notebook_timeout / 3


def test_a_cell_that_kills_its_own_process_is_skipped(graded):
    """An endless loop and os._exit at the top level are in test_security's hostile batch."""
    result = graded["kills_itself"]
    assert result.score == 10
    assert any(note.startswith('cell 4 ("import signal, time") was skipped') and "killed by SIGKILL" in note
               for note in result.notes), result.notes


def test_a_function_defined_in_a_skipped_cell_is_the_only_loss(graded):
    result = graded["hangs_while_defining"]
    assert scores(result)["perplexity"] == 0 and result.score == 9
    message = next(f for f in result.functions if f.name == "perplexity").failures[0].message
    assert "was skipped (it did not finish within its 5 s), so `perplexity` was never defined" in message


def test_the_notebook_limit_is_still_the_backstop(tmp_path, assignment):
    slow = corpus.write(corpus.build(corpus.SEED, {3: "import time\ntime.sleep(60)"}), tmp_path / "slow.ipynb")
    result = grade_notebook(slow, assignment, Settings(cell_timeout=100, notebook_timeout=8, sandbox="bwrap"))
    assert result.score == 0
    assert any("did not finish within 8 s" in note for note in result.notes)
