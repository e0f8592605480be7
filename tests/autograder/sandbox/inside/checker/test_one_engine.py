"""One engine: the students' ``python check.py`` and the grader run a notebook the same way, and say
the same thing about it, function by function, message by message.

The notebooks here are those on which the two used to disagree: a cell that ends the process the
way Colab's restart idiom does (``os._exit(0)``), ``sys.exit()``, magics of every form, an endless
loop in a function, and a slow cell nobody tagged. And the notebook whose checks used to leak
into each other: a correct ``generate`` that leaves grad mode off, float64 the default dtype and
the random generator moved, checked before a correct ``train_step``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.assignment import load_assignment
from autograder.batch.local import grade_directory
from autograder.settings import Settings
from tests import agreement, corpus
from tests import train_and_generate_corpus as tg

AFTER_SETUP = 3
# Shorter limits than the assignment's (20 s a cell, 10 s a call), on both sides alike: the hangs here
# cost each side one cell limit and one call limit, and the suite has a budget.
CELL, CALL = 8.0, 4.0
LOOP = "def perplexity(loss):\n    while True:\n        pass"
NOTEBOOKS = {
    # name: (the notebook, what every function gets: PASS, or FAIL for those named)
    "exits_like_colab": (corpus.build(corpus.SEED, {AFTER_SETUP: "import os\nos._exit(0)"}), set()),
    "sys_exit": (corpus.build(corpus.SEED, {AFTER_SETUP: "import sys\nsys.exit()"}), set()),
    "magics": (corpus.build({**corpus.SEED, "perplexity": "%%time\n" + corpus.SEED["perplexity"].strip()},
                            {AFTER_SETUP: "%pip --version\n!ls\nx = 1",
                             AFTER_SETUP + 1: "%%capture\nprint('hidden')"}), set()),
    "endless_loop": (corpus.with_answers(perplexity=LOOP), {"perplexity"}),
    "slow_untagged_cell": (corpus.build(corpus.SEED, {AFTER_SETUP: "import time\ntime.sleep(30)"}), set()),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-engine")
    for name, (notebook, _) in NOTEBOOKS.items():
        corpus.write(notebook, folder / f"{name}.ipynb")
    results = grade_directory(folder, tmp_path_factory.mktemp("one-engine-graded"), load_assignment("tokens_and_loss"),
                              Settings(jobs=2, cell_timeout=CELL, call_timeout=CALL)).results
    return {r.student: r for r in results} | {"_folder": folder}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_grader_grades_them_as_a_student_expects(graded, name):
    _, failing = NOTEBOOKS[name]
    assert {f.name for f in graded[name].functions if not f.passed} == failing, graded[name].notes


def test_the_checker_and_the_grader_say_the_same(graded, student_venv, tmp_path):
    notebooks = [graded["_folder"] / f"{name}.ipynb" for name in NOTEBOOKS]
    release = Path(shutil.copytree(corpus.ROOT / "release" / "tokens_and_loss", tmp_path / "limited" / "release"))
    limits = json.loads((release / "checks.json").read_text())
    (release / "checks.json").write_text(json.dumps({**limits, "cell_timeout": CELL, "call_timeout": CALL}))
    checker = agreement.checker_said(student_venv, release, notebooks, tmp_path)
    assert {name: checker[name] for name in NOTEBOOKS} == {name: agreement.grader_said(graded[name])
                                                           for name in NOTEBOOKS}
    # A loop costs one cell limit and one call limit, on both sides: the notebook's own cell that calls
    # the function is left out, then the function's call is stopped.
    status, message = checker["endless_loop"]["perplexity"]
    assert status == "FAIL" and f"did not return within {CALL:g} s (an endless loop?)" in message


def test_what_a_check_leaves_behind_never_reaches_the_next(tmp_path):
    """A correct input_target_pairs, checked first, that turns grad mode off, makes float64 the
    default, moves the random generator and, when the checks call it (not the notebook's own data
    cell, which uses windows of 64), replaces torch's cross_entropy, and never puts any of it back;
    calc_loss_batch, checked after it, uses cross_entropy and builds float32 models, and train_step
    needs gradients: every function earns its points."""
    leaky = tg.BOOK["input_target_pairs"].replace(
        "    return torch.stack(inputs), torch.stack(targets)",
        "    torch.set_grad_enabled(False)\n    torch.set_default_dtype(torch.float64)\n    torch.rand(1000)\n"
        "    if max_length != 64:\n"
        "        torch.nn.functional.cross_entropy = lambda *args, **kwargs: torch.tensor(0.0)\n"
        "    return torch.stack(inputs), torch.stack(targets)")
    assert leaky != tg.BOOK["input_target_pairs"]
    corpus.write(tg.with_answers(input_target_pairs=leaky), tmp_path / "in" / "leaky_pairs.ipynb")
    result = grade_directory(tmp_path / "in", tmp_path / "out", load_assignment("train_and_generate"),
                             Settings(jobs=1)).results[0]
    assert result.score == result.max_score, [(f.name, f.checks[0].message) for f in result.functions if not f.passed]
