"""The corpus of train_and_generate submissions: the book's code, other correct styles, and one
realistic mistake per function (each costing that function alone, each with the hint it earns).

Notebooks are built from the committed release notebook by filling its answer cells, as
``tests.corpus`` does for tokens_and_loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat

from tests import corpus

RELEASE = corpus.ROOT / "release" / "train_and_generate" / "train_and_generate.ipynb"

# The book's chapter 5 code, in the contract's functions (as the source notebook's solutions).
BOOK = {
    "input_target_pairs": '''
def input_target_pairs(token_ids, max_length, stride):
    inputs, targets = [], []
    for i in range(0, len(token_ids) - max_length, stride):
        inputs.append(token_ids[i:i + max_length])
        targets.append(token_ids[i + 1:i + max_length + 1])
    return torch.stack(inputs), torch.stack(targets)
''',
    "calc_loss_batch": '''
def calc_loss_batch(input_batch, target_batch, model, device):
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())
    return loss
''',
    "calc_loss_loader": '''
def calc_loss_loader(data_loader, model, device, num_batches=None):
    total_loss = 0.
    if len(data_loader) == 0:
        return float("nan")
    elif num_batches is None:
        num_batches = len(data_loader)
    else:
        num_batches = min(num_batches, len(data_loader))
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i < num_batches:
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            total_loss += loss.item()
        else:
            break
    return total_loss / num_batches
''',
    "train_step": '''
def train_step(model, optimizer, input_batch, target_batch, device):
    optimizer.zero_grad()
    loss = calc_loss_batch(input_batch, target_batch, model, device)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
    "generate": '''
def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    for _ in range(max_new_tokens):
        idx_cond = idx[:, -context_size:]
        with torch.no_grad():
            logits = model(idx_cond)
        logits = logits[:, -1, :]
        if top_k is not None:
            top_logits, _ = torch.topk(logits, top_k)
            min_val = top_logits[:, -1]
            logits = torch.where(logits < min_val, torch.tensor(float("-inf")).to(logits.device), logits)
        if temperature > 0.0:
            logits = logits / temperature
            probs = torch.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        if idx_next == eos_id:
            break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx
''',
}

# Other correct answers, in styles students write: each must earn full marks.
STYLES = {
    "unfold_and_log_softmax": {
        "input_target_pairs": '''
def input_target_pairs(token_ids, max_length, stride):
    return token_ids[:-1].unfold(0, max_length, stride), token_ids[1:].unfold(0, max_length, stride)
''',
        "calc_loss_batch": '''
def calc_loss_batch(input_batch, target_batch, model, device):
    log_probas = torch.log_softmax(model(input_batch.to(device)), dim=-1)
    return -log_probas.gather(-1, target_batch.to(device).unsqueeze(-1)).mean()
''',
    },
    "loss_computed_inline": {
        "calc_loss_loader": '''
def calc_loss_loader(data_loader, model, device, num_batches=None):
    losses = []
    for input_batch, target_batch in list(data_loader)[:num_batches]:
        logits = model(input_batch.to(device))
        losses.append(torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.to(device).flatten()).item())
    return sum(losses) / len(losses) if losses else float("nan")
''',
        "train_step": '''
def train_step(model, optimizer, input_batch, target_batch, device):
    model.zero_grad(set_to_none=False)
    logits = model(input_batch.to(device))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_batch.to(device).reshape(-1))
    loss.backward()
    optimizer.step()
    return float(loss)
''',
    },
    "categorical_sampler": {
        "generate": '''
def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    model.eval()
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(idx[:, -context_size:])[0, -1]
        if top_k is not None:
            values, indices = logits.topk(top_k)
            logits = torch.full_like(logits, float("-inf")).scatter(0, indices, values)
        if temperature == 0:
            token = logits.argmax()
        else:
            token = torch.distributions.Categorical(logits=logits / temperature).sample()
        if eos_id is not None and token.item() == eos_id:
            break
        idx = torch.cat([idx, token.view(1, 1)], dim=1)
    return idx
''',
    },
}


@dataclass(frozen=True)
class Mistake:
    """A wrong answer for one function, the hint it must earn (None: the message says enough)."""

    name: str
    function: str
    code: str
    hint: str | None


def _book(function: str, old: str, new: str) -> str:
    assert old in BOOK[function], (function, old)
    return BOOK[function].replace(old, new)


MISTAKES = (
    Mistake("one_window_too_many", "input_target_pairs",
            _book("input_target_pairs", "len(token_ids) - max_length,", "len(token_ids) - max_length + 1,"),
            "windows_off_by_one"),
    Mistake("targets_not_shifted", "input_target_pairs",
            _book("input_target_pairs", "token_ids[i + 1:i + max_length + 1]", "token_ids[i:i + max_length]"),
            "targets_not_shifted"),
    Mistake("loss_summed", "calc_loss_batch",
            _book("calc_loss_batch", "target_batch.flatten())", "target_batch.flatten(), reduction='sum')"),
            "sum_not_mean"),
    Mistake("targets_not_flattened", "calc_loss_batch",
            _book("calc_loss_batch", "cross_entropy(logits.flatten(0, 1), target_batch.flatten())",
                  "cross_entropy(logits, target_batch)"),
            None),
    Mistake("divides_by_loader_length", "calc_loss_loader",
            _book("calc_loss_loader", "return total_loss / num_batches", "return total_loss / len(data_loader)"),
            None),
    Mistake("forgotten_zero_grad", "train_step", _book("train_step", "    optimizer.zero_grad()\n", ""),
            "forgotten_zero_grad"),
    Mistake("step_before_backward", "train_step",
            _book("train_step", "    loss.backward()\n    optimizer.step()\n", "    optimizer.step()\n    loss.backward()\n"),
            "step_before_backward"),
    Mistake("temperature_after_softmax", "generate",
            _book("generate", "            logits = logits / temperature\n            probs = torch.softmax(logits, dim=-1)",
                  "            probs = torch.softmax(logits, dim=-1) / temperature"),
            "temperature_after_softmax"),
    Mistake("smallest_k_kept", "generate",
            _book("generate", "torch.topk(logits, top_k)\n            min_val = top_logits[:, -1]\n"
                              "            logits = torch.where(logits < min_val,",
                  "torch.topk(logits, top_k, largest=False)\n            min_val = top_logits[:, -1]\n"
                  "            logits = torch.where(logits > min_val,"),
            "smallest_k_kept"),
    Mistake("context_not_cropped", "generate", _book("generate", "idx[:, -context_size:]", "idx"),
            "context_not_cropped"),
    Mistake("eos_appended", "generate",
            _book("generate", "        if idx_next == eos_id:\n            break\n        idx = torch.cat((idx, idx_next), dim=1)\n",
                  "        idx = torch.cat((idx, idx_next), dim=1)\n        if idx_next == eos_id:\n            break\n"),
            "eos_appended"),
)


def with_answers(**changes: str) -> nbformat.NotebookNode:
    """The release notebook with the book's answers, and ``changes`` (function name -> code)."""
    return corpus.build({**BOOK, **changes}, release=RELEASE)


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """Every corpus submission by name: the book, the styles, the mistakes, the untouched stub."""
    made = {"book": with_answers(), "stub": nbformat.read(RELEASE, as_version=4)}
    made.update({name: with_answers(**answers) for name, answers in STYLES.items()})
    made.update({m.name: with_answers(**{m.function: m.code}) for m in MISTAKES})
    return made


# ------------------------------------------------------------------ notebooks that probe the grader
# Each is a class of notebook that once got the wrong grade: honest work that lost points, or a
# gamed grade. ``lost`` is the functions it must lose, ``changed`` what it must be flagged for
# ("needs a look", naming what it changed), ``note`` a note it must get; ``why`` says why that is fair.

SUMMED = next(m.code for m in MISTAKES if m.name == "loss_summed")


@dataclass(frozen=True)
class Probe:
    name: str
    answers: dict[str, str]
    lost: tuple[str, ...]
    why: str
    changed: tuple[str, ...] = ()
    extra_cells: tuple[tuple[int, str], ...] = ()

    def notebook(self) -> nbformat.NotebookNode:
        return corpus.build({**BOOK, **self.answers}, dict(self.extra_cells), release=RELEASE)


def _setup_position() -> int:
    """Just after the release's setup cell, where a student's own extra cell goes."""
    notebook = nbformat.read(RELEASE, as_version=4)
    return next(i for i, cell in enumerate(notebook.cells)
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup") + 1


BOOK_NO_ZERO_GRAD = _book("train_step", "    optimizer.zero_grad()\n", "")

PROBES = (
    # -------- honest work: a mistake in calc_loss_batch costs calc_loss_batch alone, however it is reached
    Probe("callee_by_default_argument", {
        "calc_loss_batch": SUMMED,
        "train_step": BOOK["train_step"].replace("device):", "device, loss_fn=calc_loss_batch):")
                                       .replace("loss = calc_loss_batch(", "loss = loss_fn("),
        "calc_loss_loader": "batch_loss = calc_loss_batch\n" + BOOK["calc_loss_loader"].replace(
            "loss = calc_loss_batch(", "loss = batch_loss(")},
        ("calc_loss_batch",),
        "the summed loss is calc_loss_batch's mistake; train_step holds it as a default argument and "
        "calc_loss_loader through an alias, and both get the stand-in as if they named it"),
    Probe("callee_in_closure_and_partial", {
        "calc_loss_batch": SUMMED,
        "calc_loss_loader": "import functools\n\ndef _make_loader(batch_loss):\n" + "\n".join(
            "    " + line for line in BOOK["calc_loss_loader"].replace("loss = calc_loss_batch(", "loss = batch_loss(")
            .strip("\n").splitlines())
        + "\n    return calc_loss_loader\n\ncalc_loss_loader = _make_loader(calc_loss_batch)\n",
        "train_step": "import functools\n" + BOOK["train_step"].replace(
            "    loss = calc_loss_batch(input_batch, target_batch, model, device)",
            "    loss = _loss(input_batch, target_batch, model)")
        + "\n_loss = functools.partial(calc_loss_batch, device='cpu')\n"},
        ("calc_loss_batch",),
        "the loader closes over calc_loss_batch and train_step calls a functools.partial of it: the same function"),
    # -------- honest variants the guard must not flag
    Probe("helpers_seeds_and_no_grad", {
        "generate": "@torch.no_grad()\n" + BOOK["generate"],
        "calc_loss_batch": "class Flatten(torch.nn.Module):\n    def forward(self, x):\n"
                           "        return x.flatten(0, 1)\n\n"
                           + BOOK["calc_loss_batch"].replace("logits.flatten(0, 1)", "Flatten()(logits)")},
        (), "a helper module, a seed set in a cell and @torch.no_grad() on generate change nothing of torch's",
        extra_cells=((_setup_position(), "torch.manual_seed(123)\nimport torch.nn.functional as F\n"
                                        "optimizer = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), "
                                        "lr=1e-3)"),)),
    Probe("book_code_in_other_cells", {
        "input_target_pairs": BOOK["generate"] + BOOK["input_target_pairs"],
        "generate": "",
        "calc_loss_batch": BOOK["train_step"] + BOOK["calc_loss_batch"],
        "train_step": "# train_step is defined above, with calc_loss_batch\n"},
        (), "the book's code, split over the cells in another order, is the book's code"),
    # -------- gamed grades
    Probe("detects_the_stand_in", {
        "train_step": "_own_loss = calc_loss_batch\n" + BOOK["train_step"].replace(
            "    optimizer.zero_grad()\n",
            "    if calc_loss_batch is not _own_loss or calc_loss_batch.__name__ != 'calc_loss_batch':\n"
            "        optimizer.zero_grad()\n")},
        ("train_step",),
        "train_step clears the gradients only when it sees something other than its own calc_loss_batch: the "
        "student's calc_loss_batch passed its checks, so no stand-in is ever used, and the missing zero_grad shows"),
    Probe("optimizer_patched", {"train_step": BOOK_NO_ZERO_GRAD},
        ("train_step",), "a patched SGD that clears gradients itself would hide the missing zero_grad; the "
                         "checks build the optimizer from torch's own class, put back",
        changed=("torch.optim.SGD.__init__", "torch.optim.SGD.step"),
        extra_cells=((_setup_position(),
                      "_init, _step = torch.optim.SGD.__init__, torch.optim.SGD.step\n"
                      "def _clearing_init(self, params, *args, **kwargs):\n"
                      "    params = list(params)\n"
                      "    for p in params:\n"
                      "        p.grad = None\n"
                      "    _init(self, params, *args, **kwargs)\n"
                      "def _clearing_step(self, closure=None):\n"
                      "    result = _step(self, closure)\n"
                      "    self.zero_grad()\n"
                      "    return result\n"
                      "torch.optim.SGD.__init__, torch.optim.SGD.step = _clearing_init, _clearing_step"),)),
    Probe("backward_patched", {"train_step": BOOK_NO_ZERO_GRAD},
        ("train_step",), "a backward that clears old gradients first would hide the missing zero_grad",
        changed=("torch.Tensor.backward",),
        extra_cells=((_setup_position(),
                      "_backward = torch.Tensor.backward\n"
                      "def _clean_backward(self, *args, **kwargs):\n"
                      "    for p in _MODEL_PARAMS:\n"
                      "        p.grad = None\n"
                      "    return _backward(self, *args, **kwargs)\n"
                      "_MODEL_PARAMS = []\n"
                      "_parameters = torch.nn.Module.parameters\n"
                      "def _remembering(self, recurse=True):\n"
                      "    found = list(_parameters(self, recurse))\n"
                      "    _MODEL_PARAMS[:] = found\n"
                      "    return iter(found)\n"
                      "torch.Tensor.backward = _clean_backward\n"
                      "torch.nn.Module.parameters = _remembering"),)),
    Probe("model_patched", {},
        (), "the book's answers are right whatever the notebook did to GPTModel: the checks build the model "
            "from the class as it shipped, so the grade stands, and the instructor is told",
        changed=("gpt2.GPTModel.forward",),
        extra_cells=((_setup_position(), "from gpt2 import GPTModel\nGPTModel.forward = lambda self, idx: "
                                         "torch.zeros(idx.shape[0], idx.shape[1], 97)"),)),
    Probe("samples_well_with_one_token_only", {
        "generate": BOOK["generate"].replace("        idx_cond = idx[:, -context_size:]\n",
                                             "        idx_cond = idx[:, -context_size:] if temperature == 0.0 "
                                             "else idx[:, -1:]\n")},
        ("generate",), "sampling from the last token alone is not sampling from the model given its context"),
    Probe("generate_scales_the_weights", {
        "generate": BOOK["generate"].replace("    return idx\n", "    with torch.no_grad():\n"
                                             "        for p in model.parameters():\n"
                                             "            p.mul_(0.5)\n    return idx\n")},
        ("generate",), "generate must only read the model it samples from"),
    Probe("loss_changes_its_targets", {
        "calc_loss_batch": BOOK["calc_loss_batch"].replace("    return loss\n",
                                                           "    target_batch.zero_()\n    return loss\n")},
        ("calc_loss_batch",), "a loss must leave the batch it was given as it was"),
    Probe("generate_parameters_renamed", {
        "generate": BOOK["generate"].replace("context_size", "context_len")},
        ("generate",), "the notebook's own examples pass context_size by name, as the book does, and fail too: "
                       "the contract's names are the ones course material and other graders call"),
    Probe("loader_wrong_after_a_wrong_loss", {
        "calc_loss_batch": SUMMED,
        "calc_loss_loader": next(m.code for m in MISTAKES if m.name == "divides_by_loader_length")},
        ("calc_loss_batch", "calc_loss_loader"),
        "two mistakes, two functions: the loader is judged with the stand-in, and told so"),
    Probe("loss_without_gradients", {
        "calc_loss_batch": BOOK["calc_loss_batch"].replace(
            "    logits = model(input_batch)\n"
            "    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())\n",
            "    with torch.no_grad():\n        logits = model(input_batch)\n"
            "        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())\n"
            "    loss.requires_grad_()\n")},
        ("calc_loss_batch",), "a loss computed without gradients has the right number and trains nothing; "
                              "train_step, given the stand-in, keeps its points"),
)
