"""The Gradescope autograder zip, and its run_autograder against a fake /autograder tree."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bundle_then_run_autograder_writes_results(tmp_path):
    archive = tmp_path / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope-bundle", "-o", str(archive)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        assert {"setup.sh", "run_autograder", "pyproject.toml", "autograder/__main__.py", "solutions/gpt2.py",
                "release/tokens_and_loss/tokens_and_loss.ipynb", "release/tokens_and_loss/gpt2.py"} <= names
        assert len([n for n in names if n.startswith("autograder/tiktoken_cache/")]) == 2
        assert not any("__pycache__" in n for n in names)
        assert bundle.getinfo("run_autograder").external_attr >> 16 & 0o111
        root = tmp_path / "autograder"
        bundle.extractall(root / "source")
    (root / "source" / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copy(ROOT / "examples" / "submissions" / "grace.ipynb", root / "submission" / "tokens_and_loss.ipynb")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 8 and len(results["tests"]) == 5


def test_run_without_a_notebook_still_writes_a_result(tmp_path, assignment):
    from autograder.gradescope import run

    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "notes.txt").write_text("oops")
    results = json.loads(run(assignment, tmp_path).read_text())
    assert results["score"] == 0 and "No notebook was submitted" in results["output"]
