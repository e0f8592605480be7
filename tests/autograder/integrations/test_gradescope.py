"""The Gradescope autograder zip, set up by its own setup.sh in a fresh virtual environment, and its
run_autograder against a fake /autograder tree, as Gradescope runs it."""

import json
import shutil
import subprocess
import zipfile

from tests import corpus
from tests.installs import ROOT, image_env, run_autograder


def test_the_zip_carries_the_kit_and_the_course_files(gradescope_image):
    root, _ = gradescope_image
    source = root / "source"
    for name in ("setup.sh", "run_autograder", "pyproject.toml", "autograder/__main__.py", "solutions/gpt2.py",
                 "release/tokens_and_loss/tokens_and_loss.ipynb", "release/tokens_and_loss/gpt2.py",
                 "source/tokens_and_loss/tokens_and_loss.ipynb"):
        assert (source / name).is_file(), name
    assert len(list((source / "autograder" / "tiktoken_cache").iterdir())) == 2
    assert next((source / "warm-store").glob("tokens_and_loss-*/cache"))  # setup.sh stored the warm-up


def test_zip_has_no_bytecode(tmp_path):
    archive = tmp_path / "autograder.zip"
    subprocess.run(["python3", "-m", "autograder", "gradescope-bundle", "-o", str(archive)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    with zipfile.ZipFile(archive) as bundle:
        assert not any("__pycache__" in n for n in bundle.namelist())
        assert bundle.getinfo("run_autograder").external_attr >> 16 & 0o111


def test_run_autograder_grades_a_correct_and_a_wrong_submission(gradescope_image, tmp_path):
    root, bin_dir = gradescope_image
    correct = corpus.write(corpus.with_answers(), tmp_path / "correct.ipynb")
    done, results = run_autograder(root, bin_dir, correct)
    assert done.returncode == 0, done.stderr
    assert results["score"] == 10 and len(results["tests"]) == 5
    done, results = run_autograder(root, bin_dir, ROOT / "examples" / "submissions" / "grace.ipynb")
    assert done.returncode == 0, done.stderr
    assert results["score"] == 8
    assert next(t for t in results["tests"] if t["name"] == "target_probas")["score"] == 0


def test_a_grader_failure_is_never_passed_off_as_the_students(gradescope_image, tmp_path):
    """A broken install (here: tiktoken taken from the grader) makes run_autograder fail loudly, with no score."""
    root, bin_dir = gradescope_image
    broken = tmp_path / "no-tiktoken"
    broken.mkdir()
    (broken / "tiktoken.py").write_text("raise ImportError('tiktoken was removed for this test')\n")
    (root / "results" / "results.json").unlink(missing_ok=True)
    shutil.copy(corpus.write(corpus.with_answers(), tmp_path / "correct.ipynb"),
                root / "submission" / "tokens_and_loss.ipynb")
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          timeout=600, env=image_env(bin_dir, AUTOGRADER_ROOT=str(root), PYTHONPATH=str(broken)))
    results = json.loads((root / "results" / "results.json").read_text())
    assert done.returncode != 0
    assert "score" not in results and "The autograder failed on this submission" in results["output"]
    assert "tiktoken was removed" in json.dumps(results.get("extra_data", {})) + done.stderr


def test_run_without_a_notebook_still_writes_a_result(tmp_path, assignment):
    from autograder.integrations.gradescope import run

    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "notes.txt").write_text("oops")
    results = json.loads(run(assignment, tmp_path)[0].read_text())
    assert results["score"] == 0 and "No notebook was submitted" in results["output"]
