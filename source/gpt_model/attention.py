"""The causal multi-head attention of chapter 3, which the transformer block you write uses: given,
as the book's chapter 4 imports it from chapter 3.

Its parameter and buffer names are the book's, so the blocks of a GPT built with it load the book's
weights.
"""

import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    """Causal self-attention: each position attends to itself and earlier positions only."""

    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0, "d_out must be divisible by num_heads"
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        # 1 above the diagonal marks the future positions to hide. Persistent, as in the book,
        # so that its state_dict (and saved checkpoints) include it.
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, num_tokens, _ = x.shape  # (B, T, C)
        queries = self.W_query(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        keys = self.W_key(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)
        values = self.W_value(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hs)

        scores = queries @ keys.transpose(2, 3)  # (B, nh, T, T)
        future = self.mask.bool()[:num_tokens, :num_tokens]
        scores.masked_fill_(future, -torch.inf)
        weights = torch.softmax(scores / self.head_dim**0.5, dim=-1)
        weights = self.dropout(weights)

        context = (weights @ values).transpose(1, 2)  # (B, T, nh, hs)
        context = context.contiguous().view(b, num_tokens, self.d_out)  # (B, T, C)
        return self.out_proj(context)
