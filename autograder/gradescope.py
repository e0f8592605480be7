"""Gradescope: the autograder zip it expects, and what runs inside it for each submission.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build its image,
then ``run_autograder`` for every submission, with the student's files in
``/autograder/submission`` and the result expected at ``/autograder/results/results.json``.
The zip carries the grader, the solution model, the release files (the trusted notebook,
``gpt2.py``) and the offline tokenizer files, so grading needs no network.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from autograder.assignment import Assignment
from autograder.results import unusable
from autograder.settings import Settings
from autograder.writers import write_gradescope

SETUP = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image.
set -euo pipefail
apt-get update
apt-get install -y bubblewrap python3 python3-pip
cd /autograder/source
# The CPU build of torch: the default one carries several GB of CUDA libraries.
python3 -m pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<3"
python3 -m pip install .
"""

RUN = """#!/usr/bin/env bash
# Runs for every submission. AUTOGRADER_ROOT lets the kit's tests run it outside Gradescope.
root="${AUTOGRADER_ROOT:-/autograder}"
cd "$root/source" && exec python3 -m autograder gradescope-run --root "$root" --assignment ASSIGNMENT
"""


def _files(course: Path, assignment: Assignment):
    for top in ("autograder", "solutions"):
        for path in sorted((course / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path, path.relative_to(course)
    for path in sorted(assignment.release_dir.rglob("*")):
        if path.is_file():
            yield path, path.relative_to(course)
    for name in ("pyproject.toml", "README.md"):
        yield course / name, Path(name)


def bundle(assignment: Assignment, out: Path) -> Path:
    """Write the autograder zip for ``assignment`` to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.replace("ASSIGNMENT", assignment.name))):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            archive.writestr(info, text)
        for source, name in _files(assignment.course, assignment):
            archive.write(source, str(name))
    return out


def run(assignment: Assignment, root: Path, settings: Settings = Settings()) -> Path:
    """Grade the notebook in ``root``/submission into ``root``/results/results.json."""
    from autograder.grading import grade_notebook

    results = root / "results" / "results.json"
    submitted = sorted((root / "submission").rglob("*.ipynb"))
    named = [p for p in submitted if p.name == assignment.notebook_name]
    notebook = (named or submitted or [None])[0]
    if notebook is None:
        result = unusable(assignment, "submission", f"No notebook was submitted: upload {assignment.notebook_name}.")
    else:
        result = grade_notebook(notebook, assignment, settings, student="submission")
    write_gradescope(result, results)
    return results
