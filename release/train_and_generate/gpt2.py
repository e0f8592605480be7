"""A small, readable GPT-2 for the course, written to be read beside chapter 4 of
"Build a Large Language Model (From Scratch)" (Sebastian Raschka, Manning 2024).

The module is self-contained (only torch) because it is shipped to students as ``gpt2.py``
next to their notebook. Its parameter names, shapes and construction order are the book's,
so ``torch.manual_seed(123); GPTModel(cfg)`` gives the book's weights, and a ``model.pth``
saved by a reader of the book loads here with ``strict=True``.

The model returns logits only; the loss is computed outside it, which is what students write.
"""

import torch
import torch.nn as nn

GPT_CONFIG_124M = {
    "vocab_size": 50257,     # GPT-2's BPE vocabulary
    "context_length": 1024,  # longest sequence the position embedding covers
    "emb_dim": 768,          # width of every token representation
    "n_heads": 12,           # attention heads per layer
    "n_layers": 12,          # transformer blocks
    "drop_rate": 0.1,        # dropout on embeddings, attention weights and shortcuts
    "qkv_bias": False,       # no bias on the query, key and value projections
}


class LayerNorm(nn.Module):
    """Normalises each token vector to mean 0, variance 1, then rescales with learned scale/shift."""

    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class GELU(nn.Module):
    """GELU with GPT-2's tanh approximation."""

    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(torch.sqrt(torch.tensor(2.0 / torch.pi)) * (x + 0.044715 * x**3)))


class FeedForward(nn.Module):
    """Per-token MLP: widen 4x, GELU, project back."""

    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]),
            GELU(),
            nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]),
        )

    def forward(self, x):
        return self.layers(x)


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


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attention(norm(x)), then x + feed_forward(norm(x))."""

    def __init__(self, cfg):
        super().__init__()
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"],
            d_out=cfg["emb_dim"],
            context_length=cfg["context_length"],
            dropout=cfg["drop_rate"],
            num_heads=cfg["n_heads"],
            qkv_bias=cfg["qkv_bias"],
        )
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        x = x + self.drop_shortcut(self.att(self.norm1(x)))
        x = x + self.drop_shortcut(self.ff(self.norm2(x)))
        return x


class GPTModel(nn.Module):
    """GPT-2: token + position embeddings, a stack of blocks, a final norm, a vocabulary head.

    ``forward(in_idx)`` takes token ids of shape (batch, seq) and returns logits of shape
    (batch, seq, vocab_size): one score per vocabulary entry for the token after each position.
    """

    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, in_idx):
        _, seq_len = in_idx.shape  # (B, T)
        positions = torch.arange(seq_len, device=in_idx.device)
        x = self.tok_emb(in_idx) + self.pos_emb(positions)  # (B, T, C)
        x = self.drop_emb(x)
        x = self.trf_blocks(x)
        x = self.final_norm(x)
        return self.out_head(x)  # (B, T, vocab_size)


def generate_text_simple(model, idx, max_new_tokens, context_size):
    """Greedy decoding: append the most likely next token ``max_new_tokens`` times.

    ``idx`` is a (batch, seq) tensor of token ids; only the last ``context_size`` tokens are
    fed to the model, since its position embedding covers no more.
    """
    for _ in range(max_new_tokens):
        window = idx[:, -context_size:]
        with torch.no_grad():
            logits = model(window)
        next_logits = logits[:, -1, :]  # (B, vocab_size)
        probas = torch.softmax(next_logits, dim=-1)
        next_id = torch.argmax(probas, dim=-1, keepdim=True)  # (B, 1)
        idx = torch.cat((idx, next_id), dim=1)
    return idx
