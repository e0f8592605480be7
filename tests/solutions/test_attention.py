"""The reference attention: the book's numbers, the book's state dicts, and the same outputs as the
book's own modules (``llms_from_scratch.ch03``) and as the checks' functional forms."""

import pytest
import torch
from llms_from_scratch import ch03

from autograder.assignments.attention import calls, forms, hints
from solutions import attention

BOOKS = {"SelfAttention": ch03.SelfAttention_v2, "CausalAttention": ch03.CausalAttention,
         "MultiHeadAttention": ch03.MultiHeadAttention}
CONFIG = {"d_in": 4, "d_out": 8, "context_length": 7, "dropout": 0.0, "num_heads": 2, "qkv_bias": True}


def test_the_book_s_numbers():
    torch.manual_seed(789)
    assert torch.allclose(attention.SelfAttention(3, 2)(calls.BOOK_INPUTS)[0], torch.tensor([-0.0739, 0.0713]),
                          atol=1e-4)
    torch.manual_seed(123)
    batch = torch.stack([calls.BOOK_INPUTS, calls.BOOK_INPUTS])
    out = attention.MultiHeadAttention(3, 2, 6, 0.0, num_heads=2)(batch)
    assert torch.allclose(out[0, 0], torch.tensor([0.3190, 0.4858]), atol=1e-4)


@pytest.mark.parametrize("kind", BOOKS)
def test_the_book_s_state_dict_loads_strictly_and_gives_the_same_outputs(kind):
    args = calls.constructor_args(kind, CONFIG)
    torch.manual_seed(0)
    book = BOOKS[kind](*args).eval()
    ours = calls.CLASSES[kind](*args).eval()
    ours.load_state_dict(book.state_dict(), strict=True)
    x = calls.randn((6, 4) if kind == "SelfAttention" else (2, 6, 4), 1)
    with torch.no_grad():
        assert torch.allclose(ours(x), book(x), atol=1e-6)
        state = {name: tensor.clone() for name, tensor in book.state_dict().items()}
        assert torch.allclose(forms.output(kind, state, x, CONFIG["num_heads"]), book(x), atol=1e-6)


def test_the_two_functions_are_the_book_s_inline_computations():
    scores = calls.randn((2, 5, 5), 3)
    mask = torch.triu(torch.ones(5, 5), diagonal=1).bool()
    assert torch.allclose(attention.causal_attention_weights(scores),
                          torch.softmax(scores.masked_fill(mask, -torch.inf), dim=-1))
    q, k = calls.randn((3, 8), 4), calls.randn((5, 8), 5)
    assert torch.allclose(attention.scaled_attention_scores(q, k), q @ k.T / 8 ** 0.5)


@pytest.mark.parametrize("mistake", sorted({form for hint in hints.HINTS for form in hint.forms}))
def test_every_known_mistake_changes_the_multi_head_output(mistake):
    """A hint's matcher must never match a correct answer: each mistake's outcome differs from the right one."""
    kind = "MultiHeadAttention"
    state = calls.reference_state(kind, CONFIG, 3)
    x = calls.randn((2, 6, 4), 6)
    right, wrong = forms.output(kind, state, x, 2), forms.output(kind, state, x, 2, mistake=mistake)
    assert not torch.allclose(right, wrong.nan_to_num(), rtol=calls.RTOL, atol=calls.ATOL)
