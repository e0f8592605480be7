"""A cell that hangs or ends the student's process costs only itself: the notebook runs on without it.

Real notebooks in the real sandbox. The limits are short so the tests are quick; the assertions
about time are far from the limits, since timing on shared machines is noisy.
"""

from __future__ import annotations

from autograder.grading import grade_notebook
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
SETTINGS = Settings(cell_timeout=5, call_timeout=3, notebook_timeout=300, sandbox="bwrap")


def scores(result):
    return {f.name: f.score for f in result.functions}


def grade(tmp_path, assignment, notebook, settings=SETTINGS):
    return grade_notebook(corpus.write(notebook, tmp_path / "student.ipynb"), assignment, settings)


def test_a_looping_function_costs_only_its_own_points(tmp_path, assignment):
    """The issue's case: the hang is in a function the release notebook's own cell calls."""
    result = grade(tmp_path, assignment, corpus.with_answers(manual_cross_entropy=LOOPING_LOSS))
    assert scores(result) == {"text_to_token_ids": 2, "token_ids_to_text": 2, "target_probas": 2,
                              "manual_cross_entropy": 0, "perplexity": 1}
    skipped = [note for note in result.notes if "was skipped" in note]
    assert len(skipped) == 1
    assert 'cell 22 ("loss = manual_cross_entropy(logits, targets)") was skipped' in skipped[0]
    assert "did not finish within its 5 s" in skipped[0]
    # One cell limit, a replay and a call limit, not the 300 s notebook limit.
    assert result.execution_time < SETTINGS.notebook_timeout / 3


def test_a_cell_that_kills_its_own_process_is_skipped(tmp_path, assignment):
    """An endless loop and os._exit at the top level are in test_security's hostile batch."""
    cell = IGNORE_SIGNALS + "import os\nos.kill(os.getpid(), signal.SIGKILL)"
    result = grade(tmp_path, assignment, corpus.build(corpus.SEED, {3: cell}))
    assert result.score == 10
    assert any(note.startswith('cell 4 ("import signal, time") was skipped') and "killed by SIGKILL" in note
               for note in result.notes), result.notes


def test_a_function_defined_in_a_skipped_cell_is_the_only_loss(tmp_path, assignment):
    hanging_definition = corpus.SEED["perplexity"] + "\nwhile True:\n    pass\n"
    result = grade(tmp_path, assignment, corpus.with_answers(perplexity=hanging_definition))
    assert scores(result)["perplexity"] == 0 and result.score == 9
    message = next(f for f in result.functions if f.name == "perplexity").failures[0].message
    assert "was skipped (it did not finish within its 5 s), so `perplexity` was never defined" in message


def test_the_notebook_limit_is_still_the_backstop(tmp_path, assignment):
    slow = corpus.build(corpus.SEED, {3: "import time\ntime.sleep(60)"})
    result = grade(tmp_path, assignment, slow, Settings(cell_timeout=100, notebook_timeout=10, sandbox="bwrap"))
    assert result.score == 0
    assert any("did not finish within 10 s" in note for note in result.notes)
