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
