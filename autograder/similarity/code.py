"""The graded functions of a submission, and the normalised tokens that are compared.

A notebook is read as plain data (nbformat), never run: each code cell is parsed with ``ast``, and a
top-level ``def`` or ``class`` with a contract name is that function's code (the last one, as the
notebook's kernel would keep). Normalising drops what a copier changes for free: comments, docstrings,
blank lines and layout (only tokens are kept), and the names a function binds (its parameters and
the variables it assigns), which all become ``V``, so a renamed copy is the same copy, whatever order
its statements are in. The names it reads from outside (``torch``, ``softmax``, attributes) are kept:
they are the code's substance.
"""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
from dataclasses import dataclass
from pathlib import Path

# What a student's cell may make the parser raise: a syntax error, a null byte, nesting too deep.
UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)
DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    line: int  # 1-based, in the function's own source


@dataclass(frozen=True)
class Function:
    name: str
    source: str
    tokens: tuple[Token, ...]


def functions_in_notebook(path: Path, names: tuple[str, ...]) -> dict[str, Function]:
    """The contract's functions and classes defined in a notebook's code cells; none for a file that
    is not a readable notebook (the batch already said so)."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - an unusable file has nothing to compare
        return {}
    return functions_in_sources([cell.source for cell in notebook.cells if cell.cell_type == "code"], names)


def functions_in_sources(sources: list[str], names: tuple[str, ...] | None = None) -> dict[str, Function]:
    """The top-level functions and classes of some Python sources (all of them when ``names`` is None)."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except UNPARSABLE:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
                    names is None or node.name in names):
                text = ast.get_source_segment(source, node, padded=False) or ""
                found[node.name] = Function(node.name, text, tuple(normalised(text)))
    return found


def base_sources(paths: list[Path]) -> list[str]:
    """The code of base files and folders: .py files, and the code cells of .ipynb notebooks."""
    import nbformat

    sources = []
    for path in paths:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".py":
                sources.append(file.read_text(encoding="utf-8", errors="replace"))
            elif file.suffix == ".ipynb":
                try:
                    sources += [c.source for c in nbformat.read(file, as_version=4).cells if c.cell_type == "code"]
                except Exception:  # noqa: BLE001 - a base file that is not a notebook adds nothing
                    continue
    return sources


def _bound_names(tree: ast.AST) -> set[str]:
    """The names a function or class binds: parameters, assignment and loop targets, imports' aliases."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound


def _docstrings(tree: ast.AST) -> set[int]:
    """The first lines of the docstrings in a tree, whose string tokens are dropped."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                lines.add(first.lineno)
    return lines


def normalised(source: str) -> list[Token]:
    """The tokens of ``source`` that are compared, with their lines (see the module's docstring)."""
    try:
        tree = ast.parse(source)
    except UNPARSABLE:
        return []
    bound, docstrings = _bound_names(tree), _docstrings(tree)
    tokens, previous = [], ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in DROPPED:
                continue
            if token.type == tokenize.STRING and token.start[0] in docstrings and previous in ("", ":"):
                continue
            text = token.string
            if token.type == tokenize.NAME and not keyword.iskeyword(text) and text in bound and previous != ".":
                text = "V"
            elif token.type == tokenize.STRING:
                text = "S"
            tokens.append(Token(text, token.start[0]))
            previous = token.string
    except (tokenize.TokenError, IndentationError):
        return tokens
    return tokens
