"""Hostile notebooks: a student's code cannot change its grade, stop the others being graded,
read what it should not, or outlive its grading. Every test here runs real notebooks in the
real sandbox (CI installs bubblewrap; without it these tests fail rather than pass unsandboxed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.batch.local import grade_directory
from autograder.sandbox.bwrap import bwrap_status
from autograder.settings import Settings
from tests import corpus

AFTER_SETUP = 3  # insert extra cells right after the locked setup cell

RIGGED = """
import math, numpy, torch, torch.nn.functional as F
always = lambda *args, **kwargs: True
torch.allclose = torch.equal = numpy.allclose = math.isclose = always
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
torch.testing.assert_close = lambda *args, **kwargs: None
torch.exp = lambda x: torch.tensor(48725.8203)
F.cross_entropy = lambda *args, **kwargs: torch.tensor(10.7940)
torch.Tensor.__eq__ = lambda self, other: True
"""

LYING = """
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.Tensor.__eq__, torch.equal, torch.allclose, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs)

class Boom:
    def __reduce__(self):
        return (open, (MARKER, "w"))
"""

HANG = """
import signal, time
for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, signal.SIG_IGN)
"""


def hostile_notebooks(marker: Path, out: Path) -> dict:
    wrong = {
        "text_to_token_ids": "def text_to_token_ids(text, tokenizer):\n    return torch.tensor([[0]])",
        "target_probas": "def target_probas(probas, targets):\n    return torch.zeros(targets.shape)",
        "manual_cross_entropy": "def manual_cross_entropy(logits, targets):\n    return torch.tensor(0.0)",
        "perplexity": "def perplexity(loss):\n    return torch.exp(loss)",  # torch.exp is rigged above
    }
    forge = f"""
import json, os
forged = {{"score": 100, "tests": []}}
targets = [{str(out)!r}, {str(out / 'seed')!r}, os.getcwd(), os.path.expanduser("~"), "/tmp", ".."]
for target in targets + ["/autograder/results"]:
    try:
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "results.json"), "w") as f:
            json.dump(forged, f)
        with open(os.path.join(target, "grades.csv"), "w") as f:
            f.write("student,score\\nforger,100\\n")
    except OSError:
        pass
print(json.dumps(forged))
"""
    return {
        "rigged": corpus.build({**corpus.SEED, **wrong}, {AFTER_SETUP: RIGGED}),
        "lying": corpus.build({
            **corpus.SEED,
            "target_probas":
                "def target_probas(probas, targets):\n    return torch.zeros(targets.shape).as_subclass(Liar)",
            "manual_cross_entropy": "def manual_cross_entropy(logits, targets):\n    return Boom()",
            "perplexity": "def perplexity(loss):\n    return {'perplexity': torch.exp(loss)}",
        }, {AFTER_SETUP: f"MARKER = {str(marker)!r}\n" + LYING}),
        "forger": corpus.build({}, {AFTER_SETUP: forge}),
        "hangs_in_one_function": corpus.build({
            **corpus.SEED,
            "target_probas": "def target_probas(probas, targets):\n    while True:\n        time.sleep(1)",
        }, {AFTER_SETUP: HANG}),
        "endless_top_level_loop": corpus.build(corpus.SEED, {AFTER_SETUP: HANG + "while True:\n    pass"}),
        "os_exit": corpus.build(corpus.SEED, {AFTER_SETUP: "import os\nos._exit(3)"}),
        "sys_exit": corpus.build(corpus.SEED, {AFTER_SETUP: "import sys\nsys.exit(1)"}),
        "memory_hog": corpus.build({
            **corpus.SEED,
            "perplexity": "def perplexity(loss):\n    waste = torch.ones(3 * 2**30)\n    return torch.exp(loss)",
        }),
        "prints_60_mb": corpus.build(corpus.SEED, {AFTER_SETUP: "for _ in range(60):\n    print('x' * 1_000_000)"}),
        "seed": corpus.with_answers(),
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, assignment):
    if bwrap_status() is not None:
        pytest.fail(f"these tests need the sandbox: {bwrap_status()}. Install bubblewrap.")
    submissions, out = tmp_path_factory.mktemp("hostile"), tmp_path_factory.mktemp("hostile-out")
    marker = tmp_path_factory.mktemp("marker") / "unpickled"
    for name, notebook in hostile_notebooks(marker, out).items():
        corpus.write(notebook, submissions / f"{name}.ipynb")
    settings = Settings(jobs=2, notebook_timeout=45, call_timeout=5, cell_timeout=5, sandbox="bwrap")
    results = {r.student: r for r in grade_directory(submissions, out, assignment, settings).results}
    return results, out, marker


def scores(result):
    return {f.name: f.score for f in result.functions}


def test_rigged_comparisons_earn_nothing(hostile):
    """Comparisons are made in the grader, so rigging torch's in the notebook earns nothing. The
    rigged torch functions are put back before every call (the engine's guard), so `perplexity`,
    whose `torch.exp(loss)` is right once `torch.exp` is torch's again, earns its point; the
    submission is flagged for a look, naming what it changed."""
    result = hostile[0]["rigged"]
    assert result.sandboxed
    assert scores(result) == {"text_to_token_ids": 0, "token_ids_to_text": 2, "target_probas": 0,
                              "manual_cross_entropy": 0, "perplexity": 1}
    assert all(name in result.look[0] for name in ("torch.exp", "torch.allclose", "torch.Tensor.__eq__",
                                                   "torch.nn.functional.cross_entropy"))


def test_lying_values_earn_nothing_and_are_never_unpickled(hostile):
    results, _, marker = hostile
    result = results["lying"]
    assert scores(result)["target_probas"] == scores(result)["manual_cross_entropy"] == 0
    assert scores(result)["perplexity"] == 0
    messages = " ".join(c.message for c in result.checks if not c.passed)
    assert "Liar object" in messages and "Boom object" in messages
    assert "it returned {'perplexity': tensor(" in messages  # a dict is plain data: rebuilt, shown, still wrong
    assert not marker.exists()


def test_forged_results_change_nothing(hostile):
    results, out, _ = hostile
    assert results["forger"].score == 0 and results["seed"].score == 10
    assert json.loads((out / "forger" / "results.json").read_text())["score"] == 0
    assert json.loads((out / "seed" / "results.json").read_text())["score"] == 10
    assert "forger,0," in (out / "grades.csv").read_text()
    assert not list(out.glob("results.json")) and "100" not in (out / "grades.csv").read_text()


def test_a_hanging_function_costs_only_its_own_points(hostile):
    result = hostile[0]["hangs_in_one_function"]
    assert scores(result) == {"text_to_token_ids": 2, "token_ids_to_text": 2, "target_probas": 0,
                              "manual_cross_entropy": 3, "perplexity": 1}
    failures = next(f for f in result.functions if f.name == "target_probas").failures
    assert "did not return within 5 s" in failures[0].message
    assert all("Not run again" in f.message for f in failures[1:])


@pytest.mark.parametrize("name, message", [
    ("endless_top_level_loop", 'cell 4 ("import signal, time") was skipped: it did not finish within its 5 s'),
    ("os_exit", 'cell 4 ("import os") was skipped: the notebook\'s process exited (exit code 3)'),
])
def test_top_level_hangs_and_exits_cost_only_their_cell(hostile, name, message):
    result = hostile[0][name]
    assert result.score == 10
    assert any(note.startswith(message) for note in result.notes), result.notes
    assert hostile[0]["seed"].score == 10


def test_sys_exit_in_a_cell_is_just_an_error(hostile):
    result = hostile[0]["sys_exit"]
    assert result.score == 10
    assert any("SystemExit" in note for note in result.notes)


def test_memory_limit_is_reported(hostile):
    result = hostile[0]["memory_hog"]
    assert scores(result)["perplexity"] == 0 and result.score == 9
    failure = next(f for f in result.functions if f.name == "perplexity").failures[0]
    assert "memory limit exceeded" in failure.message


def test_huge_output_still_gives_a_small_normal_result(hostile):
    results, out, _ = hostile
    assert results["prints_60_mb"].score == 10
    assert (out / "prints_60_mb" / "results.json").stat().st_size < 20_000
