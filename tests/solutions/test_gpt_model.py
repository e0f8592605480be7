"""The chapter 4 reference (``solutions/gpt2.py``) against the book's own modules, the attention
module the gpt_model release ships, and the stand-ins, which must load the same state dicts."""

import inspect
import sys

import pytest
import torch
from llms_from_scratch import ch04

from autograder.assignments.gpt_model import calls, forms, support
from solutions import gpt2

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
CFG = calls.config(vocab=40, context=8, emb=12, heads=3, layers=2, bias=True)


@pytest.mark.parametrize("kind", ["LayerNorm", "GELU", "FeedForward", "TransformerBlock", "GPTModel"])
def test_the_book_s_modules_load_the_reference_state_and_agree(kind):
    args = forms.constructor_args(kind, CFG, 12)
    state = calls.reference_state(kind, args, 3) if kind != "GELU" else {}
    book = getattr(ch04, kind)(*args).eval()
    book.load_state_dict(state, strict=True)
    x = calls.token_ids((2, 5), 1, 40) if kind == "GPTModel" else calls.randn((2, 5, 12), 1)
    with torch.no_grad():
        assert torch.allclose(book(x), forms.output(kind, args, state or None, x), atol=1e-5)


def test_the_released_attention_module_is_the_reference_s(tmp_path):
    """release/gpt_model/attention.py holds the reference's MultiHeadAttention, word for word."""
    sys.path.insert(0, str(ROOT / "release" / "gpt_model"))
    try:
        import attention
    finally:
        sys.path.pop(0)
    assert inspect.getsource(attention.MultiHeadAttention) == inspect.getsource(gpt2.MultiHeadAttention)


@pytest.mark.parametrize("kind", ["LayerNorm", "FeedForward", "TransformerBlock"])
def test_each_stand_in_loads_the_reference_state_strictly_and_is_not_the_answer(kind):
    args = forms.constructor_args(kind, CFG, 12)
    state = calls.reference_state(kind, args, 4)
    probe = getattr(support, f"Probe{kind}")(*args).eval()
    probe.load_state_dict(state, strict=True)
    x = calls.randn((2, 5, 12), 2)
    with torch.no_grad():
        assert not torch.allclose(probe(x), forms.output(kind, args, state, x), atol=1e-3)
