"""attention, graded as instructors grade it: the corpus as one real batch (sandboxed, two workers),
the release's own check.py as students run it, the `check` and `grade` commands, GitHub Classroom's
check step, Gradescope's image and a Dask cluster.

The book's code (from the book's own package) and three other correct styles earn full marks; each
realistic mistake costs its own function or class alone, and earns its hint; a mistake in one of the
two functions costs the classes that call it nothing, because they run with the kit's stand-in for
it. The probes (``attention_corpus.PROBES``) try to fool the property checks, or to be wronged by
them. Dropout is judged by its properties; the last tests show that a correct dropout passes whatever
its draws, and that the stated false-failure rate is what the bound gives.
"""

import json
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
from autograder.assignments.attention import calls, hints
from autograder.batch.local import grade_directory
from autograder.sandbox.inside.checker import calling
from autograder.settings import Settings
from tests import agreement, corpus, dask_cluster, installs
from tests import attention_corpus as ac
from tests.autograder.integrations.test_github_classroom import run_check_step

CORRECT = ("book", *ac.STYLES)
RELEASE = corpus.ROOT / "release" / "attention"


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("attention")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assignment):
    submissions = tmp_path_factory.mktemp("attention-corpus")
    for name, notebook in ac.notebooks().items():
        corpus.write(notebook, submissions / f"{name}.ipynb")
    for probe in ac.PROBES:
        corpus.write(probe.notebook(), submissions / f"{probe.name}.ipynb")
    corpus.write(corpus.colab(ac.with_answers()), submissions / "book_saved_by_colab.ipynb")
    (submissions / "book_in_nbformat_3.ipynb").write_bytes(corpus.nbformat_3(ac.with_answers()))
    out = tmp_path_factory.mktemp("attention-graded")
    results = grade_directory(submissions, out, assignment, Settings(jobs=2)).results
    return {r.student: r for r in results} | {"_submissions": submissions, "_out": out}


@pytest.mark.parametrize("name", CORRECT)
def test_correct_answers_earn_full_marks_and_no_hint(graded, name):
    result = graded[name]
    failed = [(c.name, c.feedback) for f in result.functions for c in f.checks if not c.passed]
    assert result.score == 10 and failed == [] and result.look == ()


def test_the_untouched_release_scores_zero(graded):
    assert graded["stub"].score == 0


@pytest.mark.parametrize("mistake", ac.MISTAKES, ids=lambda m: m.name)
def test_a_mistake_costs_its_function_alone_and_earns_its_hint(graded, mistake):
    result = graded[mistake.name]
    lost = [f.name for f in result.functions if not f.passed]
    assert lost == [mistake.function] and result.score == 8
    failed = [c for f in result.functions for c in f.checks if not c.passed]
    assert {name for c in failed for name in c.mistakes} == {mistake.hint}
    text = next(h.text for h in hints.HINTS if h.name == mistake.hint)
    assert f"Hint: {text}" in " ".join(c.feedback for c in failed)


def test_every_hint_is_earned_by_a_mistake_of_the_corpus():
    assert {h.name for h in hints.HINTS} == {m.hint for m in ac.MISTAKES}


def test_the_classes_that_call_a_broken_function_keep_their_points(graded):
    """The style whose classes call the two functions, with one function wrong: the classes ran with
    the kit's stand-in for it (a non-answer), and were judged by what they did with it."""
    for name in ("scores_not_scaled", "mask_after_softmax"):
        mistake = next(m for m in ac.MISTAKES if m.name == name)
        assert mistake.style == "calls_its_functions"
        assert [f.name for f in graded[name].functions if not f.passed] == [mistake.function]


@pytest.mark.parametrize("probe", ac.PROBES, ids=lambda p: p.name)
def test_a_probe_gets_the_grade_its_comment_calls_fair(graded, probe):
    result = graded[probe.name]
    lost = tuple(f.name for f in result.functions if not f.passed)
    assert lost == probe.lost, (probe.why, [(c.name, c.message) for c in result.checks if not c.passed])
    assert probe.says in " ".join(c.message for c in result.checks if not c.passed)


@pytest.mark.parametrize("name, note", [("book_saved_by_colab", "lost its cell metadata, as Colab does"),
                                        ("book_in_nbformat_3", "old format (nbformat 3); it was upgraded")])
def test_a_notebook_saved_by_colab_or_an_old_jupyter_earns_full_marks_and_a_note(graded, name, note):
    result = graded[name]
    assert result.score == 10 and result.look == ()
    assert any(note in n for n in result.notes) and not any("missing" in n for n in result.notes), result.notes


VISIBLE = "the notebook's examples"  # the grader's name for the visible checks, those check.py runs
NOTEBOOK_ASSERTS = ("book", "mask_not_cut")  # a cell that fails only where check.py once passed


def test_the_notebook_s_own_asserts_are_never_stricter_than_its_visible_checks(graded, tmp_path):
    """The notebook run as a student runs it: every function whose own test cell fails also fails
    its visible checks, those check.py runs, so a student never sees FAIL in the notebook and PASS
    from check.py. One kernel per notebook, in a copy of the release."""
    folder = Path(shutil.copytree(RELEASE, tmp_path / "release"))
    for name in NOTEBOOK_ASSERTS:
        notebook = nbformat.read(graded["_submissions"] / f"{name}.ipynb", as_version=4)
        NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
        failing_cells = {c.metadata["nbgrader"]["grade_id"].removeprefix("test_") for c in notebook.cells
                         if c.metadata.get("nbgrader", {}).get("grade")
                         and any(o.output_type == "error" for o in c.outputs)}
        failing_visible = {f.name for f in graded[name].functions
                           if any(not c.passed and c.name == VISIBLE for c in f.checks)}
        assert failing_cells <= failing_visible, (name, failing_cells, failing_visible)
        assert bool(failing_cells) == (name != "book"), name


# ------------------------------------------------------------------ dropout, judged by properties


@pytest.fixture
def in_process(monkeypatch):
    """Checks run here as check.py runs them, with the release's stand-ins importable."""
    monkeypatch.syspath_prepend(str(RELEASE))


def _module(code: str, name: str):
    namespace = {"torch": torch, "nn": torch.nn}
    exec(code, namespace)
    return namespace[name]


DROPOUT_CALLS = [calls.weights_shown("CausalAttention", n=12, heads=1, p=calls.TRAIN_P, batch=8, train=True).data,
                 calls.weights_shown("MultiHeadAttention", n=8, heads=2, p=calls.TRAIN_P, batch=8, train=True).data]


@pytest.mark.parametrize("style", ["book", "scaled_dot_product_attention"])
def test_correct_dropout_passes_whatever_its_random_draws(in_process, style):
    """Twenty seeds each: nn.Dropout (the book's) and scaled_dot_product_attention's own dropout."""
    answers = {**ac.BOOK, **ac.STYLES.get(style, {})}
    for call in DROPOUT_CALLS:
        module = _module(answers[call["function"]], call["function"])
        for seed in range(20):
            torch.manual_seed(seed)
            verdict = calling.call_and_judge(module, call)
            assert verdict.passed, (style, seed, verdict.message)


def test_the_stated_false_failure_rate_is_what_the_bound_gives():
    """Hoeffding for N weights dropped independently with probability p: P(|dropped - pN| > t) <=
    2 exp(-2 t^2 / N); the check's t makes that the stated rate, and a submission meets two checks."""
    spec = next(e["dropout"] for e in DROPOUT_CALLS[0]["expect"] if "dropout" in e)
    assert spec["false_failure"] * len(DROPOUT_CALLS) < 1e-6
    n = 1000
    t = math.sqrt(n * math.log(2 / spec["false_failure"]) / 2)
    assert 2 * math.exp(-2 * t ** 2 / n) == pytest.approx(spec["false_failure"])


# ------------------------------------------------------------------ where users run it


def test_the_release_checker_says_what_the_grader_says(student_venv, graded, tmp_path):
    """`python check.py` in a copy of the release folder, in a student's environment (torch, tiktoken,
    numpy, IPython; no nbformat, nothing of the kit), on the whole corpus and the probes: each
    function's PASS or FAIL and its message, word for word."""
    notebooks = sorted(graded["_submissions"].glob("*.ipynb"))
    said = agreement.checker_said(student_venv, RELEASE, notebooks, tmp_path)
    assert {n.stem: said[n.stem] for n in notebooks} == {n.stem: agreement.grader_said(graded[n.stem])
                                                         for n in notebooks}


def test_the_kits_check_and_grade_commands_and_the_class_report_take_it(graded, tmp_path):
    """`check` and `grade NOTEBOOK` with --assignment, as a TA types them, and `report` on the batch."""
    notebook = str(graded["_submissions"] / "heads_merged_before_transpose.ipynb")
    base = [sys.executable, "-m", "autograder"]
    done = subprocess.run([*base, "check", "--assignment", "attention", notebook], cwd=corpus.ROOT,
                          capture_output=True, text=True, timeout=300)
    words = " ".join(done.stdout.split())
    assert done.returncode == 1 and "FAIL MultiHeadAttention" in words and "PASS CausalAttention" in words
    assert "Hint: Split the heads with" in words
    out = str(tmp_path / "results.json")
    done = subprocess.run([*base, "grade", "--assignment", "attention", notebook, "-o", out],
                          cwd=corpus.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "heads_merged_before_transpose: 8/10" in done.stdout, done.stderr[-2000:]
    assert json.loads(Path(out).read_text())["score"] == 8


def test_github_classroom_s_check_step_reports_it(tmp_path, graded):
    done, result, page = run_check_step(graded["_submissions"] / "mask_not_cut.ipynb", tmp_path, "attention")
    assert done.returncode == 0, done.stderr
    assert (sum(t["score"] for t in result["tests"]), result["max_score"]) == (8, 10)
    assert [t["name"] for t in result["tests"] if t["status"] == "fail"] == ["CausalAttention"]
    assert page.startswith("## attention: 8 / 10 points from the visible checks")
    assert "> **Hint:** Cut the mask to the sequence" in page


def test_gradescope_grades_it(tmp_path_factory, gradescope_image, graded):
    """This assignment's zip, set up by its own setup.sh, from a copy of the first assignment's image."""
    template = gradescope_image[1].parent
    root, bin_dir = installs.gradescope_image(tmp_path_factory.mktemp("gradescope-attention"), "attention",
                                              template=template)
    done, results = installs.run_autograder(root, bin_dir, graded["_submissions"] / "dropout_on_the_values.ipynb",
                                            "attention")
    assert done.returncode == 0 and results["score"] == 8, done.stderr[-2000:]
    assert next(t for t in results["tests"] if t["name"] == "CausalAttention")["score"] == 0


def test_a_dask_cluster_grades_it_like_the_local_batch(graded, assignment, tmp_path):
    distributed = dask_cluster.distributed()
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in ("masked_with_zero", "weights_are_the_kit_s_stand_in"):  # a hint, and stand-ins in place
        shutil.copy(graded["_submissions"] / f"{name}.ipynb", submissions / f"{name}.ipynb")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        batch = grade_directory(submissions, tmp_path / "out", assignment, Settings(),
                                scheduler=cluster.scheduler_address)
    for result in batch.results:
        assert [(c.name, c.outcome, c.feedback) for c in result.checks] == \
               [(c.name, c.outcome, c.feedback) for c in graded[result.student].checks], result.student
