"""The layout's two promises, read from the source (not from what happens to be imported at run time):

- the code that runs beside student code (``autograder/sandbox/inside/``) imports nothing of the kit
  outside it, so nothing of the grader is ever within a student's reach;
- no two of the kit's modules import each other, directly or around a loop, whether at the top of
  a file or inside a function;
- a new assignment is a new folder: no module of the grader names an assignment, its model or its
  tokenizer; all of that lives in ``autograder/assignments/<name>/``;
- the engine that ships to students is a package of small modules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from autograder.sandbox import warm_sandbox

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "autograder"
INSIDE = KIT / "sandbox" / "inside"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def kit_modules() -> dict[str, Path]:
    """Every module of the grader, by dotted name (the assignments' packages are course material, not grader)."""
    return {module_name(p): p for p in KIT.rglob("*.py") if "assignments" not in p.relative_to(KIT).parts}


def imported(source: str) -> list[tuple[str, list[str], int]]:
    """(module, names, level) of every import statement, at any depth: ``import a.b`` gives ("a.b", [], 0)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", [alias.name for alias in node.names], node.level))
    return found


def outside_imports(source: str, siblings: set[str], kit_names: set[str], in_package: bool = False) -> list[str]:
    """The imports of a sandbox-side module that reach the kit outside ``inside/``: any relative
    import, any ``autograder`` module not under ``autograder.sandbox.inside``, and any bare name that
    is not a sibling but names a top-level module or package of the repository."""
    bad = []
    for module, names, level in imported(source):
        top = module.split(".")[0]
        if level and in_package and level == 1:  # the engine's modules import their siblings as ``.x``
            continue
        if level:
            bad.append(f"from {'.' * level}{module} import {', '.join(names)}")
        elif top == "autograder":
            if not (module + ".").startswith("autograder.sandbox.inside."):
                bad.append(f"{module} ({', '.join(names) or 'import'})")
        elif top not in siblings and top in kit_names:
            bad.append(module)
    return bad


def repository_names() -> set[str]:
    """Names that would import kit or repository code if they ever resolved: top-level folders with
    Python in them, and the name of every kit module (flat copies in the sandbox are imported by them)."""
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    return tops | {p.stem for p in KIT.rglob("*.py") if p.stem != "__init__"}


ENGINE = INSIDE / "checker"


def test_the_sandbox_side_imports_nothing_of_the_kit_outside_it():
    siblings = {p.stem for p in INSIDE.glob("*.py") if p.stem != "__init__"} | {ENGINE.name}
    names = repository_names()
    problems = {str(p.relative_to(INSIDE)): outside_imports(p.read_text(), siblings, names, p.parent == ENGINE)
                for p in sorted(INSIDE.rglob("*.py"))}
    assert {name: bad for name, bad in problems.items() if bad} == {}


def test_the_engine_ships_alone_it_imports_only_its_own_modules():
    """What ships to students is the engine's package: it never reaches the grader's sandbox-side
    files (the zygote, the caches), which stay the grader's, and imports its siblings relatively."""
    grader_side = {p.stem for p in INSIDE.glob("*.py")} - {"__init__", "check"}
    reaching = {p.name: [m for m, _, level in imported(p.read_text()) if not level and m.split(".")[0] in grader_side]
                for p in ENGINE.glob("*.py")}
    assert {name: bad for name, bad in reaching.items() if bad} == {}


def test_everything_staged_into_the_sandbox_is_what_the_import_check_reads():
    staged = {p.name for p in INSIDE.glob("*.py") if p.stem not in ("__init__", "check")}
    assert set(warm_sandbox.RUNNER_FILES) == staged
    assert warm_sandbox.ENGINE == ENGINE


def test_the_import_check_catches_a_reach_outside():
    siblings, names = {"wire", "runner"}, repository_names()
    assert outside_imports("import wire\nimport torch\nfrom autograder.sandbox.inside import wire\n", siblings,
                           names) == []
    assert outside_imports("def f():\n    from autograder.checks import grading\n", siblings, names) == [
        "autograder.checks (grading)"]
    assert outside_imports("import solutions.gpt2\nfrom . import x\nimport grading\n", siblings, names) == [
        "solutions.gpt2", "from . import x", "grading"]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the kit modules it imports. ``from package import name`` is an edge to the module
    ``package.name`` when there is one, else to the package; bare sibling imports inside the sandbox
    side count as the sibling."""
    graph = {}
    for name, path in modules.items():
        edges = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for module, names, level in imported(path.read_text()):
            if level:
                base = package.rsplit(".", level - 1)[0] if level > 1 else package
                module = f"{base}.{module}" if module else base
            elif module.split(".")[0] != "autograder" and f"{package}.{module}" in modules and path.parent == INSIDE:
                module = f"{package}.{module}"
            for target in [f"{module}.{n}" for n in names] or [module]:
                if target in modules:
                    edges.add(target)
                elif module in modules:
                    edges.add(module)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_two_kit_modules_import_each_other_even_around_a_loop():
    graph = import_graph(kit_modules())
    assert graph["autograder.batch.local"] >= {"autograder.batch.submissions", "autograder.batch.cluster"}
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# From the bottom up: a stage imports only stages below it (and the kit's shared core: the package
# itself, ``assignment``, ``settings``). The three at the top are peers that import none of each other.
STAGES = {"sandbox.inside": 0, "sandbox": 1, "warmup": 2, "outputs": 3, "checks": 4,
          "batch": 5, "integrations": 5, "authoring": 5}


def stage(module: str) -> str | None:
    parts = module.split(".")[1:]
    if parts[:2] == ["sandbox", "inside"]:
        return "sandbox.inside"
    return parts[0] if len(parts) > 1 and parts[0] in STAGES else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if stage(a) and stage(b) and stage(a) != stage(b) and STAGES[stage(b)] >= STAGES[stage(a)])


def test_each_stage_imports_only_the_stages_below_it():
    assert upward_imports(import_graph(kit_modules())) == []
    assert upward_imports({"autograder.outputs.writers": {"autograder.checks.grading"}}) == [
        "autograder.outputs.writers -> autograder.checks.grading"]


def top_level_names(path: Path) -> set[str]:
    """What ``from module import name`` can take from a module: its top-level definitions and imports."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.If, ast.Try)):
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def test_every_import_of_the_kit_names_something_that_exists():
    """A moved module leaves no import behind, not even one inside a function that no test reaches
    (the kit's, its tests' and its benchmarks')."""
    files = [*KIT.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    files = [p for p in files if "fixtures" not in p.relative_to(ROOT).parts]  # copied into a kit by their test
    paths = {module_name(p): p for p in files}
    missing = []
    for path in files:
        for module, names, level in imported(path.read_text()):
            if level or module.split(".")[0] not in ("autograder", "tests", "bench"):
                continue
            if module not in paths:
                missing.append(f"{path.relative_to(ROOT)}: {module}")
                continue
            available = top_level_names(paths[module]) | {m.rpartition(".")[2] for m in paths
                                                          if m.rpartition(".")[0] == module}
            missing += [f"{path.relative_to(ROOT)}: {module}.{name}" for name in names if name not in available]
    assert missing == []


# What only an assignment may name: the assignments themselves, the GPT-2 model and tokenizer the
# first two are built on, and the stand-in one of them declares.
ASSIGNMENT_WORDS = ("gpt2", "GPTModel", "tiktoken", "probe_loss")


def naming(source: str, words: list[str]) -> list[str]:
    """The words of ``words`` that ``source`` names: as identifiers, in strings or in comments."""
    return sorted({word for word in words if re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", source)})


def test_no_grader_module_names_an_assignment_or_its_model():
    from autograder.assignment import assignment_names

    words = [*assignment_names(), *ASSIGNMENT_WORDS]
    assert "tokens_and_loss" in words
    found = {name: naming(path.read_text(), words) for name, path in kit_modules().items()}
    assert {name: hit for name, hit in found.items() if hit} == {}


def test_the_naming_check_finds_a_name():
    assert naming("from gpt2 import GPTModel  # the model", ["gpt2", "GPTModel", "tiktoken"]) == ["GPTModel", "gpt2"]
    assert naming('"""graded like train_and_generate"""', ["train_and_generate"]) == ["train_and_generate"]
    assert naming("my_gpt2x = 1", ["gpt2"]) == []


ENGINE_MODULE_LINES = 500


def test_the_shipped_engine_is_small_modules():
    sizes = {p.name: len(p.read_text().splitlines()) for p in ENGINE.glob("*.py")}
    assert len(sizes) >= 10 and {name: n for name, n in sizes.items() if n > ENGINE_MODULE_LINES} == {}
