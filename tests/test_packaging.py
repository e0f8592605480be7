"""Every module the kit imports is declared: in the core dependencies, or in the extra that uses it.

A dependency that arrives only through another package's requirements can vanish: numpy came with
matplotlib in the [dev] install, so every test passed while a plain install graded every notebook 0.
This reads the imports from the source, so it fails on the next undeclared import before any user
meets it; tests/test_install.py installs the core package alone and grades real notebooks with it.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autograder", "solutions")
# Files that run inside the sandbox import each other by their plain names, as siblings (gpt2 and
# attention: the modules a release ships beside its notebook, which its checks_support.py may use).
SANDBOX_SIBLINGS = {"checker", "model_cache", "forward_memo", "zygote", "gpt2", "attention"}


def imported_modules() -> dict[str, set[str]]:
    """Top-level module name -> the kit's files that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def declared() -> set[str]:
    """Distribution names in the core dependencies and every extra but dev, normalised."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    requirements += [r for extra, reqs in project["optional-dependencies"].items() if extra != "dev" for r in reqs]
    return {_normalise(re.match(r"[A-Za-z0-9_.\-]+", r).group(0)) for r in requirements}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_declared():
    own = set(PACKAGES) | SANDBOX_SIBLINGS
    distributions = packages_distributions()
    undeclared = {}
    for module, files in imported_modules().items():
        if module in sys.stdlib_module_names or module in own:
            continue
        providers = {_normalise(d) for d in distributions.get(module, [module])}
        if not providers & declared():
            undeclared[module] = sorted(files)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_check_sees_the_imports_that_matter():
    """The reader finds the imports that once went undeclared, so the test above could fail."""
    modules = imported_modules()
    assert "numpy" in modules and "sqlalchemy" in modules and "IPython" in modules
