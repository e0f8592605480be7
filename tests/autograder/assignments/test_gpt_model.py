"""gpt_model, graded as instructors grade it: the corpus as one real batch (sandboxed, two workers),
the release's own check.py as students run it, the `check` and `grade` commands, GitHub Classroom's
check step, Gradescope's image and a Dask cluster; and the release, which must not hold the answers.

The book's code (from the book's own package) and another correct style earn full marks; each
realistic mistake costs its own class alone, and earns its hint: the classes built from a failed
one (a block from a wrong LayerNorm, say) are checked with the kit's stand-in for it.
"""

import ast
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.assignment import load_assignment
from autograder.assignments.gpt_model import hints
from autograder.batch.local import grade_directory
from autograder.settings import Settings
from tests import agreement, corpus, dask_cluster, installs
from tests import gpt_model_corpus as gc
from tests.autograder.integrations.test_github_classroom import run_check_step

CORRECT = ("book", *gc.STYLES)
RELEASE = corpus.ROOT / "release" / "gpt_model"


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("gpt_model")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, assignment):
    submissions = tmp_path_factory.mktemp("gpt-model-corpus")
    for name, notebook in gc.notebooks().items():
        corpus.write(notebook, submissions / f"{name}.ipynb")
    corpus.write(corpus.colab(gc.with_answers()), submissions / "book_saved_by_colab.ipynb")
    out = tmp_path_factory.mktemp("gpt-model-graded")
    results = grade_directory(submissions, out, assignment, Settings(jobs=2)).results
    return {r.student: r for r in results} | {"_submissions": submissions}


def test_no_file_of_the_release_defines_the_classes_students_write():
    """The release ships the attention module the block needs and never the answers: no Python file
    under release/gpt_model defines LayerNorm, GELU, FeedForward, TransformerBlock or GPTModel (the
    notebook's answer cells are stubs), and nothing it ships is gpt2.py."""
    defined = {}
    for path in RELEASE.rglob("*.py"):
        classes = {node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)}
        defined[path.relative_to(RELEASE).as_posix()] = classes & set(gc.FUNCTIONS)
    assert "attention.py" in defined and not any(defined.values()), defined
    assert not list(RELEASE.rglob("gpt2.py"))
    stub = nbformat.read(RELEASE / "gpt_model.ipynb", as_version=4)
    answers = [c.source for c in stub.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(answers) == 5 and all("raise NotImplementedError()" in a for a in answers)


@pytest.mark.parametrize("name", CORRECT)
def test_correct_answers_earn_full_marks_and_no_hint(graded, name):
    result = graded[name]
    failed = [(c.name, c.feedback) for f in result.functions for c in f.checks if not c.passed]
    assert result.score == 10 and failed == [] and result.look == ()


def test_the_untouched_release_scores_zero(graded):
    assert graded["stub"].score == 0


@pytest.mark.parametrize("mistake", gc.MISTAKES, ids=lambda m: m.name)
def test_a_mistake_costs_its_class_alone_and_earns_its_hint(graded, mistake):
    result = graded[mistake.name]
    lost = [f.name for f in result.functions if not f.passed]
    assert lost == [mistake.function] and result.score == 8
    failed = [c for f in result.functions for c in f.checks if not c.passed]
    assert {name for c in failed for name in c.mistakes} == {mistake.hint}
    text = next(h.text for h in hints.HINTS if h.name == mistake.hint)
    assert f"Hint: {text}" in " ".join(c.feedback for c in failed)


def test_every_hint_is_earned_by_a_mistake_of_the_corpus():
    assert {h.name for h in hints.HINTS} == {m.hint for m in gc.MISTAKES}


def test_a_notebook_saved_by_colab_earns_full_marks_and_a_note(graded):
    result = graded["book_saved_by_colab"]
    assert result.score == 10 and any("lost its cell metadata, as Colab does" in n for n in result.notes)


VISIBLE = "the notebook's examples"
NOTEBOOK_ASSERTS = ("book", "feed_forward_shortcut_missing")


def test_the_notebook_s_own_asserts_are_never_stricter_than_its_visible_checks(graded, tmp_path):
    """The notebook run as a student runs it (its skip-when-grading cells aside: the 124M model): every
    class whose own test cell fails also fails its visible checks, those check.py runs."""
    folder = Path(shutil.copytree(RELEASE, tmp_path / "release"))
    for name in NOTEBOOK_ASSERTS:
        notebook = nbformat.read(graded["_submissions"] / f"{name}.ipynb", as_version=4)
        notebook.cells = [c for c in notebook.cells if "skip-when-grading" not in c.metadata.get("tags", [])]
        NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
        failing_cells = {c.metadata["nbgrader"]["grade_id"].removeprefix("test_") for c in notebook.cells
                         if c.metadata.get("nbgrader", {}).get("grade")
                         and any(o.output_type == "error" for o in c.outputs)}
        failing_visible = {f.name for f in graded[name].functions
                           if any(not c.passed and c.name == VISIBLE for c in f.checks)}
        assert failing_cells <= failing_visible, (name, failing_cells, failing_visible)
        assert bool(failing_cells) == (name != "book"), name


def test_the_release_checker_says_what_the_grader_says(student_venv, graded, tmp_path):
    """`python check.py` in a copy of the release folder, in a student's environment, on the whole corpus."""
    notebooks = sorted(graded["_submissions"].glob("*.ipynb"))
    said = agreement.checker_said(student_venv, RELEASE, notebooks, tmp_path)
    assert {n.stem: said[n.stem] for n in notebooks} == {n.stem: agreement.grader_said(graded[n.stem])
                                                         for n in notebooks}


def test_the_kits_check_and_grade_commands_take_it(graded, tmp_path):
    notebook = str(graded["_submissions"] / "post_layer_norm.ipynb")
    base = [sys.executable, "-m", "autograder"]
    done = subprocess.run([*base, "check", "--assignment", "gpt_model", notebook], cwd=corpus.ROOT,
                          capture_output=True, text=True, timeout=300)
    words = " ".join(done.stdout.split())
    assert done.returncode == 1 and "FAIL TransformerBlock" in words and "PASS GPTModel" in words
    assert "Hint: Normalise *before* each half" in words
    out = str(tmp_path / "results.json")
    done = subprocess.run([*base, "grade", "--assignment", "gpt_model", notebook, "-o", out],
                          cwd=corpus.ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "post_layer_norm: 8/10" in done.stdout, done.stderr[-2000:]
    assert json.loads(Path(out).read_text())["score"] == 8


def test_github_classroom_s_check_step_reports_it(tmp_path, graded):
    done, result, page = run_check_step(graded["_submissions"] / "exact_gelu.ipynb", tmp_path, "gpt_model")
    assert done.returncode == 0, done.stderr
    assert (sum(t["score"] for t in result["tests"]), result["max_score"]) == (8, 10)
    assert [t["name"] for t in result["tests"] if t["status"] == "fail"] == ["GELU"]
    assert "> **Hint:** Use GPT-2's tanh approximation" in page


def test_gradescope_grades_it(tmp_path_factory, gradescope_image, graded):
    template = gradescope_image[1].parent
    root, bin_dir = installs.gradescope_image(tmp_path_factory.mktemp("gradescope-gpt-model"), "gpt_model",
                                              template=template)
    done, results = installs.run_autograder(root, bin_dir, graded["_submissions"] / "final_norm_forgotten.ipynb",
                                            "gpt_model")
    assert done.returncode == 0 and results["score"] == 8, done.stderr[-2000:]
    assert next(t for t in results["tests"] if t["name"] == "GPTModel")["score"] == 0


def test_a_dask_cluster_grades_it_like_the_local_batch(graded, assignment, tmp_path):
    distributed = dask_cluster.distributed()
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in ("book", "unbiased_variance"):
        shutil.copy(graded["_submissions"] / f"{name}.ipynb", submissions / f"{name}.ipynb")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:
        batch = grade_directory(submissions, tmp_path / "out", assignment, Settings(),
                                scheduler=cluster.scheduler_address)
    for result in batch.results:
        assert [(c.name, c.outcome, c.feedback) for c in result.checks] == \
               [(c.name, c.outcome, c.feedback) for c in graded[result.student].checks], result.student
