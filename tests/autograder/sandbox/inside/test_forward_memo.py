"""The forward memo: an untouched replayed model is answered from the recording, anything else computes.

The recordings are poisoned after they are made (every number becomes 7), so a call that was
answered from them shows it, and a call that computed does not.
"""

import builtins

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import solutions.gpt2 as gpt2
from autograder.sandbox.inside import forward_memo, model_cache

SMALL = {"vocab_size": 64, "context_length": 16, "emb_dim": 32, "n_heads": 4, "n_layers": 2, "drop_rate": 0.1,
         "qkv_bias": False}
IDS = torch.tensor([[5, 9, 13, 2]])
POISON = 7.0


def _build() -> gpt2.GPTModel:
    torch.manual_seed(123)
    return gpt2.GPTModel(SMALL).eval()


@pytest.fixture
def recorded(tmp_path):
    """Record a build, a forward and a generation, as the instructor's notebook would."""
    saved = gpt2.GPTModel.__init__, gpt2.GPTModel.forward
    model_cache.record(gpt2.GPTModel, tmp_path)
    forward_memo.record(gpt2.GPTModel, tmp_path, model_cache.replay_of)
    try:
        model = _build()
        with torch.no_grad():
            computed = model(IDS)
        generated = gpt2.generate_text_simple(model, IDS, max_new_tokens=3, context_size=8)
    finally:
        gpt2.GPTModel.__init__, gpt2.GPTModel.forward = saved
    recordings = sorted((tmp_path / forward_memo.DIRECTORY).glob("*.bin"))
    assert len(recordings) == 3  # the forward is also generation's first step; then two more
    yield tmp_path, computed, generated, recordings
    gpt2.GPTModel.__init__, gpt2.GPTModel.forward = saved


@pytest.fixture
def memo(recorded):
    model_cache.install(gpt2.GPTModel, recorded[0])
    forward_memo.install(gpt2.GPTModel, recorded[0], model_cache.replay_of)
    return recorded


class _Passthrough(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _poison(recordings) -> None:
    for path in recordings:
        np.full(path.stat().st_size // 4, POISON, dtype=np.float32).tofile(path)


def test_a_recording_is_the_computation_bit_for_bit(memo):
    _, computed, generated, _ = memo
    model = _build()
    with torch.no_grad():
        served = model(IDS)
    assert torch.equal(served, computed) and served.dtype == torch.float32 and served.is_contiguous()
    assert torch.equal(gpt2.generate_text_simple(model, IDS, max_new_tokens=3, context_size=8), generated)
    served.add_(1)  # a fresh tensor: the student may do what they like with it
    with torch.no_grad():
        assert torch.equal(model(IDS), computed)


def test_an_untouched_model_is_answered_from_the_recording(memo):
    *_, recordings = memo
    _poison(recordings)
    with torch.no_grad():
        assert torch.all(_build()(IDS) == POISON)


def _no_grad(function, *args):
    with torch.no_grad():
        function(*args)


def _patch(monkeypatch, target, name, wrap):
    original = getattr(target, name)
    monkeypatch.setattr(target, name, wrap(original))


TAMPERING = {
    "write through .data": lambda m, mp: m.out_head.weight.data[0, 0].add_(1),
    "same values written in place": lambda m, mp: m.tok_emb.weight.data.mul_(1),
    "parameter replaced": lambda m, mp: setattr(m.out_head, "weight", torch.nn.Parameter(m.out_head.weight * 2)),
    "storage swapped": lambda m, mp: _no_grad(m.pos_emb.weight.set_, m.pos_emb.weight.detach().clone()),
    "values assigned to .data": lambda m, mp: setattr(m.pos_emb.weight, "data", m.pos_emb.weight.detach().clone()),
    "train mode": lambda m, mp: m.train(),
    "forward hook": lambda m, mp: m.trf_blocks[0].register_forward_hook(lambda mod, i, o: o * 2),
    "global hook": lambda m, mp: mp.setitem(torch.nn.modules.module._global_forward_hooks, 99,
                                            lambda mod, i, o: None),
    "attribute changed": lambda m, mp: setattr(m.final_norm, "eps", 1.0),
    "submodule swapped": lambda m, mp: setattr(m.trf_blocks[0], "ff", m.trf_blocks[1].ff),
    "torch function patched": lambda m, mp: _patch(mp, torch, "softmax", lambda f: lambda *a, **k: f(*a, **k) * 2),
    "method patched": lambda m, mp: _patch(mp, gpt2.GELU, "forward", lambda f: lambda self, x: x),
    "tensor method patched": lambda m, mp: _patch(mp, torch.Tensor, "transpose",
                                                   lambda f: lambda self, *a: f(self, *a) * 1),
    "builtin patched": lambda m, mp: _patch(mp, builtins, "len", lambda f: lambda x: f(x)),
    "thread count": lambda m, mp: (mp.setattr(torch, "_threads_saved", torch.get_num_threads(), raising=False),
                                   torch.set_num_threads(torch.get_num_threads() + 1)),
}


@pytest.mark.parametrize("tamper", TAMPERING, ids=list(TAMPERING))
def test_anything_that_could_change_the_answer_computes_instead(memo, monkeypatch, tamper):
    *_, recordings = memo
    _poison(recordings)
    model = _build()
    threads = torch.get_num_threads()
    try:
        TAMPERING[tamper](model, monkeypatch)
        with torch.no_grad():
            assert not torch.any(model(IDS) == POISON)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.undo()
    with torch.no_grad():  # a model built afterwards is untouched again
        assert torch.all(_build()(IDS) == POISON)


def test_gradients_function_modes_and_other_inputs_compute(memo):
    *_, recordings = memo
    _poison(recordings)
    model = _build()
    logits = model(IDS)  # gradients on: the output must carry its graph
    assert logits.requires_grad and logits.grad_fn is not None and not torch.any(logits == POISON)
    with torch.no_grad(), _Passthrough():
        assert not torch.any(model(IDS) == POISON)
    with torch.no_grad():
        assert not torch.any(model(IDS + 1) == POISON)
        assert not torch.any(model(IDS.to(torch.int32)) == POISON)
        torch.manual_seed(7)  # another construction is not a replay
        assert not torch.any(gpt2.GPTModel(SMALL).eval()(IDS) == POISON)
