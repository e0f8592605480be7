"""Known mistakes in attention and the hint each one earns, in one table.

A mistake is recognised from what the student's function or module did with the grader's inputs,
never from the student's code: each hint names the ``forms`` mistakes that give its outcome, and
a call's matcher is that outcome computed on the call's own inputs. The corpus test proves every
hint fires on its mistake and on no correct submission.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("SelfAttention", "CausalAttention", "MultiHeadAttention")
CAUSAL = ("causal_attention_weights", "CausalAttention", "MultiHeadAttention")


@dataclass(frozen=True)
class Hint:
    name: str
    functions: tuple[str, ...]
    text: str
    forms: tuple[str, ...] = ()  # the ``forms`` mistakes whose outcome this is; none: matched otherwise


HINTS = (
    Hint("not_scaled_by_sqrt_d_k", ("scaled_attention_scores", *CLASSES),
         "Divide the dot products by the square root of the key dimension, `keys.shape[-1] ** 0.5`: not by "
         "`d_k` itself, and not leaving them unscaled. Without it their spread grows with `d_k`, and the softmax "
         "turns nearly one-hot.",
         ("not_scaled", "scaled_by_d_k")),
    Hint("softmax_over_wrong_dim", ("causal_attention_weights", *CLASSES),
         "Take the softmax over the last dimension, the keys (`dim=-1`): each query's weights over the positions "
         "it looks at must sum to 1.",
         ("softmax_dim",)),
    Hint("mask_after_softmax", CAUSAL,
         "Mask before the softmax, filling the future's scores with `-inf`: zeroing weights after the softmax "
         "leaves rows that no longer sum to 1.",
         ("mask_after_softmax",)),
    Hint("diagonal_masked", CAUSAL,
         "A position attends to itself too: mask only the positions after it, `torch.triu(..., diagonal=1)`. "
         "With the diagonal masked, the first position has nothing left to attend to, and its weights become nan.",
         ("diagonal_masked",)),
    Hint("masked_with_zero", CAUSAL,
         "Fill the masked scores with `-inf`, not 0: a score of 0 still gets weight exp(0) = 1 in the softmax, "
         "so the future leaks in; exp(-inf) = 0 hides it.",
         ("masked_with_zero",)),
    Hint("wrong_diagonal", CAUSAL,
         "The mask hides exactly the positions after each one, `torch.triu(torch.ones(n, n), diagonal=1)`: with "
         "`diagonal=2` each position still sees the next token.",
         ("wrong_diagonal",)),
    Hint("heads_scrambled", ("MultiHeadAttention",),
         "Split the heads with `.view(b, n, num_heads, head_dim).transpose(1, 2)`, and merge them back with "
         "`.transpose(1, 2)` first, then `.contiguous().view(b, n, d_out)`: a `view` alone regroups the numbers "
         "in memory order and mixes positions and heads.",
         ("heads_merged_before_transpose", "heads_split_without_transpose")),
    Hint("no_out_proj", ("MultiHeadAttention",),
         "Pass the merged heads through the output projection, `self.out_proj(context_vec)`, before returning.",
         ("no_out_proj",)),
    Hint("dropout_misplaced", ("CausalAttention", "MultiHeadAttention"),
         "Apply dropout to the attention weights, `attn_weights = self.dropout(attn_weights)`, after the softmax "
         "and before they weigh the values: not to the values, and not to the output."),
    Hint("mask_not_cut", ("CausalAttention", "MultiHeadAttention"),
         "Cut the mask to the sequence: the buffer is `context_length` square, and a sequence may be shorter, so "
         "use `self.mask.bool()[:num_tokens, :num_tokens]` with `num_tokens = x.shape[1]`."),
)

MASK_NOT_CUT = {"raised": "must match the size of tensor"}  # masked_fill with the whole buffer


def for_function(function: str) -> list[Hint]:
    return [hint for hint in HINTS if function in hint.functions]
