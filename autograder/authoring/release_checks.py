"""The student's own checker, made from the grader's visible checks when a release is prepared.

Students check far more often than instructors grade, and they must not need the kit (with its
reference answers and hidden cases) to do it. So the assignment's folder carries, written here into
``source/<name>/`` (nbgrader's ``generate_assignment`` copies them into ``release/<name>/``):

- ``checker/``: the engine's package (``autograder/sandbox/inside/checker/``), copied: the runner,
  the session, the judge. The grader checks with the same modules, so verdicts, messages and hints
  are the grader's own. A real copy, not a link: nbgrader does not copy linked folders.
- ``check.py``: a few lines that run it (``python check.py``; ``from check import check``);
- ``checks_support.py``: the assignment's own ``support.py``, when it has one (its stand-ins, the
  objects its calls name, its warm-up), which the engine imports by that name;
- ``checks.pt``: the visible checks' calls (inputs, expectations, known mistakes) as tensors and
  plain data, computed from the reference answers; loaded with ``weights_only``;
- ``checks.json``: what the checker needs before it imports torch: the functions, their parameters
  and points, the time limits.

``stale`` tells ``validate`` and the tests when the files no longer match the grader.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

from autograder.assignment import Assignment
from autograder.sandbox.inside.checker import release_files

INSIDE = Path(__file__).resolve().parents[1] / "sandbox" / "inside"
ENGINE, CHECK_PY = INSIDE / "checker", INSIDE / "check.py"
CHECKER, PACKAGE, CALLS, SUMMARY = "check.py", ENGINE.name, release_files.DATA, release_files.SUMMARY
SUPPORT = "checks_support.py"
FILES = (CHECKER, CALLS, SUMMARY)


def summary(assignment: Assignment) -> dict:
    calls = assignment.visible_calls()
    functions = [f for f in assignment.functions if any(c["function"] == f.name for c in calls)]
    return {"assignment": assignment.name, "functions": [f.name for f in functions],
            "all_functions": [f.name for f in assignment.functions],
            "params": {f.name: list(f.params) for f in functions},
            "kinds": {f.name: f.kind for f in functions}, "model": assignment.model,
            "points": {f.name: f.points for f in functions},
            "cell_timeout": assignment.cell_timeout, "call_timeout": assignment.call_timeout}


def engine_files() -> list[str]:
    """The engine's modules, as they ship: every .py file of the package, by name."""
    return sorted(p.name for p in ENGINE.glob("*.py"))


def write(assignment: Assignment, folder: Path | None = None) -> list[Path]:
    """Write the checker's files into ``folder`` (default: the assignment's source folder)."""
    import torch

    folder = folder or assignment.source_dir
    checker = folder / CHECKER
    if not (checker.exists() and checker.samefile(CHECK_PY)):  # source/ may link to it
        shutil.copyfile(CHECK_PY, checker)
    package = folder / PACKAGE
    if package.is_symlink() or package.is_file():
        package.unlink()
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir()
    for name in engine_files():
        shutil.copyfile(ENGINE / name, package / name)
    if assignment.support_file is not None:
        shutil.copyfile(assignment.support_file, folder / SUPPORT)
    else:
        (folder / SUPPORT).unlink(missing_ok=True)
    torch.save(list(assignment.visible_calls()), folder / CALLS)
    (folder / SUMMARY).write_text(json.dumps(summary(assignment), indent=1) + "\n")
    return [folder / name for name in FILES] + [package]


def stale(assignment: Assignment, folder: Path) -> list[str]:
    """What in ``folder`` differs from the grader's visible checks and engine; empty when current."""
    import torch

    problems = [f"{name} is missing" for name in (*FILES, PACKAGE) if not (folder / name).exists()]
    if problems:
        return problems
    if (folder / CHECKER).read_bytes() != CHECK_PY.read_bytes():
        problems.append(f"{CHECKER} differs from the kit's autograder/sandbox/inside/check.py")
    shipped = sorted(p.name for p in (folder / PACKAGE).glob("*.py"))
    if shipped != engine_files() or any(not filecmp.cmp(ENGINE / n, folder / PACKAGE / n, shallow=False)
                                        for n in shipped):
        problems.append(f"{PACKAGE}/ differs from the kit's engine, autograder/sandbox/inside/checker/")
    support = assignment.support_file
    if support is not None and not (folder / SUPPORT).is_file():
        problems.append(f"{SUPPORT} is missing")
    elif support is not None and (folder / SUPPORT).read_bytes() != support.read_bytes():
        problems.append(f"{SUPPORT} differs from the assignment's support.py")
    elif support is None and (folder / SUPPORT).exists():
        problems.append(f"{SUPPORT} is there, but the assignment has no support.py")
    if json.loads((folder / SUMMARY).read_text()) != summary(assignment):
        problems.append(f"{SUMMARY} differs from the assignment's functions or time limits")
    shipped_calls = torch.load(folder / CALLS, weights_only=True)
    if not _same(shipped_calls, list(assignment.visible_calls())):
        problems.append(f"{CALLS} differs from the grader's visible checks")
    return problems


def engine_changed(problem: str) -> bool:
    """Whether a problem ``stale`` found is the shared engine's (the same in every release), not the assignment's."""
    return problem.startswith((f"{CHECKER} differs", f"{PACKAGE}/ differs"))


def _same(a, b) -> bool:
    """Equal data; tensors equal in dtype and shape, and in value up to float rounding (another
    torch build or another CPU rounds the model's last bits differently: float32 outputs of the
    same model differed by 1e-6 relative between two machines here, and logits near zero by 1.5e-6
    of the tensor's largest value on a third; that is not a stale check, a changed check moves
    values far more). So the tolerance is relative to each value and to the tensor's scale. A nan
    equals a nan: a known mistake's outcome may hold some (a row with nothing left to attend to)."""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape):
            return False
        scale = float(b.double().nan_to_num().abs().max()) if b.numel() and b.is_floating_point() else 0.0
        return bool(torch.allclose(a.double(), b.double(), rtol=1e-5, atol=max(1e-9, 1e-5 * scale), equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b
