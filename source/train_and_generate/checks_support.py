"""What train_and_generate's checks need beside the student's code: the tokenizer's files for the
notebook's setup cell, and the stand-in for ``calc_loss_batch``.

Shipped beside the notebook as ``checks_support.py`` and staged into the grader's sandbox; the
engine imports it by that name.
"""

import os
from pathlib import Path


def warm_up(folder: Path) -> None:
    """The notebook's setup reads its story with GPT-2's tokenizer: load the vocabulary once."""
    import tiktoken

    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(folder) / "tiktoken_cache"))
    tiktoken.get_encoding("gpt2")


def probe_loss(input_batch, target_batch, model, device):
    """A stand-in for a student's batch loss while a function that calls it is checked.

    ``train_step`` and ``calc_loss_loader`` call ``calc_loss_batch``; judged with the student's own,
    a mistake there would cost them too. So while they run, the check puts this in its place: a
    loss of the model's output that every parameter's gradient depends on, and not the answer
    (it is not a cross-entropy), so nothing of the reference reaches the student's process. A
    function that computes its loss itself is judged against the real loss instead.
    """
    logits = model(input_batch.to(device))
    return (logits ** 2).mean() / 2 + 0.0 * target_batch.to(device).sum()


STAND_INS = {"probe_loss": probe_loss}
