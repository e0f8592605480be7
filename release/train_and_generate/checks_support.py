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


def probe_loss(input_batch, target_batch, model, device=None, *_, **__):
    """A stand-in for a student's batch loss while a function that calls it is checked.

    ``train_step`` and ``calc_loss_loader`` call ``calc_loss_batch``; judged with a student's own
    that failed its checks, the mistake there would cost them too. So while they run, the check
    puts this in its place: a loss of the model's output that every parameter's gradient depends
    on, and not the answer (it is not a cross-entropy), so nothing of the reference reaches the
    student's process. It takes what a caller may pass (a device by keyword, or none).
    """
    if device is not None:
        input_batch, target_batch = (batch.to(device) for batch in (input_batch, target_batch))
    output = model(input_batch)
    return (output ** 2).mean() / 2 + 0.0 * target_batch.sum()


STAND_INS = {"probe_loss": probe_loss}
