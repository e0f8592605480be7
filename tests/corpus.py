"""The kit's corpus of submissions: the seed's own answers, and realistic mistakes, one at a time.

Notebooks are built from the committed release notebook by filling its answer cells, so the
corpus always matches the assignment students actually get. Run as a script to (re)write the
example submissions the README grades::

    python -m tests.corpus examples/submissions
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "tokens_and_loss" / "tokens_and_loss.ipynb"

# The five functions as the seed notebook wrote them (its inline code, wrapped in the contract).
SEED = {
    "text_to_token_ids": '''
def text_to_token_ids(text,tokenizer):
    encoded = tokenizer.encode(text,allowed_special={'<|endoftext|>'})
    encoded_tensor = torch.tensor(encoded).unsqueeze(0)
    return encoded_tensor
''',
    "token_ids_to_text": '''
def token_ids_to_text(token_ids,tokenizer):
    flat = token_ids.squeeze(0)
    return tokenizer.decode(flat.tolist())
''',
    "target_probas": '''
def target_probas(probas, targets):
    rows = []
    for text_idx in range(targets.shape[0]):
        positions = list(range(targets.shape[1]))
        rows.append(probas[text_idx, positions, targets[text_idx]])
    return torch.stack(rows)
''',
    "manual_cross_entropy": '''
def manual_cross_entropy(logits, targets):
    probas = torch.softmax(logits, dim=-1)
    positions = list(range(targets.shape[1]))
    picked = torch.cat([probas[i, positions, targets[i]] for i in range(targets.shape[0])])
    log_probas = torch.log(picked)
    avg_log_probas = torch.mean(log_probas) * -1
    return avg_log_probas
''',
    "perplexity": '''
def perplexity(loss):
    return torch.exp(loss)
''',
}


@dataclass(frozen=True)
class Mistake:
    """A wrong answer for one function; every other function keeps the seed's answer."""

    name: str
    function: str
    code: str
    note: str = ""


MISTAKES = (
    Mistake("no_batch_dimension", "text_to_token_ids", '''
def text_to_token_ids(text, tokenizer):
    return torch.tensor(tokenizer.encode(text, allowed_special={"<|endoftext|>"}))
'''),
    Mistake("special_token_not_allowed", "text_to_token_ids", '''
def text_to_token_ids(text, tokenizer):
    return torch.tensor(tokenizer.encode(text)).unsqueeze(0)
''', "passes the book example; fails texts with <|endoftext|>"),
    Mistake("returns_list", "text_to_token_ids", '''
def text_to_token_ids(text, tokenizer):
    return [tokenizer.encode(text, allowed_special={"<|endoftext|>"})]
'''),
    Mistake("float_ids", "text_to_token_ids", '''
def text_to_token_ids(text, tokenizer):
    encoded = tokenizer.encode(text, allowed_special={"<|endoftext|>"})
    return torch.tensor(encoded, dtype=torch.float32).unsqueeze(0)
'''),
    Mistake("decode_nested_list", "token_ids_to_text", '''
def token_ids_to_text(token_ids, tokenizer):
    return tokenizer.decode(token_ids.tolist())
''', "works for (n,), fails for (1, n)"),
    Mistake("returns_ids", "token_ids_to_text", '''
def token_ids_to_text(token_ids, tokenizer):
    return token_ids.squeeze(0).tolist()
'''),
    Mistake("strips_spaces", "token_ids_to_text", '''
def token_ids_to_text(token_ids, tokenizer):
    return tokenizer.decode(token_ids.squeeze(0).tolist()).strip()
'''),
    Mistake("hardcoded_positions", "target_probas", '''
def target_probas(probas, targets):
    return torch.stack([probas[i, [0, 1, 2], targets[i]] for i in range(targets.shape[0])])
''', "passes the book example only"),
    Mistake("first_row_only", "target_probas", '''
def target_probas(probas, targets):
    return probas[0, torch.arange(targets.shape[1]), targets[0]].unsqueeze(0)
'''),
    Mistake("predicted_not_target", "target_probas", '''
def target_probas(probas, targets):
    return torch.max(probas, dim=-1).values
'''),
    Mistake("torch_loss", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
'''),
    Mistake("torch_loss_via_getattr", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    loss_fn = getattr(torch.nn.functional, "cross_" + "entropy")
    return loss_fn(logits.flatten(0, 1), targets.flatten())
'''),
    Mistake("nll_loss_module", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    log_probas = torch.log_softmax(logits, dim=-1)
    return torch.nn.NLLLoss()(log_probas.flatten(0, 1), targets.flatten())
'''),
    Mistake("sum_not_mean", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    probas = torch.softmax(logits, dim=-1)
    picked = torch.gather(probas, -1, targets.unsqueeze(-1))
    return -torch.sum(torch.log(picked))
'''),
    Mistake("missing_minus", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    probas = torch.softmax(logits, dim=-1)
    picked = torch.gather(probas, -1, targets.unsqueeze(-1))
    return torch.mean(torch.log(picked))
'''),
    Mistake("log_of_logits", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    picked = torch.gather(logits, -1, targets.unsqueeze(-1))
    return -torch.mean(torch.log(picked))
'''),
    Mistake("softmax_wrong_dim", "manual_cross_entropy", '''
def manual_cross_entropy(logits, targets):
    probas = torch.softmax(logits, dim=0)
    picked = torch.gather(probas, -1, targets.unsqueeze(-1))
    return -torch.mean(torch.log(picked))
'''),
    Mistake("exp_of_negative_loss", "perplexity", '''
def perplexity(loss):
    return torch.exp(-loss)
'''),
    Mistake("base_two", "perplexity", '''
def perplexity(loss):
    return 2 ** loss
'''),
    Mistake("returns_float", "perplexity", '''
import math

def perplexity(loss):
    return math.exp(loss)
'''),
)


def build(answers: dict[str, str | None], extra_cells: dict[int, str] | None = None,
          release: Path = RELEASE) -> nbformat.NotebookNode:
    """The release notebook with answer cells replaced (None deletes the cell) and extra code cells inserted."""
    notebook = nbformat.read(release, as_version=4)
    cells = []
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            if answers[grade_id] is None:
                continue
            cell.source = answers[grade_id].strip("\n")
        cells.append(cell)
    for position, source in sorted((extra_cells or {}).items(), reverse=True):
        cells.insert(position, nbformat.v4.new_code_cell(source))
    notebook.cells = cells
    return notebook


def with_answers(**changes: str | None) -> nbformat.NotebookNode:
    """The seed's answers, with ``changes`` applied (function name -> code, or None to delete its cell)."""
    return build({**SEED, **changes})


def _executed(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """As a front end saves a notebook it ran: execution counts, a printed output, a cell id on every cell."""
    count = 0
    for position, cell in enumerate(notebook.cells):
        cell["id"] = f"{position:08x}-cell"
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output {count}\n")]
    return notebook


def colab(notebook: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """Saved by Google Colab: its metadata, a pip cell and a shell escape, outputs kept, and every cell's
    own metadata (nbgrader's included) replaced by Colab's."""
    notebook = _executed(notebook or build(SEED, {3: "!pip install -q tiktoken\n%matplotlib inline\n!ls"}))
    notebook.metadata = {"colab": {"provenance": [], "toc_visible": True}, "accelerator": "GPU",
                         "kernelspec": {"name": "python3", "display_name": "Python 3"},
                         "language_info": {"name": "python"}}
    for cell in notebook.cells:
        cell.metadata = {"colab": {"base_uri": "https://localhost:8080/"}, "outputId": cell["id"]}
    return notebook


def nbformat_3(notebook: nbformat.NotebookNode) -> bytes:
    """The notebook as an old Jupyter saved it: nbformat 3, its cells in a worksheet."""
    import json

    return json.dumps(nbformat.v4.convert.downgrade(nbformat.reads(nbformat.writes(notebook), as_version=4)),
                      indent=1).encode()


def vscode() -> nbformat.NotebookNode:
    """Saved by VS Code: its metadata, Windows line endings, a %%time cell magic on an answer, %pip."""
    answers = {**SEED, "manual_cross_entropy": "%%time\n" + SEED["manual_cross_entropy"].strip("\n")}
    notebook = _executed(build(answers, {3: "%pip install tiktoken"}))
    notebook.metadata = {"kernelspec": {"display_name": ".venv", "language": "python", "name": "python3"},
                         "language_info": {"name": "python", "version": "3.11.7"},
                         "vscode": {"interpreter": {"hash": "0" * 64}}}
    for cell in notebook.cells:
        cell.source = cell.source.replace("\n", "\r\n")
    return notebook


def moved_answers() -> nbformat.NotebookNode:
    """Answers written where the student liked: all five in one new cell right after the setup, the
    answer cells emptied, a helper function of the student's own, and the cells in between reordered."""
    notebook = build({name: "# moved up, see the cell after the setup" for name in SEED},
                     {3: "def _batch_rows(targets):\n    return range(targets.shape[0])\n\n"
                         + "\n".join(SEED.values())})
    return notebook


def not_this_notebook() -> nbformat.NotebookNode:
    """Another course's notebook, submitted by mistake."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Homework 3: sorting"),
                                           nbformat.v4.new_code_cell("def bubble_sort(xs):\n    return sorted(xs)")])


# Notebooks as students really save them: each must earn full marks, like the seed.
AS_SAVED = {"colab": colab, "vscode": vscode, "moved_answers": moved_answers}


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


EXAMPLES = {
    "ada": lambda: with_answers(),
    "grace": lambda: with_answers(target_probas=next(m for m in MISTAKES if m.name == "hardcoded_positions").code),
    "linus": lambda: nbformat.read(RELEASE, as_version=4),
}


def write_examples(directory: Path) -> None:
    """The README's example class: full marks, one mistake, an untouched stub, and a broken file."""
    for student, make in EXAMPLES.items():
        write(make(), directory / f"{student}.ipynb")
    (directory / "margaret.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "import tor')


if __name__ == "__main__":
    write_examples(Path(sys.argv[1]))
