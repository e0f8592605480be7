"""Reference answers of the attention assignment (the book's chapter 3): scaled dot-product scores,
causal weights, and self-attention from one head to many.

The classes have the book's parameter and buffer names and shapes, so the book's state dicts load
into them strictly, and theirs into a correct student's module. They compute their scores and
weights with this module's two functions, looked up when called, so that the checks can compute
what a correct module gives while the kit stands in for a student's function that failed.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def scaled_attention_scores(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Dot products of every query with every key, divided by sqrt(d_k) so that their spread, and the
    softmax's sharpness, do not grow with the key dimension."""
    return queries @ keys.transpose(-2, -1) / math.sqrt(keys.shape[-1])


def causal_attention_weights(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the keys with every later position masked to -inf first, so that each row sums
    to 1 over the positions at or before its own."""
    n = scores.shape[-1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool, device=scores.device), diagonal=1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)


class SelfAttention(nn.Module):
    """One sequence of ``n`` tokens attends to itself, with trainable query, key and value projections."""

    def __init__(self, d_in: int, d_out: int, qkv_bias: bool = False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = scaled_attention_scores(self.W_query(x), self.W_key(x))
        return torch.softmax(scores, dim=-1) @ self.W_value(x)


class CausalAttention(nn.Module):
    """Self-attention over a batch where no token sees the ones after it, with dropout on the weights."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float, qkv_bias: bool = False):
        super().__init__()
        self.d_out = d_out
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = causal_attention_weights(scaled_attention_scores(self.W_query(x), self.W_key(x)))
        return self.dropout(weights) @ self.W_value(x)


class MultiHeadAttention(nn.Module):
    """``num_heads`` causal heads of ``d_out / num_heads`` dimensions each, computed at once by splitting
    the projections, then merged and mixed by an output projection."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float, num_heads: int,
                 qkv_bias: bool = False):
        super().__init__()
        if d_out % num_heads:
            raise ValueError(f"d_out ({d_out}) must be divisible by num_heads ({num_heads})")
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(b, n, d_out) -> (b, num_heads, n, head_dim): each head's slice of the projection."""
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        queries, keys, values = (self._heads(w(x)) for w in (self.W_query, self.W_key, self.W_value))
        weights = self.dropout(causal_attention_weights(scaled_attention_scores(queries, keys)))
        context = (weights @ values).transpose(1, 2).contiguous().view(b, n, self.d_out)
        return self.out_proj(context)
