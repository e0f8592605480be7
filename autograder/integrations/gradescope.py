"""Gradescope: the autograder zip it expects, and what runs inside it for each submission.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build its image,
then ``run_autograder`` for every submission, with the student's files in
``/autograder/submission`` and the result expected at ``/autograder/results/results.json``.
The zip carries the grader, the reference solutions, the release files (the trusted notebook and
the files beside it) and the instructor's notebook (its forward passes are recorded for the
warm-up), so grading needs no network. ``setup.sh`` stores the warm-up in the image;
``run_autograder`` grades from it. When the grader itself fails, ``run_autograder`` exits non-zero
and the student is told so, never shown a zero.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from autograder import GraderError
from autograder.assignment import Assignment
from autograder.outputs.results import SubmissionResult, unusable
from autograder.outputs.writers import write_gradescope
from autograder.settings import Settings

SETUP = """#!/usr/bin/env bash
# Runs once when Gradescope builds the autograder image: installs the kit, then stores its warm-up
# in the image, so that every submission starts warm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The kit's own tests set these two: they run this script in a fresh virtual environment, not as
# root on a fresh image (bubblewrap is already installed there), and cannot reach PyTorch's index
# (they install the same CPU build of torch from the machine's disk first).
if [ -z "${AUTOGRADER_SKIP_APT:-}" ]; then
  apt-get update
  apt-get install -y bubblewrap python3 python3-pip
fi
if [ -z "${AUTOGRADER_TORCH_INSTALLED:-}" ]; then
  # The CPU build of torch: the default one carries several GB of CUDA libraries.
  python3 -m pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<3"
fi
cd "$here"
python3 -m pip install .
AUTOGRADER_CACHE="$here/warm-store" python3 -m autograder warm-up --assignment ASSIGNMENT --course "$here"
"""

RUN = """#!/usr/bin/env bash
# Runs for every submission. AUTOGRADER_ROOT lets the kit's tests run it outside Gradescope.
root="${AUTOGRADER_ROOT:-/autograder}"
export AUTOGRADER_CACHE="$root/source/warm-store"
cd "$root/source" && exec python3 -m autograder gradescope-run --root "$root" --assignment ASSIGNMENT \\
  --course "$root/source"
"""


def _kit_source() -> Path:
    """The kit's own source tree (the zip installs it with ``pip install .``): a clone, not site-packages."""
    kit = Path(__file__).resolve().parents[2]
    if not (kit / "pyproject.toml").is_file():
        raise GraderError(f"gradescope-bundle packs the kit's source with its pyproject.toml, and this kit is "
                          f"installed without it (in {kit}). Run it from a clone of the kit, with --course for your "
                          "course.")
    return kit


def _files(course: Path, assignment: Assignment):
    kit = _kit_source()
    for top in ("autograder", "solutions"):
        for path in sorted((kit / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path, path.relative_to(kit)
    for folder in (assignment.release_dir, assignment.source_dir):  # source: the solution's recordings
        for path in sorted(folder.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                yield path, path.relative_to(course)
    for name in ("pyproject.toml", "README.md"):
        yield kit / name, Path(name)


def bundle(assignment: Assignment, out: Path) -> Path:
    """Write the autograder zip for ``assignment`` to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
            text = text.replace("ASSIGNMENT", assignment.name)
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            archive.writestr(info, text)
        for source, name in _files(assignment.course, assignment):
            archive.write(source, str(name))
    return out


def run(assignment: Assignment, root: Path, settings: Settings = Settings()) -> tuple[Path, SubmissionResult]:
    """Grade the notebook in ``root``/submission into ``root``/results/results.json; that path and the result."""
    from autograder.checks.grading import grade_or_flag

    results = root / "results" / "results.json"
    submitted = sorted((root / "submission").rglob("*.ipynb"))
    named = [p for p in submitted if p.name == assignment.notebook_name]
    notebook = (named or submitted or [None])[0]
    if notebook is None:
        result = unusable(assignment, "submission", f"No notebook was submitted: upload {assignment.notebook_name}.")
    else:
        result = grade_or_flag(notebook, assignment, settings, student="submission")
    write_gradescope(result, results)
    return results, result
