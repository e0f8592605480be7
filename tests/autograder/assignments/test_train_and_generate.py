"""train_and_generate, graded as instructors grade it: the corpus as one real batch (sandboxed,
two workers), the release's own check.py as students run it, Gradescope's image and a Dask cluster.

The book's code and other correct styles earn full marks; each realistic mistake costs its own
function alone, and earns its hint; a mistake in calc_loss_batch costs calc_loss_loader and
train_step nothing, because they run with the kit's stand-in for it.
"""

import logging
import math
import shutil
import subprocess
import sys

import pytest
import torch

from autograder.assignment import load_assignment
from autograder.assignments.train_and_generate import calls, cases, hints
from autograder.batch.local import grade_directory
from autograder.sandbox.inside.checker import calling
from autograder.settings import Settings
from tests import agreement, corpus, dask_cluster, installs
from tests import train_and_generate_corpus as tg

FUNCTIONS = ("input_target_pairs", "calc_loss_batch", "calc_loss_loader", "train_step", "generate")
CORRECT = ("book", *tg.STYLES)


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("train_and_generate")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assignment):
    submissions = tmp_path_factory.mktemp("tg-corpus")
    for name, notebook in tg.notebooks().items():
        corpus.write(notebook, submissions / f"{name}.ipynb")
    results = grade_directory(submissions, tmp_path_factory.mktemp("tg-graded"), assignment, Settings(jobs=2)).results
    return {r.student: r for r in results} | {"_submissions": submissions}


@pytest.mark.parametrize("name", CORRECT)
def test_correct_answers_earn_full_marks_and_no_hint(graded, name):
    result = graded[name]
    failed = [(c.name, c.feedback) for f in result.functions for c in f.checks if not c.passed]
    assert result.score == 10 and failed == []


def test_the_untouched_release_scores_zero(graded):
    assert graded["stub"].score == 0


@pytest.mark.parametrize("mistake", tg.MISTAKES, ids=lambda m: m.name)
def test_a_mistake_costs_its_function_alone_and_earns_its_hint(graded, mistake):
    result = graded[mistake.name]
    lost = [f.name for f in result.functions if not f.passed]
    assert lost == [mistake.function] and result.score == 8
    failed = [c for f in result.functions for c in f.checks if not c.passed]
    named = {name for c in failed for name in c.mistakes}
    assert named == ({mistake.hint} if mistake.hint else set())
    if mistake.hint:
        text = next(h.text for h in hints.HINTS if h.name == mistake.hint)
        assert f"Hint: {text}" in " ".join(c.feedback for c in failed)


def test_every_hint_is_earned_by_a_mistake_of_the_corpus():
    assert {h.name for h in hints.HINTS} == {m.hint for m in tg.MISTAKES if m.hint}


def test_a_loader_is_told_why_its_expected_value_is_not_its_own_batch_loss(graded):
    """With the stand-in, the expected value is not what the student's calc_loss_batch would give:
    the message says so."""
    feedback = " ".join(c.feedback for f in graded["divides_by_loader_length"].functions for c in f.checks)
    assert "the kit's own stand-in loss" in feedback


# ------------------------------------------------------------------ sampling, judged by properties


@pytest.fixture
def in_process(monkeypatch):
    """Checks run here as check.py runs them: models from the release's gpt2.py, one torch thread."""
    monkeypatch.syspath_prepend(str(corpus.ROOT / "release" / "train_and_generate"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sampler(code: str):
    namespace = {"torch": torch}
    exec(code, namespace)
    return namespace["generate"]


RATE_CALLS = [calls.generate_sampled("tiny", 15, start=7, new=1000, temperature=0.1, top_k=2, rate=True).data,
              calls.generate_sampled("wider", 16, start=7, new=800, temperature=0.1, top_k=2, rate=True).data]


@pytest.mark.parametrize("code", [tg.BOOK["generate"], tg.STYLES["categorical_sampler"]["generate"]],
                         ids=["multinomial", "categorical"])
def test_correct_samplers_pass_whatever_their_random_draws(in_process, code):
    """Runs from other seeds: a correct sampler fails a rate check with probability < 2.5e-7."""
    generate = _sampler(code)
    for seed in range(2):
        torch.manual_seed(seed)
        for call in RATE_CALLS:
            verdict = calling.call_and_judge(generate, call)
            assert verdict.passed, (seed, verdict.message)


@pytest.mark.parametrize("mistake, hint", [
    (tg.BOOK["generate"].replace("torch.multinomial(probs, num_samples=1)",
                                 "torch.argmax(probs, dim=-1, keepdim=True)"), None),
    (next(m.code for m in tg.MISTAKES if m.name == "temperature_after_softmax"), "temperature_after_softmax"),
], ids=["greedy_when_sampling", "temperature_after_softmax"])
def test_a_sampler_at_the_wrong_temperature_fails_every_time(in_process, mistake, hint):
    generate = _sampler(mistake)
    for seed in (0,):
        torch.manual_seed(seed)
        for call in RATE_CALLS:
            verdict = calling.call_and_judge(generate, call)
            assert not verdict.passed and "did not sample from softmax(logits / 0.1)" in verdict.message
            assert [name for name, _ in verdict.mistakes] == ([hint] if hint else [])


@pytest.mark.parametrize("config, seed, k", [("tiny", 8, 3), ("tiny", 14, 3), ("tiny", 15, 2), ("wider", 16, 2)])
def test_no_sampled_call_sits_near_a_tie_at_the_top_k(in_process, config, seed, k):
    """The kit's table is computed in one batch, the student's model runs one token at a time: they
    round differently (here by up to 1e-6). A k-th and (k+1)-th logit that close could put a correct
    sampler's token outside the kit's top k; every sampled call keeps a margin of far more."""
    table = cases.next_token_logits(config, seed)
    top = torch.sort(table, dim=-1, descending=True).values
    assert float((top[:, k - 1] - top[:, k]).min()) > 1e-5


def test_the_stated_false_failure_rate_is_what_the_bound_gives():
    spec = next(e["rate"] for e in RATE_CALLS[0]["expect"] if "rate" in e)
    assert spec["false_failure"] * 3 < 1e-6  # a submission meets three rate checks at most
    assert 2 * math.exp(-2 * (math.sqrt(1000 * math.log(2 / spec["false_failure"]) / 2)) ** 2 / 1000) \
        == pytest.approx(spec["false_failure"])


# ------------------------------------------------------------------ where users run it


def test_the_release_checker_says_what_the_grader_says(student_venv, graded, tmp_path):
    """`python check.py` in a copy of the release folder, in a student's environment (torch, tiktoken,
    numpy, IPython), on the whole corpus: each function's PASS or FAIL and its message, word for word."""
    notebooks = sorted(graded["_submissions"].glob("*.ipynb"))
    said = agreement.checker_said(student_venv, corpus.ROOT / "release" / "train_and_generate", notebooks, tmp_path)
    assert {n.stem: said[n.stem] for n in notebooks} == {n.stem: agreement.grader_said(graded[n.stem])
                                                         for n in notebooks}


def test_the_kits_check_and_grade_commands_take_it(graded, tmp_path):
    """`check` and `grade NOTEBOOK` with --assignment, as a TA types them (each starts its own sandbox)."""
    notebook = str(graded["_submissions"] / "smallest_k_kept.ipynb")
    base = [sys.executable, "-m", "autograder"]
    done = subprocess.run([*base, "check", "--assignment", "train_and_generate", notebook], cwd=corpus.ROOT,
                          capture_output=True, text=True, timeout=300)
    words = " ".join(done.stdout.split())
    assert done.returncode == 1 and "FAIL generate" in words and "PASS train_step" in words
    assert "Hint: Keep the k *largest* logits" in words
    out = str(tmp_path / "results.json")
    done = subprocess.run([*base, "grade", "--assignment", "train_and_generate", notebook, "-o", out],
                          cwd=corpus.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "smallest_k_kept: 8/10" in done.stdout, done.stderr[-2000:]


def test_gradescope_grades_it(tmp_path_factory, gradescope_image, graded):
    """This assignment's zip, set up by its own setup.sh. The environment starts as a copy of the
    first assignment's image (whose fresh install the Gradescope tests cover), to save the minute
    of resolving the same dependencies again."""
    template = gradescope_image[1].parent
    root, bin_dir = installs.gradescope_image(tmp_path_factory.mktemp("gradescope-tg"), "train_and_generate",
                                              template=template)
    done, results = installs.run_autograder(root, bin_dir, graded["_submissions"] / "step_before_backward.ipynb",
                                            "train_and_generate")
    assert done.returncode == 0 and results["score"] == 8, done.stderr[-2000:]
    assert next(t for t in results["tests"] if t["name"] == "train_step")["score"] == 0


def test_a_dask_cluster_grades_it_like_the_local_batch(graded, assignment, tmp_path):
    distributed = dask_cluster.distributed()
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in ("book", "stub", "loss_summed", "smallest_k_kept"):
        shutil.copy(graded["_submissions"] / f"{name}.ipynb", submissions / f"{name}.ipynb")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        batch = grade_directory(submissions, tmp_path / "out", assignment, Settings(),
                                scheduler=cluster.scheduler_address)
    for result in batch.results:
        assert [(c.name, c.outcome, c.feedback) for c in result.checks] == \
               [(c.name, c.outcome, c.feedback) for c in graded[result.student].checks], result.student
