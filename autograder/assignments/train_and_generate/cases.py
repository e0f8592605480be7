"""Graded inputs for train_and_generate, and what the reference answers make of them.

Every model is a small GPTModel built from a configuration and a seed, the same way in the grader
(from solutions/gpt2.py) and in the student's process (from the release's gpt2.py), so the kit
knows the exact weights a student's function received. Two configurations (the notebook's
``TINY_CONFIG`` and a deeper, wider one), several seeds, batch shapes, loaders of other lengths,
window sizes with strides below, at and above them, and prompts longer than the context.
"""

from __future__ import annotations

import torch

from autograder.sandbox.inside.checker import inputs
from solutions import train_and_generate as reference
from solutions.gpt2 import GPTModel

TINY = {"vocab_size": 97, "context_length": 16, "emb_dim": 32, "n_heads": 2, "n_layers": 1, "drop_rate": 0.0,
        "qkv_bias": False}
WIDER = {"vocab_size": 97, "context_length": 24, "emb_dim": 48, "n_heads": 4, "n_layers": 2, "drop_rate": 0.0,
         "qkv_bias": True}
STALE_GRAD = 3.0  # what a previous step leaves in .grad when nobody clears it


def model_spec(config: dict, seed: int, train: bool = False, grad: float | None = None) -> dict:
    """The description ``inputs.build_model`` reads: a GPTModel of the release's gpt2.py."""
    return {"module": "gpt2", "class": "GPTModel", "config": config, "seed": seed, "train": train, "grad": grad}


def model(spec: dict) -> GPTModel:
    """The model a spec names, built as the student's process builds it, from the kit's gpt2.py."""
    return inputs.build_model(spec, GPTModel)


def token_ids(length: int, seed: int, vocab: int = 50257) -> torch.Tensor:
    return torch.randint(0, vocab, (length,), generator=torch.Generator().manual_seed(seed))


def batch(shape: tuple[int, int], seed: int, vocab: int = 97) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randint(0, vocab, shape, generator=generator), torch.randint(0, vocab, shape, generator=generator))


def loss(spec: dict, x: torch.Tensor, y: torch.Tensor, batch_loss=reference.calc_loss_batch) -> float:
    with torch.no_grad():
        return float(batch_loss(x, y, model(spec), "cpu"))


def gradients(spec: dict, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gradients backward() on the reference loss leaves on the model's parameters."""
    built = model(spec)
    reference.calc_loss_batch(x, y, built, "cpu").backward()
    return {name: parameter.grad.detach().clone() for name, parameter in built.named_parameters()}


def steps(spec: dict, optimizer: dict, x, y, batch_loss=reference.calc_loss_batch, count: int = 1,
          zero_grad: bool = True, backward: bool = True) -> tuple[list[float], dict[str, torch.Tensor]]:
    """The loss before each of ``count`` optimizer steps in a row on this batch, and the parameters
    after the last; the flags make a step's known mistakes."""
    built = model(spec)
    opt = inputs.build_optimizer(optimizer, [built])
    losses = []
    for _ in range(count):
        if zero_grad:
            opt.zero_grad()
        value = batch_loss(x, y, built, "cpu")
        losses.append(float(value.detach()))
        if backward:
            value.backward()
        opt.step()
    return losses, dict(inputs.parameters_of(built))


def step(spec: dict, optimizer: dict, x, y, batch_loss=reference.calc_loss_batch, count: int = 1,
         **mistake: bool) -> dict[str, torch.Tensor]:
    """The parameters after ``count`` steps (see ``steps``)."""
    return steps(spec, optimizer, x, y, batch_loss, count, **mistake)[1]


def before(spec: dict) -> dict[str, torch.Tensor]:
    return dict(inputs.parameters_of(model(spec)))


def greedy(spec: dict, prompt: torch.Tensor, new: int, context: int, eos: int | None = None,
           crop: bool = True) -> torch.Tensor:
    built = model(spec)
    return reference.generate(built, prompt, new, context if crop else 10 ** 9, eos_id=eos)


def least_likely(spec: dict, prompt: torch.Tensor, new: int, context: int) -> torch.Tensor:
    """What generation with top_k=1 gives when the smallest logit is kept instead of the largest."""
    built, idx = model(spec), prompt
    with torch.no_grad():
        for _ in range(new):
            idx = torch.cat([idx, built(idx[:, -context:])[:, -1].argmin(dim=-1, keepdim=True)], dim=1)
    return idx


CONFIGS = {"tiny": TINY, "wider": WIDER}
