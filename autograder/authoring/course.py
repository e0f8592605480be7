"""The nbgrader side of the course: regenerate a release with nbgrader itself and compare it."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import GraderError


def generate_release(course: Path, name: str, into: Path) -> Path:
    """Run ``nbgrader generate_assignment`` on a copy of the course in ``into``; return the new release dir."""
    (into / "source").mkdir(parents=True)
    shutil.copytree(course / "source" / name, into / "source" / name, symlinks=False)
    shutil.copy(course / "nbgrader_config.py", into / "nbgrader_config.py")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--no-db", "--force"],
                          cwd=into, capture_output=True, text=True)
    if done.returncode != 0:
        raise GraderError(f"nbgrader generate_assignment {name} failed:\n{done.stderr[-2000:]}")
    return into / "release" / name


def release_differences(course: Path, name: str) -> list[str]:
    """Files in release/<name> that differ from what nbgrader generates from source/<name> now."""
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        fresh = generate_release(course, name, Path(tmp))
        committed = course / "release" / name
        problems = []
        names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        names |= {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
        for rel in sorted(names):
            a, b = fresh / rel, committed / rel
            if not b.exists():
                problems.append(f"release/{name}/{rel} is missing")
            elif not a.exists():
                problems.append(f"release/{name}/{rel} is not produced from source/ any more")
            elif not filecmp.cmp(a, b, shallow=False):
                problems.append(f"release/{name}/{rel} differs from what source/{name} generates")
        return problems
