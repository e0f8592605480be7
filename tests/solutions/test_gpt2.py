"""The solution GPT-2: the book's parameter layout, the book's numbers, and agreement with an
independent implementation built from torch's own layers (minGPT's test, in our terms)."""

import io

import pytest
import torch
import torch.nn.functional as F

from solutions.gpt2 import GPT_CONFIG_124M, GPTModel, generate_text_simple

CONFIG = {**GPT_CONFIG_124M, "context_length": 256}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(123)
    built = GPTModel(CONFIG)
    built.eval()
    return built


def book_keys(n_layers):
    """The state_dict keys of the book's GPTModel (chapter 4), in order."""
    keys = ["tok_emb.weight", "pos_emb.weight"]
    for i in range(n_layers):
        block = f"trf_blocks.{i}"
        keys += [f"{block}.att.mask", f"{block}.att.W_query.weight", f"{block}.att.W_key.weight",
                 f"{block}.att.W_value.weight", f"{block}.att.out_proj.weight", f"{block}.att.out_proj.bias",
                 f"{block}.ff.layers.0.weight", f"{block}.ff.layers.0.bias", f"{block}.ff.layers.2.weight",
                 f"{block}.ff.layers.2.bias", f"{block}.norm1.scale", f"{block}.norm1.shift",
                 f"{block}.norm2.scale", f"{block}.norm2.shift"]
    return keys + ["final_norm.scale", "final_norm.shift", "out_head.weight"]


def test_config_is_gpt2_small():
    assert GPT_CONFIG_124M == {"vocab_size": 50257, "context_length": 1024, "emb_dim": 768, "n_heads": 12,
                               "n_layers": 12, "drop_rate": 0.1, "qkv_bias": False}


def test_state_dict_has_the_books_keys_and_shapes(model):
    state = model.state_dict()
    assert list(state) == book_keys(12) and len(state) == 173
    assert state["tok_emb.weight"].shape == (50257, 768)
    assert state["trf_blocks.0.att.mask"].shape == (256, 256)
    assert state["trf_blocks.0.ff.layers.0.weight"].shape == (3072, 768)
    assert state["out_head.weight"].data_ptr() != state["tok_emb.weight"].data_ptr()  # not tied


def test_a_saved_checkpoint_loads_strictly(model):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(0)
    other = GPTModel(CONFIG)
    other.load_state_dict(torch.load(buffer, weights_only=True), strict=True)
    assert torch.equal(other.out_head.weight, model.out_head.weight)


def test_seed_123_gives_the_books_numbers(model):
    inputs = torch.tensor([[16833, 3626, 6100], [40, 1107, 588]])
    targets = torch.tensor([[3626, 6100, 345], [1107, 588, 11311]])
    with torch.no_grad():
        logits = model(inputs)
    probas = torch.softmax(logits, dim=-1)
    row0 = probas[0, [0, 1, 2], targets[0]]
    assert torch.allclose(row0, torch.tensor([7.4540e-05, 3.1061e-05, 1.1563e-05]), rtol=1e-4, atol=0)
    manual = -torch.mean(torch.log(torch.gather(probas, -1, targets.unsqueeze(-1))))
    torch_loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    assert torch.isclose(manual, torch.tensor(10.7940), rtol=1e-5, atol=0)
    assert torch.isclose(manual, torch_loss, rtol=1e-6, atol=0)
    assert torch.isclose(torch.exp(manual), torch.tensor(48725.8203), rtol=1e-5, atol=0)


def independent_forward(state, cfg, idx):
    """GPT-2 from torch's built-in layers, reading the same state_dict."""
    heads, emb = cfg["n_heads"], cfg["emb_dim"]
    b, t = idx.shape
    x = F.embedding(idx, state["tok_emb.weight"]) + state["pos_emb.weight"][:t]
    for i in range(cfg["n_layers"]):
        p = lambda name: state[f"trf_blocks.{i}.{name}"]  # noqa: E731
        h = F.layer_norm(x, (emb,), p("norm1.scale"), p("norm1.shift"), eps=1e-5)
        q, k, v = (F.linear(h, p(f"att.{w}.weight")).view(b, t, heads, -1).transpose(1, 2)
                   for w in ("W_query", "W_key", "W_value"))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, emb)
        x = x + F.linear(att, p("att.out_proj.weight"), p("att.out_proj.bias"))
        h = F.layer_norm(x, (emb,), p("norm2.scale"), p("norm2.shift"), eps=1e-5)
        h = F.gelu(F.linear(h, p("ff.layers.0.weight"), p("ff.layers.0.bias")), approximate="tanh")
        x = x + F.linear(h, p("ff.layers.2.weight"), p("ff.layers.2.bias"))
    x = F.layer_norm(x, (emb,), state["final_norm.scale"], state["final_norm.shift"], eps=1e-5)
    return F.linear(x, state["out_head.weight"])


def test_logits_and_greedy_generation_match_an_independent_implementation(model):
    state = model.state_dict()
    prompt = torch.tensor([[6914, 502, 766, 611, 314, 460, 787, 340]])  # "Let me see if I can make it"
    with torch.no_grad():
        ours = model(prompt)
        theirs = independent_forward(state, CONFIG, prompt)
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4)

    generated = generate_text_simple(model, prompt, max_new_tokens=10, context_size=CONFIG["context_length"])
    idx = prompt
    for _ in range(10):
        with torch.no_grad():
            next_id = independent_forward(state, CONFIG, idx)[:, -1].argmax(-1, keepdim=True)
        idx = torch.cat([idx, next_id], dim=1)
    assert generated.tolist() == idx.tolist()


def test_generation_only_feeds_the_last_context_size_tokens():
    torch.manual_seed(1)
    tiny = GPTModel({**CONFIG, "vocab_size": 50, "context_length": 4, "emb_dim": 8, "n_heads": 2, "n_layers": 1})
    tiny.eval()
    out = generate_text_simple(tiny, torch.tensor([[1, 2, 3, 4, 5, 6]]), max_new_tokens=3, context_size=4)
    assert out.shape == (1, 9)
