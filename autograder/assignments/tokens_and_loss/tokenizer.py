"""GPT-2's tokenizer in the grader's process, offline: tiktoken reads the vocabulary files the kit ships."""

from __future__ import annotations

import os
from pathlib import Path

import tiktoken

CACHE_DIR = Path(__file__).resolve().parents[2] / "tiktoken_cache"


def gpt2() -> tiktoken.Encoding:
    """tiktoken's "gpt2" encoding, built from ``CACHE_DIR`` instead of the network.

    tiktoken keeps one Encoding per name for the life of the process, so the environment
    variable is only needed around the first call.
    """
    saved = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(CACHE_DIR)
    try:
        return tiktoken.get_encoding("gpt2")
    finally:
        if saved is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved
