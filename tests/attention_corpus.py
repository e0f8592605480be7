"""The corpus of attention submissions: the book's code, three other correct styles, and one
realistic mistake for every hint (each costing its own function alone).

The book's classes are taken from the book's own package (``llms_from_scratch.ch03``, installed
for the tests only), so the corpus proves that the book's code, as published, earns full marks.
Notebooks are built from the committed release notebook by filling its answer cells.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import nbformat
from llms_from_scratch import ch03

from tests import corpus

RELEASE = corpus.ROOT / "release" / "attention" / "attention.ipynb"
FUNCTIONS = ("scaled_attention_scores", "causal_attention_weights", "SelfAttention", "CausalAttention",
             "MultiHeadAttention")

# The book's chapter 3: its classes as published (SelfAttention_v2 under the contract's name), and its
# inline computations of scores and weights written as the two functions.
BOOK = {
    "scaled_attention_scores": '''
def scaled_attention_scores(queries, keys):
    attn_scores = queries @ keys.transpose(-2, -1)
    return attn_scores / keys.shape[-1]**0.5
''',
    "causal_attention_weights": '''
def causal_attention_weights(scores):
    context_length = scores.shape[-1]
    mask = torch.triu(torch.ones(context_length, context_length), diagonal=1)
    masked = scores.masked_fill(mask.bool(), -torch.inf)
    return torch.softmax(masked, dim=-1)
''',
    "SelfAttention": inspect.getsource(ch03.SelfAttention_v2).replace("class SelfAttention_v2(",
                                                                      "class SelfAttention("),
    "CausalAttention": inspect.getsource(ch03.CausalAttention),
    "MultiHeadAttention": inspect.getsource(ch03.MultiHeadAttention),
}

# Other correct answers, in styles students write: each must earn full marks.
STYLES = {
    # The classes call the two functions; the weights renormalised after a mask, as the book first shows.
    "calls_its_functions": {
        "causal_attention_weights": '''
def causal_attention_weights(scores):
    n = scores.shape[-1]
    weights = torch.softmax(scores, dim=-1) * torch.tril(torch.ones(n, n))
    return weights / weights.sum(dim=-1, keepdim=True)
''',
        "SelfAttention": '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out, qkv_bias=False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)

    def forward(self, x):
        weights = torch.softmax(scaled_attention_scores(self.W_query(x), self.W_key(x)), dim=-1)
        return weights @ self.W_value(x)
''',
        "CausalAttention": '''
class CausalAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, qkv_bias=False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        scores = scaled_attention_scores(self.W_query(x), self.W_key(x))
        return self.dropout(causal_attention_weights(scores)) @ self.W_value(x)
''',
        "MultiHeadAttention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        if d_out % num_heads != 0:
            raise ValueError("d_out must be divisible by num_heads")
        self.num_heads, self.head_dim = num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def split(self, t):
        b, n, _ = t.shape
        return t.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, n, d_in = x.shape
        q, k, v = self.split(self.W_query(x)), self.split(self.W_key(x)), self.split(self.W_value(x))
        weights = self.dropout(causal_attention_weights(scaled_attention_scores(q, k)))
        context = (weights @ v).transpose(1, 2).contiguous().view(b, n, -1)
        return self.out_proj(context)
''',
    },
    # PyTorch's fused attention where it fits the contract (it applies its own dropout to the weights).
    "scaled_dot_product_attention": {
        "causal_attention_weights": '''
def causal_attention_weights(scores):
    n = scores.shape[-1]
    allowed = torch.ones(n, n, dtype=torch.bool).tril()
    return torch.where(allowed, scores, float("-inf")).softmax(dim=-1)
''',
        "CausalAttention": '''
class CausalAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, qkv_bias=False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        p = self.dropout.p if self.training else 0.0
        return nn.functional.scaled_dot_product_attention(
            self.W_query(x), self.W_key(x), self.W_value(x), dropout_p=p, is_causal=True)
''',
        "MultiHeadAttention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0, "d_out must be divisible by num_heads"
        self.num_heads = num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, n, d_out = x.shape[0], x.shape[1], self.out_proj.in_features
        q, k, v = (w(x).unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
                   for w in (self.W_query, self.W_key, self.W_value))
        p = self.dropout.p if self.training else 0.0
        context = nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.out_proj(context.transpose(1, 2).reshape(b, n, d_out))
''',
    },
    # Einstein summation, and the mask's buffer used through torch.where.
    "einsum": {
        "scaled_attention_scores": '''
import math

def scaled_attention_scores(queries, keys):
    return torch.einsum("...qd,...kd->...qk", queries, keys) / math.sqrt(keys.shape[-1])
''',
        "SelfAttention": '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out, qkv_bias=False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)

    def forward(self, x):
        q, k, v = self.W_query(x), self.W_key(x), self.W_value(x)
        weights = torch.einsum("qd,kd->qk", q, k).div(k.shape[-1] ** 0.5).softmax(-1)
        return torch.einsum("qk,kd->qd", weights, v)
''',
        "MultiHeadAttention": '''
class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0
        self.h = num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = (w(x).reshape(b, n, self.h, -1) for w in (self.W_query, self.W_key, self.W_value))
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5
        scores = torch.where(self.mask[:n, :n].bool(), float("-inf"), scores)
        weights = self.dropout(scores.softmax(dim=-1))
        context = torch.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, n, -1)
        return self.out_proj(context)
''',
    },
}


@dataclass(frozen=True)
class Mistake:
    """A wrong answer for one function or class, and the hint it must earn."""

    name: str
    function: str
    code: str
    hint: str
    style: str | None = None  # the other answers of the notebook: the book's, or this style's


def _replaced(code: str, old: str, new: str) -> str:
    assert old in code, old
    return code.replace(old, new)


def _book(function: str, old: str, new: str) -> str:
    return _replaced(BOOK[function], old, new)


def _calling(function: str, old: str, new: str) -> str:
    """A mistake in one of the functions of the style whose classes call them: the stand-ins must keep
    the classes' points."""
    return _replaced(STYLES["calls_its_functions"].get(function, BOOK[function]), old, new)


MISTAKES = (
    Mistake("scores_not_scaled", "scaled_attention_scores",
            _book("scaled_attention_scores", "return attn_scores / keys.shape[-1]**0.5", "return attn_scores"),
            "not_scaled_by_sqrt_d_k", style="calls_its_functions"),
    Mistake("scaled_by_d_k", "SelfAttention",
            _book("SelfAttention", "attn_scores / keys.shape[-1]**0.5", "attn_scores / keys.shape[-1]"),
            "not_scaled_by_sqrt_d_k"),
    Mistake("softmax_over_queries", "causal_attention_weights",
            _book("causal_attention_weights", "torch.softmax(masked, dim=-1)", "torch.softmax(masked, dim=0)"),
            "softmax_over_wrong_dim"),
    Mistake("mask_after_softmax", "causal_attention_weights",
            _calling("causal_attention_weights", "    return weights / weights.sum(dim=-1, keepdim=True)\n",
                     "    return weights\n"),
            "mask_after_softmax", style="calls_its_functions"),
    Mistake("diagonal_masked", "CausalAttention",
            _book("CausalAttention", "torch.ones(context_length, context_length), diagonal=1)",
                  "torch.ones(context_length, context_length), diagonal=0)"),
            "diagonal_masked"),
    Mistake("masked_with_zero", "MultiHeadAttention",
            _book("MultiHeadAttention", "attn_scores.masked_fill_(mask_bool, -torch.inf)",
                  "attn_scores.masked_fill_(mask_bool, 0)"),
            "masked_with_zero"),
    Mistake("triu_of_the_wrong_diagonal", "MultiHeadAttention",
            _book("MultiHeadAttention", "torch.ones(context_length, context_length), diagonal=1)",
                  "torch.ones(context_length, context_length), diagonal=2)"),
            "wrong_diagonal"),
    Mistake("heads_merged_before_transpose", "MultiHeadAttention",
            _book("MultiHeadAttention", "context_vec = (attn_weights @ values).transpose(1, 2)",
                  "context_vec = (attn_weights @ values)"),
            "heads_scrambled"),
    Mistake("output_projection_forgotten", "MultiHeadAttention",
            _book("MultiHeadAttention", "context_vec = self.out_proj(context_vec)  # optional projection", ""),
            "no_out_proj"),
    Mistake("dropout_on_the_values", "CausalAttention",
            _book("CausalAttention", "        attn_weights = self.dropout(attn_weights)  # New\n\n"
                                     "        context_vec = attn_weights @ values",
                  "        context_vec = attn_weights @ self.dropout(values)"),
            "dropout_misplaced"),
    Mistake("dropout_on_the_output", "MultiHeadAttention",
            _book("MultiHeadAttention", "        attn_weights = self.dropout(attn_weights)\n", "")
            .replace("return context_vec", "return self.dropout(context_vec)"),
            "dropout_misplaced"),
    Mistake("mask_not_cut", "CausalAttention",
            _book("CausalAttention", "self.mask.bool()[:num_tokens, :num_tokens]", "self.mask.bool()"),
            "mask_not_cut"),
)


def with_answers(**changes: str) -> nbformat.NotebookNode:
    """The release notebook with the book's answers, and ``changes`` (function name -> code)."""
    return corpus.build({**BOOK, **changes}, release=RELEASE)


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """Every corpus submission by name: the book, the styles, the mistakes, the untouched stub."""
    made = {"book": with_answers(), "stub": nbformat.read(RELEASE, as_version=4)}
    made.update({name: with_answers(**answers) for name, answers in STYLES.items()})
    made.update({m.name: with_answers(**{**STYLES.get(m.style, {}), m.function: m.code}) for m in MISTAKES})
    return made


# ------------------------------------------------------------------ notebooks that probe the grader
# Each tries to fool a property check or the stand-ins, or to be wronged by them. ``lost``: the
# functions it must lose; ``says``: words the failing message must hold; ``why``: why that is fair.


@dataclass(frozen=True)
class Probe:
    name: str
    answers: dict
    lost: tuple[str, ...]
    why: str
    says: str = ""

    def notebook(self) -> nbformat.NotebookNode:
        return with_answers(**self.answers)


PROBES = (
    Probe("dropout_ignores_eval_mode",
          {"CausalAttention": _book("CausalAttention", "attn_weights = self.dropout(attn_weights)",
                                    "attn_weights = nn.functional.dropout(attn_weights, self.dropout.p, "
                                    "training=True)")},
          ("CausalAttention",), "dropout in eval mode makes two calls differ: eval mode must be deterministic",
          "2 calls in a row, in eval mode"),
    Probe("keeps_with_probability_p",
          {"MultiHeadAttention": _book("MultiHeadAttention", "attn_weights = self.dropout(attn_weights)",
                                       "attn_weights = attn_weights * (torch.rand_like(attn_weights) < self.dropout.p) "
                                       "/ (1 - self.dropout.p) if self.training else attn_weights")},
          ("MultiHeadAttention",), "keeping a share p of the weights is not dropping a share p", "were dropped"),
    Probe("mask_not_persistent",
          {"MultiHeadAttention": _book("MultiHeadAttention", "torch.triu(torch.ones(context_length, context_length), "
                                       "diagonal=1))", "torch.triu(torch.ones(context_length, context_length), "
                                       "diagonal=1), persistent=False)")},
          ("MultiHeadAttention",), "the book's state dict holds the mask: a module without it cannot load it",
          "`mask`"),
    Probe("weights_are_the_kit_s_stand_in",
          {**STYLES["calls_its_functions"],
           "causal_attention_weights": "from checks_support import probe_weights as causal_attention_weights"},
          ("causal_attention_weights",),
          "the stand-in is not the answer; the classes that call it are judged with it, as they would be with "
          "any failed causal_attention_weights, and their own work is right"),
)
