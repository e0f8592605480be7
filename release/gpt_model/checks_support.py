"""What gpt_model's checks need beside the student's code: stand-ins for the parts of the model, and
the greedy decoder the notebook is given.

Shipped beside the notebook as ``checks_support.py``. A class built from the student's other classes
would lose points for a mistake in them; while it is checked, a part that failed its own checks is
replaced, by name, with one of these. They have the parameters of the part they stand for (so the
reference's state dict loads into the whole), and are not the answers: a normalisation that is not a
layer norm, SiLU rather than GELU, a parallel block rather than a pre-LayerNorm one. What a correct
model computes with them in place is known, so the model is judged on its own work.
"""

import torch
from torch import nn


class ProbeLayerNorm(nn.Module):
    """Stands in for LayerNorm: ``scale`` and ``shift``, and a division by the mean absolute value."""

    def __init__(self, emb_dim, *_, **__):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        return self.scale * x / (x.abs().mean(dim=-1, keepdim=True) + 1) + self.shift


class ProbeGELU(nn.Module):
    """Stands in for GELU: SiLU, x * sigmoid(x)."""

    def forward(self, x):
        return x * torch.sigmoid(x)


class ProbeFeedForward(nn.Module):
    """Stands in for FeedForward: the same two layers around SiLU."""

    def __init__(self, cfg, *_, **__):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]), ProbeGELU(),
                                    nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]))

    def forward(self, x):
        return self.layers(x)


def _attention_class():
    try:
        from attention import MultiHeadAttention  # the module beside the notebook
    except ImportError:  # the kit itself, computing what a check expects
        from solutions.gpt2 import MultiHeadAttention
    return MultiHeadAttention


class ProbeTransformerBlock(nn.Module):
    """Stands in for TransformerBlock: the block's parameters, in a parallel block (attention and the
    feed-forward network side by side on the same input, as GPT-J has them), with the stand-in norms."""

    def __init__(self, cfg, *_, **__):
        super().__init__()
        self.att = _attention_class()(d_in=cfg["emb_dim"], d_out=cfg["emb_dim"], context_length=cfg["context_length"],
                                      dropout=cfg["drop_rate"], num_heads=cfg["n_heads"], qkv_bias=cfg["qkv_bias"])
        self.ff = ProbeFeedForward(cfg)
        self.norm1 = ProbeLayerNorm(cfg["emb_dim"])
        self.norm2 = ProbeLayerNorm(cfg["emb_dim"])

    def forward(self, x):
        return x + self.att(self.norm1(x)) + self.ff(self.norm2(x))


def generate_text_simple(model, idx, max_new_tokens, context_size):
    """The book's greedy decoder, as the notebook gives it: the most likely token, appended each step."""
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(idx[:, -context_size:])
        idx = torch.cat((idx, torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)), dim=1)
    return idx


STAND_INS = {"ProbeLayerNorm": ProbeLayerNorm, "ProbeGELU": ProbeGELU, "ProbeFeedForward": ProbeFeedForward,
             "ProbeTransformerBlock": ProbeTransformerBlock}
