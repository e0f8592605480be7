"""The train_and_generate reference answers keep the student contract, checked against the contract's
own words on small models (the grader will compute expected values with them)."""

import math

import pytest
import torch

from solutions import train_and_generate as ref
from solutions.gpt2 import GPTModel, generate_text_simple

TINY = {"vocab_size": 50, "context_length": 16, "emb_dim": 16, "n_heads": 2, "n_layers": 1, "drop_rate": 0.0,
        "qkv_bias": False}


def tiny_model(seed: int = 0) -> GPTModel:
    torch.manual_seed(seed)
    return GPTModel(TINY).eval()


@pytest.mark.parametrize("max_length, stride", [(4, 1), (4, 3), (4, 4), (3, 7)])
def test_windows_follow_the_contract_row_by_row(max_length, stride):
    token_ids = torch.arange(100, 120)
    inputs, targets = ref.input_target_pairs(token_ids, max_length, stride)
    starts = list(range(0, len(token_ids) - max_length, stride))
    assert inputs.dtype == targets.dtype == torch.long and inputs.shape == targets.shape == (len(starts), max_length)
    for j, i in enumerate(starts):
        assert inputs[j].tolist() == token_ids[i:i + max_length].tolist()
        assert targets[j].tolist() == token_ids[i + 1:i + max_length + 1].tolist()


def test_the_loss_of_a_batch_is_the_mean_negative_log_probability_of_every_target():
    model = tiny_model()
    inputs, targets = torch.randint(0, 50, (3, 8)), torch.randint(0, 50, (3, 8))
    with torch.no_grad():
        log_probs = torch.log_softmax(model(inputs), dim=-1)
        expected = -log_probs.gather(-1, targets.unsqueeze(-1)).mean()
        loss = ref.calc_loss_batch(inputs, targets, model, "cpu")
    assert loss.dim() == 0 and torch.allclose(loss, expected, atol=1e-6)


def test_the_loss_of_a_loader_is_the_mean_over_its_first_batches():
    model = tiny_model()
    loader = [(torch.randint(0, 50, (2, 6)), torch.randint(0, 50, (2, 6))) for _ in range(4)]
    with torch.no_grad():
        losses = [ref.calc_loss_batch(x, y, model, "cpu").item() for x, y in loader]
        assert ref.calc_loss_loader(loader, model, "cpu") == pytest.approx(sum(losses) / 4)
        assert ref.calc_loss_loader(loader, model, "cpu", num_batches=2) == pytest.approx(sum(losses[:2]) / 2)
        assert ref.calc_loss_loader(loader, model, "cpu", num_batches=9) == pytest.approx(sum(losses) / 4)
        assert math.isnan(ref.calc_loss_loader([], model, "cpu"))
    assert isinstance(ref.calc_loss_loader(loader, model, "cpu"), float)


def test_a_step_uses_this_batch_s_gradients_only_and_returns_the_loss_before_it():
    x, y = torch.randint(0, 50, (2, 6)), torch.randint(0, 50, (2, 6))
    clean, stale = tiny_model(1), tiny_model(1)
    for parameter in stale.parameters():  # what a previous batch would have left behind
        parameter.grad = torch.full_like(parameter, 5.0)
    expected_loss = ref.calc_loss_batch(x, y, clean, "cpu").item()
    losses = [ref.train_step(m, torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.1), x, y, "cpu")
              for m in (clean, stale)]
    assert losses == [pytest.approx(expected_loss)] * 2
    for a, b in zip(clean.parameters(), stale.parameters()):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(clean.parameters(), tiny_model(1).parameters()))


def test_greedy_generation_is_the_book_s_and_top_1_sampling_is_greedy():
    model, prompt = tiny_model(2), torch.tensor([[1, 2, 3]])
    greedy = ref.generate(model, prompt, 6, context_size=16)
    assert torch.equal(greedy, generate_text_simple(model, prompt, 6, context_size=16))
    torch.manual_seed(0)
    assert torch.equal(ref.generate(model, prompt, 6, context_size=16, temperature=1.5, top_k=1), greedy)


def test_sampling_keeps_to_the_top_k_and_an_end_token_stops_without_being_appended():
    model, prompt = tiny_model(3), torch.tensor([[4, 5]])
    with torch.no_grad():
        allowed = set(torch.topk(model(prompt)[0, -1], 3).indices.tolist())
    torch.manual_seed(0)
    firsts = {ref.generate(model, prompt, 1, context_size=16, temperature=2.0, top_k=3)[0, -1].item()
              for _ in range(60)}
    assert firsts <= allowed and len(firsts) > 1
    greedy_next = ref.generate(model, prompt, 1, context_size=16)[0, -1].item()
    assert torch.equal(ref.generate(model, prompt, 5, context_size=16, eos_id=greedy_next), prompt)


def test_a_prompt_longer_than_the_context_is_cropped():
    model = tiny_model(4)
    prompt = torch.randint(0, 50, (1, 40))  # the position embedding has 16 rows
    out = ref.generate(model, prompt, 3, context_size=16)
    assert out.shape == (1, 43) and torch.equal(out[:, :40], prompt)
    assert torch.equal(out[:, 40:41], ref.generate(model, prompt[:, -16:], 1, context_size=16)[:, -1:])
