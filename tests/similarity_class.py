"""A class of train_and_generate submissions for the copy finder: students who typed the book's code,
independent solutions in several styles (the corpus's and more), the corpus's mistakes (two students
with the same slip in the book's code, twice), and planted copies: of one student's own code, a
straight copy, a copy with renamed variables, with reordered independent statements, with comments and
blank lines changed, and one function only in an otherwise independent notebook; and a group of four
sharing another source.

``planted`` says which pairs are copies: every pair inside a group of students marked with the same
source. Nothing else in the class shares code beyond the book and the release.
"""

from __future__ import annotations

import re

from tests import train_and_generate_corpus as tg

# Two students' own code, from which the planted copies are made.
SOURCE_ONE = {
    "input_target_pairs": '''
def input_target_pairs(token_ids, max_length, stride):
    starts = list(range(0, len(token_ids) - max_length, stride))
    windows = [token_ids[s:s + max_length] for s in starts]
    shifted = [token_ids[s + 1:s + 1 + max_length] for s in starts]
    return torch.stack(windows), torch.stack(shifted)
''',
    "calc_loss_batch": '''
def calc_loss_batch(input_batch, target_batch, model, device):
    # logits for every position, then the mean negative log-likelihood of the targets
    logits = model(input_batch.to(device))
    vocab = logits.shape[-1]
    flat_logits = logits.reshape(-1, vocab)
    flat_targets = target_batch.to(device).reshape(-1)
    return torch.nn.functional.cross_entropy(flat_logits, flat_targets)
''',
    "calc_loss_loader": '''
def calc_loss_loader(data_loader, model, device, num_batches=None):
    count = len(data_loader) if num_batches is None else min(num_batches, len(data_loader))
    if count == 0:
        return float("nan")
    losses = []
    for step, (inputs, targets) in enumerate(data_loader):
        if step == count:
            break
        losses.append(calc_loss_batch(inputs, targets, model, device).item())
    return sum(losses) / count
''',
    "train_step": '''
def train_step(model, optimizer, input_batch, target_batch, device):
    model.train()
    optimizer.zero_grad()
    batch_loss = calc_loss_batch(input_batch, target_batch, model, device)
    batch_loss.backward()
    optimizer.step()
    value = batch_loss.detach().item()
    return value
''',
    "generate": '''
def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    steps = 0
    while steps < max_new_tokens:
        window = idx[:, -context_size:]
        with torch.no_grad():
            scores = model(window)[:, -1, :]
        if top_k is not None:
            kth = torch.topk(scores, top_k, dim=-1).values[:, [-1]]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if temperature and temperature > 0:
            chosen = torch.multinomial(torch.softmax(scores / temperature, dim=-1), 1)
        else:
            chosen = scores.argmax(dim=-1, keepdim=True)
        if eos_id is not None and int(chosen) == eos_id:
            break
        idx = torch.cat([idx, chosen], dim=-1)
        steps += 1
    return idx
''',
}

SOURCE_TWO = {
    "calc_loss_loader": '''
def calc_loss_loader(data_loader, model, device, num_batches=None):
    batches = list(data_loader)
    if not batches:
        return float("nan")
    if num_batches is not None:
        batches = batches[:num_batches]
    total = 0.0
    for inputs, targets in batches:
        total = total + float(calc_loss_batch(inputs, targets, model, device))
    return total / len(batches)
''',
    "generate": '''
def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    for _ in range(max_new_tokens):
        with torch.no_grad():
            last = model(idx[:, -context_size:])[0, -1]
        if top_k:
            best, where = last.topk(top_k)
            last = torch.full_like(last, -float("inf")).scatter(0, where, best)
        probs = (last / temperature).softmax(-1) if temperature > 0 else None
        token = torch.multinomial(probs, 1) if probs is not None else last.argmax().view(1)
        if token.item() == eos_id:
            return idx
        idx = torch.cat((idx, token.view(1, 1)), dim=1)
    return idx
''',
}

# More independent solutions, each a student's own.
OWN = {
    "own_windows_by_unfold": {"input_target_pairs": '''
def input_target_pairs(token_ids, max_length, stride):
    count = (len(token_ids) - max_length - 1) // stride + 1
    rows = torch.arange(count) * stride
    offsets = torch.arange(max_length)
    return token_ids[rows[:, None] + offsets], token_ids[rows[:, None] + offsets + 1]
'''},
    "own_loss_by_gather": {"calc_loss_batch": '''
def calc_loss_batch(input_batch, target_batch, model, device):
    out = model(input_batch.to(device))
    logp = out.log_softmax(dim=2)
    picked = torch.gather(logp, 2, target_batch.to(device)[..., None]).squeeze(2)
    return -(picked.mean())
'''},
    "own_step_with_set_to_none": {"train_step": '''
def train_step(model, optimizer, input_batch, target_batch, device):
    for p in model.parameters():
        p.grad = None
    loss = calc_loss_batch(input_batch, target_batch, model, device)
    torch.autograd.backward(loss)
    optimizer.step()
    return float(loss)
'''},
}


# The rest of the notebook that copies one function only: its own, like no one else's.
ONE_FUNCTION_OWN = {"input_target_pairs": """
def input_target_pairs(token_ids, max_length, stride):
    pairs = [(token_ids[i:i + max_length], token_ids[i + 1:i + max_length + 1])
             for i in range(0, token_ids.numel() - max_length, stride)]
    first, second = zip(*pairs)
    return torch.stack(first), torch.stack(second)
"""}


def _renamed(code: str) -> str:
    """Every variable a function binds, given another name, as a copier hiding a copy does."""
    names = {"starts": "begins", "windows": "xs", "shifted": "ys", "logits": "out", "vocab": "v",
             "flat_logits": "lg", "flat_targets": "tg", "count": "n", "losses": "vals", "step": "i",
             "inputs": "xb", "targets": "yb", "batch_loss": "l", "value": "result", "steps": "made",
             "window": "ctx", "scores": "logit", "kth": "cut", "chosen": "nxt", "best": "top_vals",
             "where": "top_idx", "last": "final", "probs": "p", "token": "t", "batches": "bs", "total": "acc"}
    for old, new in names.items():
        code = re.sub(rf"\b{old}\b", new, code)
    return code


def _reordered(code: str) -> str:
    """Independent statements swapped: the two right-hand sides that do not depend on each other."""
    swaps = [("    windows = [token_ids[s:s + max_length] for s in starts]\n"
              "    shifted = [token_ids[s + 1:s + 1 + max_length] for s in starts]\n",
              "    shifted = [token_ids[s + 1:s + 1 + max_length] for s in starts]\n"
              "    windows = [token_ids[s:s + max_length] for s in starts]\n"),
             ("    vocab = logits.shape[-1]\n    flat_logits = logits.reshape(-1, vocab)\n"
              "    flat_targets = target_batch.to(device).reshape(-1)\n",
              "    flat_targets = target_batch.to(device).reshape(-1)\n    vocab = logits.shape[-1]\n"
              "    flat_logits = logits.reshape(-1, vocab)\n"),
             ("    model.train()\n    optimizer.zero_grad()\n", "    optimizer.zero_grad()\n    model.train()\n"),
             ("    steps = 0\n", "    steps = 0\n")]
    for old, new in swaps:
        code = code.replace(old, new)
    return code


def _recommented(code: str) -> str:
    """Comments and blank lines changed, and a docstring added."""
    lines = [line for line in code.splitlines() if not line.strip().startswith("#")]
    out = []
    for line in lines:
        out.append(line)
        if line.startswith("def "):
            out.append('    """My own implementation, written for this assignment."""')
        elif line.strip().startswith(("return", "if")):
            out.append("")
            out.append("    # next part")
    return "\n".join(out) + "\n"


def _each(answers: dict, change) -> dict:
    return {name: change(code) for name, code in answers.items()}


def students() -> dict[str, dict]:
    """Every student's answers (function -> code; the book's for the others), by name."""
    made = {f"book_{i:02d}": {} for i in range(1, 9)}
    made["book_renamed"] = {name: _renamed(code) for name, code in tg.BOOK.items()}  # the book, own names
    made.update({f"style_{name}": answers for name, answers in tg.STYLES.items()})
    made.update(OWN)
    made.update({f"slip_{m.name}": {m.function: m.code} for m in tg.MISTAKES})
    for name in ("forgotten_zero_grad", "temperature_after_softmax"):  # the same slip, by another student
        mistake = next(m for m in tg.MISTAKES if m.name == name)
        made[f"slip_{name}_again"] = {mistake.function: mistake.code}
    made["one_source"] = SOURCE_ONE
    made["one_straight_copy"] = dict(SOURCE_ONE)
    made["one_renamed"] = _each(SOURCE_ONE, _renamed)
    made["one_reordered"] = _each(SOURCE_ONE, _reordered)
    made["one_recommented"] = _each(SOURCE_ONE, _recommented)
    made["one_function_copied"] = {**ONE_FUNCTION_OWN, "generate": SOURCE_ONE["generate"]}
    made["two_source"] = SOURCE_TWO
    made["two_copy_a"] = dict(SOURCE_TWO)
    made["two_copy_b"] = _each(SOURCE_TWO, _renamed)
    made["two_copy_c"] = _each(SOURCE_TWO, _recommented)
    return made


def planted(a: str, b: str) -> bool:
    """Whether two students' notebooks hold a planted copy of one another's (or a common source's) code."""
    return a.split("_")[0] == b.split("_")[0] and a.split("_")[0] in ("one", "two")


def notebooks() -> dict:
    return {name: tg.with_answers(**answers) for name, answers in students().items()}
