"""Reference answers for the train_and_generate assignment.

Written as chapter 5 of "Build a Large Language Model (From Scratch)" writes them, so the book's own
code is, by construction, what earns full marks: windows cut with a stride, the loss of a batch and
of a loader, one optimizer step, and generation with temperature, top-k and an end token. The grader
computes expected values with these in its own process; they never reach a student.
"""

import torch


def input_target_pairs(token_ids, max_length, stride):
    starts = range(0, len(token_ids) - max_length, stride)
    inputs = torch.stack([token_ids[i:i + max_length] for i in starts])
    targets = torch.stack([token_ids[i + 1:i + max_length + 1] for i in starts])
    return inputs, targets


def calc_loss_batch(input_batch, target_batch, model, device):
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())


def calc_loss_loader(data_loader, model, device, num_batches=None):
    if len(data_loader) == 0:
        return float("nan")
    num_batches = len(data_loader) if num_batches is None else min(num_batches, len(data_loader))
    total_loss = 0.0
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i >= num_batches:
            break
        total_loss += calc_loss_batch(input_batch, target_batch, model, device).item()
    return total_loss / num_batches


def train_step(model, optimizer, input_batch, target_batch, device):
    optimizer.zero_grad()  # the gradients of the previous batch must not leak into this step
    loss = calc_loss_batch(input_batch, target_batch, model, device)
    loss.backward()
    optimizer.step()
    return loss.item()


def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(idx[:, -context_size:])[:, -1, :]  # (1, vocab): the last position only
        if top_k is not None:
            top_logits, _ = torch.topk(logits, top_k)
            logits = torch.where(logits < top_logits[:, -1:], torch.tensor(float("-inf")), logits)
        if temperature > 0.0:
            probs = torch.softmax(logits / temperature, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        if eos_id is not None and idx_next.item() == eos_id:
            break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx
