"""The model cache: a replayed GPTModel is the plain build, bit for bit, random state included."""

import subprocess
import sys

import pytest
import torch

import solutions.gpt2 as gpt2
from autograder.sandbox.inside import model_cache

CONFIG = {**gpt2.GPT_CONFIG_124M, "context_length": 256}


@pytest.fixture(scope="module")
def plain():
    torch.manual_seed(123)
    model = gpt2.GPTModel(CONFIG)
    return model.state_dict(), torch.get_rng_state(), torch.rand(4)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    directory = tmp_path_factory.mktemp("model-cache")
    original = gpt2.GPTModel.__init__
    try:
        model_cache.record(gpt2.GPTModel, directory)
        torch.manual_seed(123)
        gpt2.GPTModel(CONFIG)
    finally:
        gpt2.GPTModel.__init__ = original
    return directory


@pytest.fixture
def replaying(recorded):
    original = gpt2.GPTModel.__init__
    model_cache.install(gpt2.GPTModel, recorded)
    yield
    gpt2.GPTModel.__init__ = original


def test_replay_gives_identical_parameters_and_random_state(plain, replaying):
    state, rng_after, next_draw = plain
    torch.manual_seed(123)
    model = gpt2.GPTModel(CONFIG)
    replayed = model.state_dict()
    assert list(replayed) == list(state)
    for name, tensor in state.items():
        assert replayed[name].dtype == tensor.dtype and torch.equal(replayed[name], tensor), name
    assert torch.equal(torch.get_rng_state(), rng_after)
    assert torch.equal(torch.rand(4), next_draw)
    assert all(p.requires_grad and isinstance(p, torch.nn.Parameter) for p in model.parameters())
    assert "trf_blocks.0.att.mask" in model.state_dict()  # still a persistent buffer


def test_replayed_models_do_not_share_memory(replaying):
    torch.manual_seed(123)
    first = gpt2.GPTModel(CONFIG)
    torch.manual_seed(123)
    second = gpt2.GPTModel(CONFIG)
    with torch.no_grad():
        first.out_head.weight.zero_()
    assert second.out_head.weight.abs().sum() > 0


def test_other_seeds_and_configs_build_the_plain_way(replaying):
    small = {**CONFIG, "n_layers": 1, "emb_dim": 64, "n_heads": 2, "vocab_size": 100}
    torch.manual_seed(7)
    expected = gpt2.GPTModel.__init__.__wrapped__  # the original constructor, kept by functools.wraps
    model = gpt2.GPTModel(small)
    torch.manual_seed(7)
    plain = gpt2.GPTModel.__new__(gpt2.GPTModel)
    expected(plain, small)
    assert torch.equal(model.tok_emb.weight, plain.tok_emb.weight)


def test_a_class_that_builds_another_layout_builds_the_plain_way(recorded, monkeypatch):
    """A replay skips the random fills; if the cache could not overwrite every tensor, the model
    would keep unfilled memory. So a layout unlike the recording's is built the plain way."""

    class RenamedNorm(gpt2.LayerNorm):
        def __init__(self, emb_dim):
            super().__init__(emb_dim)
            self.gain = self.scale

    monkeypatch.setattr(gpt2, "LayerNorm", RenamedNorm)
    torch.manual_seed(123)
    plain = gpt2.GPTModel(CONFIG)
    rng_after = torch.get_rng_state()
    original = gpt2.GPTModel.__init__
    model_cache.install(gpt2.GPTModel, recorded)
    try:
        torch.manual_seed(123)
        model = gpt2.GPTModel(CONFIG)
    finally:
        gpt2.GPTModel.__init__ = original
    assert model_cache.replay_of(model) is None
    for name, tensor in plain.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    assert torch.equal(torch.get_rng_state(), rng_after)


def test_a_replay_does_not_import_the_compiler(recorded):
    """Replays used to build on the meta device, whose first use imports torch._dynamo: 1.7 s of
    every zygote's startup. Checked in a fresh interpreter, as the zygote starts."""
    code = f"""
import sys, torch
import solutions.gpt2 as gpt2
from autograder.sandbox.inside import model_cache
model_cache.install(gpt2.GPTModel, __import__("pathlib").Path({str(recorded)!r}))
torch.manual_seed(123)
model = gpt2.GPTModel({CONFIG!r})
assert model_cache.replay_of(model) is not None, "not replayed"
print("torch._dynamo" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
