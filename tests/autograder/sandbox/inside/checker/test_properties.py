"""The engine's property predicates and class-building options, on hand-made values: dropout judged by
its properties (never its draws), weights' rows, two parts of an output alike, a constructor that must
refuse its arguments, a buffer the student's own, and stand-in values for the callees that stood in."""

import math
import sys

import pytest
import torch
from torch import nn

from autograder.sandbox.inside.checker import inputs
from autograder.sandbox.inside.checker.dropout import dropout
from autograder.sandbox.inside.checker.judge import judge

N, P = 6, 0.3


def weights(batch: int = 40) -> torch.Tensor:
    """Causal attention weights, each laid out twice along the last dimension (as ``dropout`` reads them)."""
    scores = torch.randn(batch, N, N, generator=torch.Generator().manual_seed(0))
    w = torch.softmax(scores.masked_fill(torch.triu(torch.ones(N, N, dtype=torch.bool), 1), -math.inf), -1)
    return torch.cat([w, w], dim=-1)


def spec(**extra) -> dict:
    return {"kept": weights(), "p": P, "block": N, "false_failure": 2.5e-7, "what": "it", **extra}


def dropped(mask: torch.Tensor) -> torch.Tensor:
    return weights() * mask / (1 - P)


def test_dropout_on_the_weights_passes_whatever_its_draws():
    for seed in range(20):
        keep = (torch.rand(40, N, N, generator=torch.Generator().manual_seed(seed)) >= P).double()
        assert dropout(spec(), dropped(torch.cat([keep, keep], -1))) is None


@pytest.mark.parametrize("mask, says", [
    (torch.ones(40, N, 2 * N), "were dropped (0.0%)"),  # scaled, never dropped
    ((torch.rand(40, N, 2 * N, generator=torch.Generator().manual_seed(1)) >= P).double(), "not whole weights"),
    ((torch.rand(40, N, N, generator=torch.Generator().manual_seed(2)) >= 1 - P).double().repeat(1, 1, 2),
     "were dropped"),  # keeps with probability p
], ids=["never_dropped", "copies_dropped_apart", "p_is_the_keep_probability"])
def test_dropout_that_is_not_on_the_weights_or_at_the_rate_fails(mask, says):
    assert says in dropout(spec(), dropped(mask))


def test_kept_weights_must_be_scaled_by_one_over_one_minus_p():
    keep = (torch.rand(40, N, N, generator=torch.Generator().manual_seed(3)) >= P).double().repeat(1, 1, 2)
    assert "scaled by 1 / (1 - p)" in dropout(spec(), weights() * keep)


def test_a_stand_in_s_weights_count_only_when_it_stood_in():
    other = weights().flip(0)
    keep = (torch.rand(40, N, N, generator=torch.Generator().manual_seed(4)) >= P).double().repeat(1, 1, 2)
    value = other * keep / (1 - P)
    given = spec(stand_in=[{"callees": ["f"], "kept": other}])
    assert dropout(given, value, frozenset({"f"})) is None
    assert dropout(given, value, frozenset()) is not None and dropout(given, value, frozenset({"g"})) is not None


def call(expect: list, **extra) -> dict:
    return {"function": "f", "shown": "f(x)", "args": [], "expect": expect, "mistakes": [], **extra}


def test_weight_rows_and_agree():
    rows = call([{"weight_rows": {"block": N, "what": "w"}}])
    assert judge(rows, weights()).passed and "sum to" in judge(rows, weights() * 0.9).message
    value = torch.arange(24.0).view(2, 3, 4)
    same = call([{"agree": {"a": [0, [0, 2]], "b": [1, [0, 2]], "rtol": 0, "atol": 0, "what": "w"}}])
    assert not judge(same, value).passed
    value[1, :2] = value[0, :2]
    assert judge(same, value).passed


def test_a_call_that_must_raise_passes_only_on_those_errors():
    refuse = call([{"raises": {"types": ["AssertionError", "ValueError"], "what": "M(6, heads=4)"}}])
    assert judge(refuse, error="`M(6, heads=4)` raised AssertionError: d_out must be divisible").passed
    assert judge(refuse, error="`M(6, heads=4)` raised ValueError.").passed
    assert not judge(refuse, error="`M(6, heads=4)` raised TypeError: raised ValueError").passed
    assert "should raise AssertionError or ValueError" in judge(refuse, torch.zeros(2)).message


def test_close_takes_the_stand_in_values_of_the_callees_that_stood_in():
    expected, with_f, with_both = torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([3.0])
    close = call([{"close": expected, "rtol": 0, "atol": 0, "what": "f(x)", "stand_in": [
        {"callees": ["f", "g"], "close": with_both, "note": " (both)"},
        {"callees": ["f"], "close": with_f, "note": " (f)"}]}])
    assert judge(close, with_f, stood_in=frozenset({"f"})).passed
    assert not judge(close, with_f).passed and not judge(close, with_both, stood_in=frozenset({"f"})).passed
    assert judge(close, with_both, stood_in=frozenset({"f", "g"})).passed
    assert judge(close, expected, stood_in=frozenset({"f", "g"})).passed  # a caller that calls neither
    assert "(both)" in judge(close, torch.tensor([9.0]), stood_in=frozenset({"f", "g"})).message


class Masked(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n))
        self.register_buffer("mask", torch.triu(torch.ones(n, n), diagonal=2))  # built wrong


def test_a_kept_buffer_is_the_student_s_own_and_the_rest_is_loaded():
    state = {"weight": torch.ones(3)}
    built = inputs.instance_of(Masked, {"args": [3], "state": state, "keep": ["mask"]})
    assert torch.equal(built.weight.detach(), torch.ones(3))
    assert torch.equal(built.mask, torch.triu(torch.ones(3, 3), 2))
    with pytest.raises(inputs.LayoutMismatch, match="`mask`"):
        inputs.instance_of(Masked, {"args": [3], "state": state})


def test_a_residual_branch_s_dropout_is_judged_after_its_base():
    base, branch = torch.randn(4, 8, 16), -torch.rand(4, 8, 16) - 0.1  # negative entries count too
    keep = (torch.rand(4, 8, 16, generator=torch.Generator().manual_seed(5)) >= P).double()
    given = {"kept": branch, "base": base, "p": P, "block": 8, "twins": False, "false_failure": 2.5e-7, "what": "it"}
    assert dropout(given, base + branch * keep / (1 - P)) is None
    assert dropout(given, (base + branch) * keep / (1 - P)) is not None  # the sum dropped, shortcut and all


class Part(nn.Module):
    def forward(self, x):
        return x + 1


class ProbePart(nn.Module):
    def forward(self, x):
        return x - 1


class Whole(nn.Module):
    def __init__(self):
        super().__init__()
        self.part = NAMESPACE["Part"]()  # built by name, as a student's class builds its parts

    def forward(self, x):
        return self.part(x)


NAMESPACE = {"Part": Part, "Whole": Whole}


def twice(model, x):
    return model(model(x))


def test_a_class_is_built_with_the_stand_ins_of_its_failed_parts_and_a_support_function_can_call_it(monkeypatch):
    """The stand-in for a part is in place while the class is constructed (it builds its parts then),
    and ``method: "support:<name>"`` calls the support module's function with the instance."""
    import types

    from autograder.sandbox.inside.checker.calling import call_and_judge

    support = types.ModuleType("checks_support")
    support.STAND_INS, support.twice = {"ProbePart": ProbePart}, twice
    monkeypatch.setitem(sys.modules, "checks_support", support)
    call = {"function": "Whole", "shown": "twice(Whole(), x)", "args": [torch.zeros(2)], "mistakes": [],
            "expect": [{"close": torch.full((2,), 2.0), "rtol": 0, "atol": 0, "what": "w", "stand_in": [
                {"callees": ["Part"], "close": torch.full((2,), -2.0), "note": " (stand-in)"}]}],
            "build": {"args": [], "kwargs": {}, "seed": 0, "state": None, "train": False},
            "method": "support:twice", "stand_in": {"Part": "ProbePart"}}
    assert call_and_judge(Whole, call, namespace=NAMESPACE).passed
    assert call_and_judge(Whole, call, namespace=NAMESPACE, failed={"Part"}).passed
    assert NAMESPACE["Part"] is Part  # put back
    wrong = {**call, "expect": [{**call["expect"][0], "stand_in": []}]}
    assert not call_and_judge(Whole, wrong, namespace=NAMESPACE, failed={"Part"}).passed


def test_a_message_says_where_two_tensors_differ_when_their_first_numbers_agree():
    """Causal weights go wrong after position 0: the first numbers shown are alike, so the message
    names the first place they differ; when the shown numbers already differ, it says nothing more."""
    expected = torch.tensor([[1.0, 0, 0, 0, 0.5], [0.2, 0.8, 0, 0, 0]])
    closeness = call([{"close": expected, "rtol": 1e-4, "atol": 1e-6, "what": "w"}])
    wrong_late = expected.clone()
    wrong_late[0, 4] = 0.9
    assert judge(closeness, wrong_late).message.endswith("they first differ at index (0, 4): expected 0.5, got 0.9.")
    wrong_early = wrong_late.clone()
    wrong_early[0, 0] = 2.0
    assert "first differ" not in judge(closeness, wrong_early).message
