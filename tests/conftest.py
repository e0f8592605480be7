"""Shared fixtures: the assignment, and the kit's corpus graded once per test session as a real batch."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from autograder.assignment import Assignment, load_assignment
from autograder.batch.local import grade_directory
from autograder.outputs.results import SubmissionResult
from autograder.settings import Settings
from tests import corpus, installs

# Submissions that break the contract rather than a computation, each with the message it must get.
CONTRACT = {
    "renamed_function": (corpus.with_answers(text_to_token_ids=corpus.SEED["text_to_token_ids"].replace(
        "def text_to_token_ids", "def text_to_tokens")), "text_to_token_ids",
        "defines `text_to_tokens`; the assignment expects `text_to_token_ids`"),
    "wrong_signature": (corpus.with_answers(perplexity="def perplexity(loss, base):\n    return base ** loss"),
                        "perplexity", "must take 1 argument (loss); yours takes (loss, base)"),
    "deleted_answer_cell": (corpus.with_answers(target_probas=None), "target_probas",
                            "`target_probas` is not defined"),
    "syntax_error": (corpus.with_answers(manual_cross_entropy="def manual_cross_entropy(logits, targets)\n"
                                                              "    return logits"),
                     "manual_cross_entropy", "failed with SyntaxError"),
    "not_a_function": (corpus.with_answers(perplexity="perplexity = 48725.8203"), "perplexity",
                       "`perplexity` is a float, not a function"),
}
UNUSABLE = {
    "empty": (b"", "is empty"),
    "binary": (bytes(range(256)) * 8, "binary file"),
    "corrupt_json": (b'{"cells": [{"cell_type": "code", "sour', "JSON is broken at line 1"),
    "not_a_notebook": (b'{"hello": "world"}', "not a Jupyter notebook"),
    "nested_too_deeply": (b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested far deeper"),
    "another_courses_notebook": (nbformat.writes(corpus.not_this_notebook()).encode(),
                                 "does not look like the tokens_and_loss notebook"),
}


@pytest.fixture(scope="session", autouse=True)
def warm_store(tmp_path_factory):
    """The session's own store of batch warm-ups: shared by its batches, never the user's ~/.cache."""
    saved = os.environ.get("AUTOGRADER_CACHE")
    os.environ["AUTOGRADER_CACHE"] = str(tmp_path_factory.mktemp("warm-store"))
    yield Path(os.environ["AUTOGRADER_CACHE"])
    if saved is None:
        os.environ.pop("AUTOGRADER_CACHE", None)
    else:
        os.environ["AUTOGRADER_CACHE"] = saved


@pytest.fixture(scope="session")
def assignment() -> Assignment:
    return load_assignment("tokens_and_loss")


def write_corpus(directory: Path) -> None:
    corpus.write(corpus.with_answers(), directory / "seed.ipynb")
    corpus.write(nbformat.read(corpus.RELEASE, as_version=4), directory / "stub.ipynb")
    corpus.write(corpus.build(corpus.SEED, extra_cells={4: "raise RuntimeError('a cell that breaks')"}),
                 directory / "raising_cell.ipynb")
    for mistake in corpus.MISTAKES:
        corpus.write(corpus.with_answers(**{mistake.function: mistake.code}), directory / f"{mistake.name}.ipynb")
    for name, (notebook, _, _) in CONTRACT.items():
        corpus.write(notebook, directory / f"{name}.ipynb")
    for name, (data, _) in UNUSABLE.items():
        (directory / f"{name}.ipynb").write_bytes(data)
    for name, make in corpus.AS_SAVED.items():
        corpus.write(make(), directory / f"{name}.ipynb")
    (directory / "byte_order_mark.ipynb").write_bytes(b"\xef\xbb\xbf" + nbformat.writes(corpus.with_answers()).encode())
    (directory / "nbformat_3.ipynb").write_bytes(corpus.nbformat_3(corpus.with_answers()))


@pytest.fixture(scope="session")
def graded_corpus(tmp_path_factory, assignment) -> dict[str, SubmissionResult]:
    """Every corpus submission, graded as one real batch (two workers, sandboxed)."""
    submissions = tmp_path_factory.mktemp("corpus")
    write_corpus(submissions)
    out = tmp_path_factory.mktemp("corpus-graded")
    results = grade_directory(submissions, out, assignment, Settings(jobs=2)).results
    graded = {r.student: r for r in results}
    graded["_out"], graded["_submissions"] = out, submissions
    return graded


@pytest.fixture(scope="session")
def torch_venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with torch alone: the template the install tests copy."""
    directory = tmp_path_factory.mktemp("torch-venv") / "venv"
    installs.fresh_venv(directory)
    return directory


@pytest.fixture(scope="session")
def gradescope_image(tmp_path_factory, torch_venv):
    """The Gradescope zip, unpacked and set up by its own setup.sh in a fresh virtual environment:
    (the /autograder folder, the environment's bin folder). Its kit is the core package alone."""
    return installs.gradescope_image(tmp_path_factory.mktemp("gradescope"), template=torch_venv)


@pytest.fixture(scope="session")
def student_venv(tmp_path_factory, torch_venv) -> Path:
    """A student's environment: torch, tiktoken and numpy, nothing of the kit; its bin folder."""
    return installs.student_venv(torch_venv, tmp_path_factory.mktemp("student") / "venv")
