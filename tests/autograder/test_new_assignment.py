"""A new assignment is new folders: a class-based one, added to a copy of the kit as an instructor
adds it, following the README's authoring guide, with no other file of the kit touched.

The assignment (``tests/fixtures/class_assignment``: the book's ``LayerNorm``, as an ``nn.Module``
class) is copied into ``source/layer_norm/``, ``autograder/assignments/layer_norm/`` and
``solutions/`` of the copy; ``release/layer_norm/`` is made by nbgrader. It has no ``gpt2.py`` and
no tokenizer: the grader must assume neither. Then, in the guide's order: the students' checker,
the release, ``validate``, a class graded (built from a size and a seed, the reference's state
loaded, its output and its parameter names and shapes compared), and ``python check.py`` saying what
the grader says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.outputs.results import from_dict
from tests import agreement

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "class_assignment"
UNBIASED = "        var = x.var(dim=-1, keepdim=True, unbiased=False)"


def answered(source: Path, code: str | None) -> nbformat.NotebookNode:
    """The release notebook with its answer cell replaced (None: the solution's own)."""
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "LayerNorm" and code is not None:
            cell.source = code
    return notebook


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> tuple[Path, dict]:
    """A copy of the kit with the assignment added in its own folders, and the environment to run it in."""
    kit = tmp_path_factory.mktemp("kit")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("autograder", "solutions", "source", "release"):
        shutil.copytree(ROOT / folder, kit / folder, ignore=ignore, symlinks=True)
    shutil.copy(ROOT / "nbgrader_config.py", kit / "nbgrader_config.py")
    before = {p.relative_to(kit): p.read_bytes() for p in kit.rglob("*") if p.is_file()}
    shutil.copytree(FIXTURE / "assignment" / "layer_norm", kit / "autograder" / "assignments" / "layer_norm")
    shutil.copy(FIXTURE / "solutions" / "layer_norm.py", kit / "solutions" / "layer_norm.py")
    shutil.copytree(FIXTURE / "source" / "layer_norm", kit / "source" / "layer_norm")
    env = {**os.environ, "PYTHONPATH": str(kit), "AUTOGRADER_CACHE": str(tmp_path_factory.mktemp("store"))}
    steps = [[sys.executable, "-m", "autograder", "student-checker", "--assignment", "layer_norm"],
             [sys.executable, "-m", "nbgrader", "generate_assignment", "layer_norm", "--force", "--no-db"]]
    for step in steps:
        done = subprocess.run(step, cwd=kit, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = {p.relative_to(kit): p.read_bytes() for p in kit.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    changed = {path for path in after if before.get(path) != after[path]} | (set(before) - set(after))
    own = (Path("source/layer_norm"), Path("release/layer_norm"), Path("autograder/assignments/layer_norm"),
           Path("solutions/layer_norm.py"))
    assert {path for path in changed if not any(path == o or o in path.parents for o in own)} == set()
    return kit, env


def kit_says(kit: tuple[Path, dict], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=kit[0], env=kit[1], capture_output=True,
                          text=True, timeout=900)


def test_its_release_ships_the_checker_and_no_answer(kit):
    release = kit[0] / "release" / "layer_norm"
    assert sorted(p.name for p in release.iterdir()) == ["check.py", "checker", "checks.json", "checks.pt",
                                                          "layer_norm.ipynb"]
    assert "keepdim=True, unbiased=False" not in (release / "layer_norm.ipynb").read_text()  # the answer


def test_validate_passes_it(kit):
    done = kit_says(kit, "validate", "--assignment", "layer_norm")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "solution" in done.stdout and "All good" in done.stdout


def test_it_grades_a_class_and_says_what_check_py_says(kit, student_venv, tmp_path):
    release = kit[0] / "release" / "layer_norm"
    source = kit[0] / "source" / "layer_norm" / "layer_norm.ipynb"
    solution = next(c.source for c in nbformat.read(source, as_version=4).cells
                    if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "LayerNorm")
    solution = "\n".join(line for line in solution.splitlines() if "### " not in line)
    notebooks = {
        "correct": solution,
        "unbiased": solution.replace("unbiased=False", "unbiased=True"),
        "renamed": solution.replace("class LayerNorm", "class LayerNormal"),
        "wrong_init": solution.replace("def __init__(self, emb_dim)", "def __init__(self, emb_dim, eps)"),
        "a_function": "def LayerNorm(emb_dim):\n    return None",
        "other_names": solution.replace("self.scale", "self.weight"),
    }
    submitted = tmp_path / "submitted"
    for name, code in notebooks.items():
        submitted.mkdir(exist_ok=True)
        nbformat.write(answered(release / "layer_norm.ipynb", code), submitted / f"{name}.ipynb")
    done = kit_says(kit, "grade", str(submitted), "-o", str(tmp_path / "graded"), "--jobs", "2",
                    "--assignment", "layer_norm")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = {name: from_dict(json.loads((tmp_path / "graded" / name / "grading.json").read_text())["result"])
               for name in notebooks}
    scores = {name: result.score for name, result in results.items()}
    assert scores == {"correct": 2, "unbiased": 0, "renamed": 0, "wrong_init": 0, "a_function": 0, "other_names": 0}
    said = {name: agreement.grader_said(result)["LayerNorm"][1] for name, result in results.items()}
    assert "Use the biased variance" in " ".join(results["unbiased"].functions[0].checks[0].hints)
    assert "defines `LayerNormal`; the assignment expects `LayerNorm`" in said["renamed"]
    assert "Change the `def __init__(...)` line of `class LayerNorm`" in said["wrong_init"]
    assert "is a function; the assignment expects a class" in said["a_function"]
    assert "missing `scale` (4,)" in said["other_names"]

    checker = agreement.checker_said(student_venv, release, [submitted / f"{n}.ipynb" for n in notebooks], tmp_path)
    assert checker == {name: agreement.grader_said(result) for name, result in results.items()}
