"""Known mistakes in gpt_model and the hint each one earns, in one table.

A mistake is recognised from what the student's class did with the grader's inputs, never from the
code: each hint names the ``forms`` mistakes whose outcome it is (computed on the call's own inputs),
or a matcher of its own (an error's text, a dropout's pattern). The corpus test proves every hint
fires on its mistake and on no correct submission.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    name: str
    function: str
    text: str
    forms: tuple[str, ...] = ()  # the ``forms.MISTAKES`` whose outcome this is; none: matched otherwise


HINTS = (
    Hint("unbiased_variance", "LayerNorm",
         "Use the biased variance, `x.var(dim=-1, keepdim=True, unbiased=False)`: layer normalisation divides by "
         "the number of values (as GPT-2 and the book do), not by one less.",
         ("unbiased_variance",)),
    Hint("eps_misplaced", "LayerNorm",
         "Add `eps` to the variance inside the square root, `torch.sqrt(var + self.eps)`: it keeps a row whose "
         "values are all nearly equal from being divided by almost zero.",
         ("eps_on_the_std", "no_eps")),
    Hint("exact_gelu", "GELU",
         "Use GPT-2's tanh approximation, `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`, as the "
         "notebook asks: the exact GELU (with erf, `torch.nn.functional.gelu(x)`) differs from it by up to 5e-4.",
         ("exact_gelu",)),
    Hint("post_layer_norm", "TransformerBlock",
         "Normalise *before* each half, inside the branch: `x = x + drop(att(norm1(x)))`, then "
         "`x = x + drop(ff(norm2(x)))`. Normalising after adding the shortcut (post-LayerNorm, the original "
         "Transformer's order) is not GPT-2's block.",
         ("post_layer_norm",)),
    Hint("missing_shortcut", "TransformerBlock",
         "Add each half's input back to its output: `x = x + ...` around the attention and around the "
         "feed-forward network. The shortcuts are what let gradients reach the first layers.",
         ("no_shortcuts", "no_attention_shortcut", "no_feed_forward_shortcut")),
    Hint("dropout_misplaced", "TransformerBlock",
         "Apply the shortcut dropout to each branch's output, before adding it to the shortcut: "
         "`x = x + self.drop_shortcut(self.ff(self.norm2(x)))`. Not to the sum, and not left out."),
    Hint("positions_of_the_wrong_length", "GPTModel",
         "Index the position embeddings by the sequence's own length, `self.pos_emb(torch.arange(seq_len))` with "
         "`seq_len = in_idx.shape[1]`: a sequence may be shorter than `context_length`."),
    Hint("out_head_with_bias", "GPTModel",
         "The output head has no bias: `nn.Linear(cfg[\"emb_dim\"], cfg[\"vocab_size\"], bias=False)`, as in GPT-2."),
    Hint("final_norm_forgotten", "GPTModel",
         "Normalise the last block's output with `self.final_norm` before the output head.",
         ("no_final_norm",)),
)

POSITIONS_RAISED = {"raised": "must match the size of tensor"}
OUT_HEAD_BIAS = {"raised": "`out_head.bias`"}


def for_function(function: str) -> list[Hint]:
    return [hint for hint in HINTS if hint.function == function]


def named(name: str) -> Hint:
    return next(hint for hint in HINTS if hint.name == name)
