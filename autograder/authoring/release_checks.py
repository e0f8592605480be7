"""The student's own checker, made from the grader's visible checks when a release is prepared.

Students check far more often than instructors grade, and they must not need the kit (with its
reference answers and hidden cases) to do it. So the assignment's folder carries three files,
written here into ``source/<name>/`` (nbgrader's ``generate_assignment`` copies them into
``release/<name>/``, as it does ``gpt2.py``):

- ``check.py``: ``student_check.py``, copied; it judges with the same code as the grader;
- ``checks.pt``: the visible checks' calls (inputs, expectations, known mistakes) as tensors and
  plain data, computed from the reference answers; loaded with ``weights_only``;
- ``checks.json``: what the checker needs before it imports torch: the functions, their points, the
  time limits.

``stale`` tells ``validate`` and the tests when the files no longer match the grader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from autograder.assignment import Assignment
from autograder.sandbox.inside import student_check

CHECKER, CALLS, SUMMARY = "check.py", student_check.DATA, student_check.SUMMARY
FILES = (CHECKER, CALLS, SUMMARY)


def summary(assignment: Assignment) -> dict:
    calls = assignment.visible_calls()
    functions = [f for f in assignment.functions if any(c["function"] == f.name for c in calls)]
    return {"assignment": assignment.name, "functions": [f.name for f in functions],
            "points": {f.name: f.points for f in functions},
            "cell_timeout": assignment.cell_timeout, "call_timeout": assignment.call_timeout}


def write(assignment: Assignment, folder: Path | None = None) -> list[Path]:
    """Write the checker's files into ``folder`` (default: the assignment's source folder)."""
    import torch

    folder = folder or assignment.source_dir
    checker = folder / CHECKER
    if not (checker.exists() and checker.samefile(student_check.__file__)):  # source/ links to it, as to gpt2.py
        shutil.copyfile(student_check.__file__, checker)
    torch.save(list(assignment.visible_calls()), folder / CALLS)
    (folder / SUMMARY).write_text(json.dumps(summary(assignment), indent=1) + "\n")
    return [folder / name for name in FILES]


def stale(assignment: Assignment, folder: Path) -> list[str]:
    """What in ``folder`` differs from the grader's visible checks; empty when the files are current."""
    import torch

    problems = [f"{name} is missing" for name in FILES if not (folder / name).is_file()]
    if problems:
        return problems
    if (folder / CHECKER).read_bytes() != Path(student_check.__file__).read_bytes():
        problems.append(f"{CHECKER} differs from the kit's autograder/sandbox/inside/student_check.py")
    if json.loads((folder / SUMMARY).read_text()) != summary(assignment):
        problems.append(f"{SUMMARY} differs from the assignment's functions or time limits")
    shipped = torch.load(folder / CALLS, weights_only=True)
    if not _same(shipped, list(assignment.visible_calls())):
        problems.append(f"{CALLS} differs from the grader's visible checks")
    return problems


def _same(a, b) -> bool:
    """Equal data; tensors equal in dtype and shape, and in value up to float rounding (another
    torch build or another CPU rounds the model's last bits differently: float32 outputs of the
    same model differed by 1e-6 relative between two machines here, and logits near zero by 1.5e-6
    of the tensor's largest value on a third; that is not a stale check, a changed check moves
    values far more). So the tolerance is relative to each value and to the tensor's scale."""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape):
            return False
        scale = float(b.double().abs().max()) if b.numel() and b.is_floating_point() else 0.0
        return bool(torch.allclose(a.double(), b.double(), rtol=1e-5, atol=max(1e-9, 1e-5 * scale)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b
