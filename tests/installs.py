"""Installs as users do them, for the tests that must not run in the repository's own environment.

A fresh virtual environment sees none of the packages the [dev] install brought, so a dependency
the kit forgot to declare fails there as it would for a user. Building one takes a minute or two
(torch from the machine's disk, the rest from PyPI or pip's cache), so the test session builds one
with torch alone and starts each install from a hard-linked copy of it: the Gradescope zip,
installed by its own setup.sh (also the core package alone), and a student's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the CPU build on the machine's disk; CI installs it first for the same reason


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def fresh_venv(path: Path, compiled: bool = False) -> Path:
    """A new virtual environment with torch (CPU) and nothing else; its bin folder.

    Tests install torch with --no-compile: compiling all of torch up front took 30 of the 45 s this
    install took here, and a test asserts scores, not seconds. A benchmark passes ``compiled`` and
    gets the bytecode pip writes by default, as setup.sh's own torch install on Gradescope does:
    without it, every sandboxed run compiles torch again (the sandbox cannot write bytecode, and
    this machine sets PYTHONDONTWRITEBYTECODE), about 1.4 s per submission here.
    """
    run([sys.executable, "-m", "venv", str(path)], timeout=300)
    compile_flag = [] if compiled else ["--no-compile"]
    run([str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", *compile_flag, TORCH], timeout=900)
    return path / "bin"


def clone_venv(template: Path, path: Path) -> Path:
    """A copy of a fresh environment made with ``fresh_venv``, its files hard-linked (seconds, not the
    minute torch takes to install); its bin folder. pip and Python replace files rather than write
    into them, so what is installed into the copy never reaches the template."""
    run(["cp", "-al", str(template), str(path)], timeout=300)
    return path / "bin"


def student_venv(template: Path, path: Path) -> Path:
    """An environment as a student's: torch, what the notebook imports besides (tiktoken, numpy), and
    IPython, which runs a notebook's cells in Jupyter, VS Code and Colab (and in ``python check.py``)."""
    bin_dir = clone_venv(template, path)
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "tiktoken", "numpy", "ipython"], timeout=900)
    return bin_dir


def gradescope_image(directory: Path, assignment: str = "tokens_and_loss",
                     template: Path | None = None, compiled: bool = False) -> tuple[Path, Path]:
    """Unpack the autograder zip as Gradescope does and run its setup.sh in a fresh environment.

    Returns (the /autograder folder, the environment's bin folder). ``template``: an environment
    from ``fresh_venv`` to start from a copy of, instead of a new one; ``compiled``: see
    ``fresh_venv``. Two steps of setup.sh are left out, each for its reason: apt-get (it needs root
    on a fresh image and Debian's network; this machine has bubblewrap already) and the line that
    installs torch from PyTorch's CPU index (not reachable here: the same CPU build is installed
    from the machine's disk first instead).
    """
    archive = directory / "autograder.zip"
    run([sys.executable, "-m", "autograder", "gradescope-bundle", "-o", str(archive), "--assignment", assignment],
        cwd=ROOT, timeout=300)
    root = directory / "autograder"
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    bin_dir = clone_venv(template, directory / "venv") if template else fresh_venv(directory / "venv", compiled)
    run(["bash", str(root / "source" / "setup.sh")], timeout=1800,
        env={**image_env(bin_dir), "AUTOGRADER_SKIP_APT": "1", "AUTOGRADER_TORCH_INSTALLED": "1"})
    return root, bin_dir


def image_env(bin_dir: Path, **extra: str) -> dict:
    """The environment of a process in the image: its python3 first on PATH, nothing of ours on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUTOGRADER_CACHE", "VIRTUAL_ENV")}
    return {**env, "PATH": f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", **extra}


def run_autograder(root: Path, bin_dir: Path, notebook: Path, assignment: str = "tokens_and_loss"):
    """One submission through an image's run_autograder, as Gradescope runs it: the notebook alone in
    /autograder/submission. (The finished process, results.json as data.)"""
    for old in (root / "submission").iterdir():
        old.unlink()
    shutil.copy(notebook, root / "submission" / f"{assignment}.ipynb")
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          timeout=600, env=image_env(bin_dir, AUTOGRADER_ROOT=str(root)))
    return done, json.loads((root / "results" / "results.json").read_text())
