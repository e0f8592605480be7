"""What tokens_and_loss's checks need beside the student's code: GPT-2's tokenizer, offline.

Shipped beside the notebook as ``checks_support.py`` and staged into the grader's sandbox; the
engine imports it by that name. Its ``warm_up`` runs once in every warm process (the grader's zygote,
the students' checker), and ``BUILDERS`` makes the tokenizer a call names, ``TOKENIZER``.
"""

import os
from pathlib import Path

TOKENIZER = {"ref": "tiktoken:gpt2", "shown": "tokenizer"}  # an argument: GPT-2's tokenizer, built where the code runs


def tokenizer(encoding: str = "gpt2"):
    """tiktoken's encoding, from the vocabulary files in ``tiktoken_cache/`` (``warm_up`` points tiktoken there)."""
    import tiktoken

    return tiktoken.get_encoding(encoding)


def warm_up(folder: Path) -> None:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(folder) / "tiktoken_cache"))
    tokenizer()


BUILDERS = {"tiktoken": tokenizer}
