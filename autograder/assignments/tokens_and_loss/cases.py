"""Graded inputs for tokens_and_loss, all made in the grader's process from the solution model.

The model is the untrained GPT-2 of the notebook (124M configuration, context 256), built after
a fixed seed, so every input and every reference value is the same on every run. Besides the
book's 2 x 3 batch, the cases vary the model seed, the batch size (1 to 8) and the sequence
length (1 to 64), so answers hard-coded to the example's shape fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from autograder.warmup.tensor_cache import cached
from solutions.gpt2 import GPT_CONFIG_124M, GPTModel

CONFIG = {**GPT_CONFIG_124M, "context_length": 256}
BOOK_SEED = 123
BOOK_INPUTS = [[16833, 3626, 6100], [40, 1107, 588]]  # "every effort moves", "I really like"
BOOK_TARGETS = [[3626, 6100, 345], [1107, 588, 11311]]  # " effort moves you", " really like chocolate"
BOOK_TARGET_PROBAS_ROW0 = [7.4540e-05, 3.1061e-05, 1.1563e-05]
BOOK_LOSS = 10.7940
BOOK_PERPLEXITY = 48725.8203

# Texts for the tokenizer functions: special token, leading and repeated spaces, tabs, accents,
# CJK, emoji. Each encodes to at least two tokens.
TEXTS = (
    "Hello, world!<|endoftext|>A new document",
    "   three leading spaces\tand a tab",
    " naïve café, déjà vu",
    "日本語のテキスト 🙂 and emoji",
)


@dataclass(frozen=True)
class Case:
    """A batch of random token ids of shape (batch, seq), run through the model built after ``model_seed``."""

    model_seed: int
    batch: int
    seq: int
    data_seed: int

    def __str__(self) -> str:
        return f"{self.batch}x{self.seq}-seed{self.model_seed}"


CASES = (
    Case(model_seed=123, batch=1, seq=1, data_seed=1),
    Case(model_seed=2024, batch=8, seq=4, data_seed=2),
    Case(model_seed=123, batch=1, seq=64, data_seed=3),
    Case(model_seed=2024, batch=3, seq=17, data_seed=4),
)


@cache
def model(seed: int) -> GPTModel:
    torch.manual_seed(seed)
    built = GPTModel(CONFIG)
    built.eval()
    return built


@cached
def book_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """The notebook's logits and targets for "every effort moves" / "I really like"."""
    with torch.no_grad():
        logits = model(BOOK_SEED)(torch.tensor(BOOK_INPUTS))
    return logits, torch.tensor(BOOK_TARGETS)


@cached
def batch(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, targets) for a case; targets are the inputs shifted by one, as in training."""
    generator = torch.Generator().manual_seed(case.data_seed)
    ids = torch.randint(0, CONFIG["vocab_size"], (case.batch, case.seq + 1), generator=generator)
    with torch.no_grad():
        logits = model(case.model_seed)(ids[:, :-1])
    return logits, ids[:, 1:]



def warm() -> None:
    """Compute every graded input once (a batch's parent calls this), then free the models."""
    book_batch()
    for case in CASES:
        batch(case)
    model.cache_clear()
