"""The corpus of gpt_model submissions: the book's code, another correct style, and one realistic
mistake for every hint (each costing its own class alone).

The book's classes are taken from the book's own package (``llms_from_scratch.ch04``, installed for
the tests only), so the corpus proves that the book's code, as published, earns full marks: its
block names the shortcut dropout ``drop_resid`` (the printed book: ``drop_shortcut``), which holds
no parameters, so both load the same state dict.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import nbformat
from llms_from_scratch import ch04

from tests import corpus

RELEASE = corpus.ROOT / "release" / "gpt_model" / "gpt_model.ipynb"
FUNCTIONS = ("LayerNorm", "GELU", "FeedForward", "TransformerBlock", "GPTModel")

BOOK = {name: inspect.getsource(getattr(ch04, name)) for name in FUNCTIONS}

# Other correct answers, in styles students write: each must earn full marks.
STYLES = {
    # torch's own layer norm and GELU under the contract's names, an einsum feed-forward network, the
    # printed book's drop_shortcut, blocks in an nn.ModuleList.
    "torch_parts": {
        "LayerNorm": '''
class LayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        return nn.functional.layer_norm(x, x.shape[-1:], self.scale, self.shift, self.eps)
''',
        "GELU": '''
class GELU(nn.GELU):
    def __init__(self):
        super().__init__(approximate="tanh")
''',
        "FeedForward": '''
class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        emb = cfg["emb_dim"]
        self.layers = nn.Sequential(nn.Linear(emb, 4 * emb), GELU(), nn.Linear(4 * emb, emb))

    def forward(self, x):
        up, act, down = self.layers
        hidden = act(torch.einsum("...e,he->...h", x, up.weight) + up.bias)
        return torch.einsum("...h,eh->...e", hidden, down.weight) + down.bias
''',
        "TransformerBlock": '''
class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.att = MultiHeadAttention(cfg["emb_dim"], cfg["emb_dim"], cfg["context_length"], cfg["drop_rate"],
                                      cfg["n_heads"], cfg["qkv_bias"])
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        x = x + self.drop_shortcut(self.att(self.norm1(x)))
        return x + self.drop_shortcut(self.ff(self.norm2(x)))
''',
        "GPTModel": '''
class GPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg["n_layers"]))
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, in_idx):
        x = self.drop_emb(self.tok_emb(in_idx) + self.pos_emb.weight[:in_idx.shape[1]])
        for block in self.trf_blocks:
            x = block(x)
        return self.out_head(self.final_norm(x))
''',
    },
}


@dataclass(frozen=True)
class Mistake:
    """A wrong answer for one class, and the hint it must earn."""

    name: str
    function: str
    code: str
    hint: str


FF_END = "        x = self.drop_resid(x)\n        x = x + shortcut  # Add the original input back\n\n        return x"


def _book(function: str, old: str, new: str) -> str:
    assert old in BOOK[function], old
    return BOOK[function].replace(old, new)


MISTAKES = (
    Mistake("unbiased_variance", "LayerNorm", _book("LayerNorm", "unbiased=False", "unbiased=True"),
            "unbiased_variance"),
    Mistake("eps_on_the_std", "LayerNorm",
            _book("LayerNorm", "torch.sqrt(var + self.eps)", "(torch.sqrt(var) + self.eps)"), "eps_misplaced"),
    Mistake("exact_gelu", "GELU", '''
class GELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1 + torch.erf(x / 2 ** 0.5))
''', "exact_gelu"),
    Mistake("post_layer_norm", "TransformerBlock",
            _book("TransformerBlock", "        x = self.norm1(x)\n        x = self.att(x)",
                  "        x = self.att(x)").replace("        x = x + shortcut  # Add the original input back\n\n",
                                                   "        x = self.norm1(x + shortcut)\n\n", 1)
            .replace("        x = self.norm2(x)\n        x = self.ff(x)", "        x = self.ff(x)")
            .replace("        x = x + shortcut  # Add the original input back\n\n        return x",
                     "        x = self.norm2(x + shortcut)\n\n        return x"),
            "post_layer_norm"),
    Mistake("feed_forward_shortcut_missing", "TransformerBlock",
            _book("TransformerBlock", FF_END, "        x = self.drop_resid(x)\n\n        return x"),
            "missing_shortcut"),
    Mistake("dropout_after_the_shortcut", "TransformerBlock",
            _book("TransformerBlock", FF_END,
                  "        x = x + shortcut\n        x = self.drop_resid(x)\n\n        return x"),
            "dropout_misplaced"),
    Mistake("positions_of_the_context_length", "GPTModel",
            _book("GPTModel", "torch.arange(seq_len, device=in_idx.device)",
                  "torch.arange(self.pos_emb.num_embeddings, device=in_idx.device)"),
            "positions_of_the_wrong_length"),
    Mistake("out_head_with_bias", "GPTModel",
            _book("GPTModel", 'cfg["vocab_size"], bias=False)', 'cfg["vocab_size"])'), "out_head_with_bias"),
    Mistake("final_norm_forgotten", "GPTModel", _book("GPTModel", "        x = self.final_norm(x)\n", ""),
            "final_norm_forgotten"),
)


def with_answers(**changes: str) -> nbformat.NotebookNode:
    """The release notebook with the book's answers, and ``changes`` (class name -> code)."""
    return corpus.build({**BOOK, **changes}, release=RELEASE)


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """Every corpus submission by name: the book, the styles, the mistakes, the untouched stub."""
    made = {"book": with_answers(), "stub": nbformat.read(RELEASE, as_version=4)}
    made.update({name: with_answers(**answers) for name, answers in STYLES.items()})
    made.update({m.name: with_answers(**{m.function: m.code}) for m in MISTAKES})
    return made
