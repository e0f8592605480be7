"""train_and_generate, graded as instructors grade it: the corpus as one real batch (sandboxed,
two workers), the release's own check.py as students run it, Gradescope's image and a Dask cluster.

The book's code and other correct styles earn full marks; each realistic mistake costs its own
function alone, and earns its hint; a mistake in calc_loss_batch costs calc_loss_loader and
train_step nothing, because they run with the kit's stand-in for it. The probes
(``train_and_generate_corpus.PROBES``) are notebooks written to fool the grader, or to be wronged
by it: each gets the grade its comment calls fair, and is flagged for a look when it changed
torch's or the kit's classes, and only then.
"""

import logging
import math
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from autograder.assignment import load_assignment
from autograder.assignments.train_and_generate import calls, cases, hints
from autograder.batch.local import grade_directory
from autograder.sandbox.inside.checker import calling, models, sampled
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
    for probe in tg.PROBES:
        corpus.write(probe.notebook(), submissions / f"{probe.name}.ipynb")
    corpus.write(corpus.colab(tg.with_answers()), submissions / "book_saved_by_colab.ipynb")
    (submissions / "book_in_nbformat_3.ipynb").write_bytes(corpus.nbformat_3(tg.with_answers()))
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
    """With the stand-in (calc_loss_batch failed its checks), the expected value is not what the
    student's calc_loss_batch would give: the message says so. Without it, nothing is said."""
    feedback = " ".join(c.feedback for f in graded["loader_wrong_after_a_wrong_loss"].functions for c in f.checks)
    assert "your calc_loss_batch failed its own checks, so while this runs" in feedback
    feedback = " ".join(c.feedback for f in graded["divides_by_loader_length"].functions for c in f.checks)
    assert "stand-in" not in feedback and "divides_by_loader_length" not in feedback


# ------------------------------------------------------------------ notebooks that probe the grader


@pytest.mark.parametrize("probe", tg.PROBES, ids=lambda p: p.name)
def test_a_probe_gets_the_grade_its_comment_calls_fair(graded, probe):
    result = graded[probe.name]
    lost = tuple(f.name for f in result.functions if not f.passed)
    assert lost == probe.lost, (probe.why, [(c.name, c.message) for c in result.checks if not c.passed])
    assert result.score == 10 - 2 * len(probe.lost)
    if probe.changed:
        assert len(result.look) == 1 and all(name in result.look[0] for name in probe.changed), result.look
        assert any("Your notebook changes classes of torch or of the kit" in note for note in result.notes)
    else:
        assert result.look == (), result.look


@pytest.mark.parametrize("name, words", [
    ("generate_scales_the_weights", "changed the model's parameter `tok_emb.weight`, which it should only read"),
    ("loss_changes_its_targets", "changed its argument number 2, which it should only read"),
    ("loss_without_gradients", "backward() on the loss it returned put no gradient on the model's parameters"),
    ("samples_well_with_one_token_only", "is not one of the 3 the sampler may draw there (given the"),
])
def test_a_probe_is_told_what_it_did(graded, name, words):
    assert words in " ".join(c.message for c in graded[name].checks if not c.passed)


NOTEBOOK_ASSERTS = ("book", "loss_summed", "loss_without_gradients", "generate_parameters_renamed")
VISIBLE = "the notebook's examples"  # the grader's name for the visible checks, those check.py runs


@pytest.mark.parametrize("name", NOTEBOOK_ASSERTS)
def test_the_notebook_s_own_asserts_are_never_stricter_than_its_visible_checks(graded, name, tmp_path):
    """The notebook run as a student runs it (its skip-when-grading cells aside, to keep the time):
    every function whose own test cell fails also fails its visible checks, those check.py runs, so
    a student never sees FAIL in the notebook and PASS from check.py. Among these: a summed loss
    (the loader's and the step's cells accept the student's own calc_loss_batch, as the stand-in
    promise does), a loss without gradients and a generate whose parameters have other names."""
    folder = Path(shutil.copytree(corpus.ROOT / "release" / "train_and_generate", tmp_path / "release"))
    notebook = nbformat.read(graded["_submissions"] / f"{name}.ipynb", as_version=4)
    notebook.cells = [c for c in notebook.cells if "skip-when-grading" not in c.metadata.get("tags", [])]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    failing_cells = {c.metadata["nbgrader"]["grade_id"].removeprefix("test_") for c in notebook.cells
                     if c.metadata.get("nbgrader", {}).get("grade")
                     and any(o.output_type == "error" for o in c.outputs)}
    failing_visible = {f.name for f in graded[name].functions
                       if any(not c.passed and c.name == VISIBLE for c in f.checks)}
    assert failing_cells <= failing_visible, (failing_cells, failing_visible)
    assert bool(failing_cells) == (name != "book")


@pytest.mark.parametrize("name, note", [("book_saved_by_colab", "lost its cell metadata, as Colab does"),
                                        ("book_in_nbformat_3", "old format (nbformat 3); it was upgraded")])
def test_a_notebook_saved_by_colab_or_an_old_jupyter_earns_full_marks_and_a_note(graded, name, note):
    result = graded[name]
    assert result.score == 10 and result.look == ()
    assert any(note in n for n in result.notes) and not any("missing" in n for n in result.notes), result.notes
    assert result.execution_time < 2 * graded["book"].execution_time + 5  # the training cell was not run


# ------------------------------------------------------------------ sampling, judged by properties


@pytest.fixture
def in_process(monkeypatch):
    """Checks run here as check.py runs them: models from the release's gpt2.py, one torch thread."""
    release = corpus.ROOT / "release" / "train_and_generate"
    monkeypatch.syspath_prepend(str(release))
    models.use(release)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _sampler(code: str):
    namespace = {"torch": torch}
    exec(code, namespace)
    return namespace["generate"]


RATE_CALLS = [calls.generate_sampled("tiny", 17, cases.token_ids(3, 17, vocab=97).tolist(), 800, 8, 0.1, 2,
                                     rate=True).data,
              calls.generate_sampled("wider", 16, cases.token_ids(7, 16, vocab=97).tolist(), 800, 6, 0.1, 2,
                                     rate=True).data]


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


def test_the_judge_recomputes_what_the_sampler_saw_to_far_below_the_tie_margin(in_process):
    """The judge runs the model on every window of the returned sequence at once; a sampler runs it one
    step at a time. They round differently, by far less than the margin (``sampled.TIE``) within which
    a logit counts as tied with the k-th, so a correct sampler is never failed by rounding."""
    spec = cases.model_spec(cases.TINY, 15)
    model = cases.model(spec)
    sequence = tuple(cases.token_ids(40, 3, vocab=97).tolist())
    for start, context in ((1, 16), (5, 8), (30, 4)):
        judged_logits = models.logits_along(spec, sequence, start, context)
        with torch.no_grad():
            stepwise = torch.stack([model(torch.tensor([sequence[max(0, j - context):j]]))[0, -1].double()
                                    for j in range(start, len(sequence))])
        assert float((judged_logits - stepwise).abs().max()) < sampled.TIE / 10


def test_the_stated_false_failure_rate_is_what_the_bound_gives():
    spec = next(e["sampled"] for e in RATE_CALLS[0]["expect"] if "sampled" in e)
    assert spec["false_failure"] * 3 < 1e-6  # a submission meets three rate checks at most
    assert 2 * math.exp(-2 * (math.sqrt(800 * math.log(2 / spec["false_failure"]) / 2)) ** 2 / 800) \
        == pytest.approx(spec["false_failure"])


# ------------------------------------------------------------------ where users run it


# Probes whose visible verdicts are a corpus notebook's (the same mistake, reached another way), left
# out of the comparison with check.py to keep the suite's time: the engine that decides them is one.
ALREADY_SHOWN = {"callee_in_closure_and_partial", "loader_wrong_after_a_wrong_loss", "generate_scales_the_weights",
                 "book_code_in_other_cells"}


def test_the_release_checker_says_what_the_grader_says(student_venv, graded, tmp_path):
    """`python check.py` in a copy of the release folder, in a student's environment (torch, tiktoken,
    numpy, IPython; no nbformat), on the whole corpus and the probes: each function's PASS or FAIL
    and its message, word for word, for notebooks saved by Colab and in nbformat 3 too."""
    notebooks = [n for n in sorted(graded["_submissions"].glob("*.ipynb")) if n.stem not in ALREADY_SHOWN]
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
    for name in ("loss_summed", "smallest_k_kept"):
        shutil.copy(graded["_submissions"] / f"{name}.ipynb", submissions / f"{name}.ipynb")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        batch = grade_directory(submissions, tmp_path / "out", assignment, Settings(),
                                scheduler=cluster.scheduler_address)
    for result in batch.results:
        assert [(c.name, c.outcome, c.feedback) for c in result.checks] == \
               [(c.name, c.outcome, c.feedback) for c in graded[result.student].checks], result.student
