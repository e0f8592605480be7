"""The reference model's parts, right, in each known mistake's way, and with the kit's stand-ins.

``built`` makes any class of ``solutions/gpt2.py`` with some of its parts replaced: by a mistake's
version (for the hints' matchers) or by the stand-ins (what a correct class computes while a failed
part of the student's stands in). The reference looks its parts up by name when it builds them, so
replacing the names for the duration of a construction is enough.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from solutions import gpt2


class UnbiasedLayerNorm(gpt2.LayerNorm):
    def forward(self, x):
        mean, var = x.mean(dim=-1, keepdim=True), x.var(dim=-1, keepdim=True, unbiased=True)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class EpsOnTheStdLayerNorm(gpt2.LayerNorm):
    def forward(self, x):
        mean, var = x.mean(dim=-1, keepdim=True), x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / (torch.sqrt(var) + self.eps) + self.shift


class NoEpsLayerNorm(gpt2.LayerNorm):
    def forward(self, x):
        mean, var = x.mean(dim=-1, keepdim=True), x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / torch.sqrt(var) + self.shift


class ExactGELU(nn.Module):
    def forward(self, x):
        return torch.nn.functional.gelu(x)


class PostLayerNormBlock(gpt2.TransformerBlock):
    def forward(self, x):
        x = self.norm1(x + self.drop_shortcut(self.att(x)))
        return self.norm2(x + self.drop_shortcut(self.ff(x)))


class NoShortcutBlock(gpt2.TransformerBlock):
    around = (False, False)  # whether each half keeps its shortcut

    def forward(self, x):
        branch = self.drop_shortcut(self.att(self.norm1(x)))
        x = x + branch if self.around[0] else branch
        branch = self.drop_shortcut(self.ff(self.norm2(x)))
        return x + branch if self.around[1] else branch


class NoAttentionShortcutBlock(NoShortcutBlock):
    around = (False, True)


class NoFeedForwardShortcutBlock(NoShortcutBlock):
    around = (True, False)


class NoFinalNormModel(gpt2.GPTModel):
    def forward(self, in_idx):
        positions = torch.arange(in_idx.shape[1], device=in_idx.device)
        return self.out_head(self.trf_blocks(self.drop_emb(self.tok_emb(in_idx) + self.pos_emb(positions))))


MISTAKES = {  # a mistake's name -> the parts it replaces
    "unbiased_variance": {"LayerNorm": UnbiasedLayerNorm},
    "eps_on_the_std": {"LayerNorm": EpsOnTheStdLayerNorm},
    "no_eps": {"LayerNorm": NoEpsLayerNorm},
    "exact_gelu": {"GELU": ExactGELU},
    "post_layer_norm": {"TransformerBlock": PostLayerNormBlock},
    "no_shortcuts": {"TransformerBlock": NoShortcutBlock},
    "no_attention_shortcut": {"TransformerBlock": NoAttentionShortcutBlock},
    "no_feed_forward_shortcut": {"TransformerBlock": NoFeedForwardShortcutBlock},
    "no_final_norm": {"GPTModel": NoFinalNormModel},
}
PARTS = ("LayerNorm", "GELU", "FeedForward", "TransformerBlock", "GPTModel")


@contextlib.contextmanager
def parts(replaced: dict):
    """``solutions.gpt2`` with the named classes replaced, for as long as the block runs."""
    saved = {name: getattr(gpt2, name) for name in replaced}
    try:
        for name, cls in replaced.items():
            setattr(gpt2, name, cls)
        yield
    finally:
        for name, cls in saved.items():
            setattr(gpt2, name, cls)


def constructor_args(kind: str, config: dict | None, emb_dim: int | None = None) -> list:
    return [] if kind == "GELU" else [emb_dim] if kind == "LayerNorm" else [config]


def built(kind: str, args: list, state: dict | None, replaced: dict | None = None) -> nn.Module:
    """The reference ``kind`` built from ``args`` with ``replaced`` parts, given ``state``, in eval mode."""
    replaced = replaced or {}
    with parts(replaced):
        module = getattr(gpt2, kind)(*args)
    if state is not None:
        module.load_state_dict(state, strict=True)
    return module.eval()


def output(kind: str, args: list, state: dict | None, x: torch.Tensor, replaced: dict | None = None) -> torch.Tensor:
    with torch.no_grad():
        return built(kind, args, state, replaced)(x)
