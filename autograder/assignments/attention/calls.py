"""Every graded call of attention, as plain data (see the engine's ``judge``).

The functions are called on tensors. The classes are built in the student's process from their
constructor arguments and a seed (``build``), given the reference's parameters, and called on
hidden inputs; the expected values come from ``forms``, which also gives each known mistake's
outcome and what a correct module computes with the kit's stand-ins for the two functions.

Properties judge what one right answer cannot: causality (a module as the student built it, its own
parameters and mask), rows of weights summing to 1 and dropout in train mode (a module given a value
projection that makes its output show the weights one by one: see the engine's ``dropout``), and
eval mode deterministic (two calls in a row with dropout on).
"""

from __future__ import annotations

import itertools
from functools import cache

import torch

from autograder.assignments.attention import forms, hints
from autograder.assignments.attention.support import probe_scores, probe_weights
from autograder.checks import stand_ins
from autograder.checks.call import Call
from solutions import attention as reference

# The book's six tokens, "Your journey starts with one step", as 3-dimensional embeddings (chapter 3).
BOOK_INPUTS = torch.tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                            [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])
RTOL, ATOL = 1e-4, 1e-6  # another correct order of float32 operations rounds apart by about 1e-7
STAND_IN = {"scaled_attention_scores": "probe_scores", "causal_attention_weights": "probe_weights"}
# Each dropout check fails a correct module with probability below this (Hoeffding, see the engine's
# ``dropout``); a submission meets two of them, so below 1e-6 in all.
FALSE_FAILURE = 2.5e-7
TRAIN_P = 0.3  # not 0.5: a module that keeps with probability p instead of dropping would pass at 0.5
CLASSES = {"SelfAttention": reference.SelfAttention, "CausalAttention": reference.CausalAttention,
           "MultiHeadAttention": reference.MultiHeadAttention}


def randn(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale


def _close(expected: torch.Tensor, what: str, **extra) -> dict:
    return {"close": expected, "rtol": RTOL, "atol": ATOL, "what": what, **extra}


def _matcher(outcomes: list[torch.Tensor]) -> dict:
    return {"any": [{"close": o, "rtol": RTOL, "atol": ATOL, "equal_nan": True} for o in outcomes]}


def _mistakes(function: str, outcome_of) -> list[dict]:
    """Each hint of ``function`` that ``forms`` can compute: its outcome on this call's inputs."""
    return [{"name": hint.name, "text": hint.text, "when": _matcher([outcome_of(form) for form in hint.forms])}
            for hint in hints.for_function(function) if hint.forms]


# ------------------------------------------------------------------ the two functions


def scores_call(queries: torch.Tensor, keys: torch.Tensor, shown_args: str) -> Call:
    expected = reference.scaled_attention_scores(queries, keys)
    shown = f"scaled_attention_scores({shown_args})"
    return Call("scaled_attention_scores", shown, [queries, keys],
                [{"tensor": {"dtype": "float32", "shape": list(expected.shape)}}, _close(expected, shown)],
                _mistakes("scaled_attention_scores", lambda form: forms.scores(queries, keys, form)))


def weights_call(scores: torch.Tensor, shown_args: str) -> Call:
    expected = reference.causal_attention_weights(scores)
    shown = f"causal_attention_weights({shown_args})"
    return Call("causal_attention_weights", shown, [scores],
                [{"tensor": {"dtype": "float32", "shape": list(expected.shape)}}, _close(expected, shown)],
                _mistakes("causal_attention_weights", lambda form: forms.causal_weights(scores, form)))


# ------------------------------------------------------------------ the classes


def constructor_args(kind: str, config: dict) -> list:
    """The arguments in the contract's order, all by position (the book's signatures take them so)."""
    names = {"SelfAttention": ("d_in", "d_out", "qkv_bias"),
             "CausalAttention": ("d_in", "d_out", "context_length", "dropout", "qkv_bias"),
             "MultiHeadAttention": ("d_in", "d_out", "context_length", "dropout", "num_heads", "qkv_bias")}[kind]
    return [config.get(name, False) for name in names]


def _constructed(kind: str, config: dict) -> str:
    return f"{kind}({', '.join(repr(a) for a in constructor_args(kind, config))})"


def reference_state(kind: str, config: dict, seed: int) -> dict[str, torch.Tensor]:
    """The reference module's parameters and buffers, from ``seed``; the query projection is made
    larger so that the weights are far from uniform, and every known mistake shows."""
    torch.manual_seed(seed)
    state = {n: t.detach().clone() for n, t in CLASSES[kind](*constructor_args(kind, config)).state_dict().items()}
    state["W_query.weight"] *= 4
    return state


def _layout(kind: str, config: dict, state: dict) -> dict:
    return {"layout": {"arg": "self", "expected": {n: list(t.shape) for n, t in state.items()},
                       "what": _constructed(kind, config)}}


def _callees(kind: str) -> tuple[str, ...]:
    return ("scaled_attention_scores",) if kind == "SelfAttention" else tuple(STAND_IN)


def _stand_ins(kind: str, outcome_with) -> list[dict]:
    """What a correct module gives with the kit's stand-ins for each set of failed functions it may
    call: ``outcome_with(scoring, weighting)``."""
    return stand_ins.alternatives(_callees(kind), lambda chosen: outcome_with(
        probe_scores if "scaled_attention_scores" in chosen else None,
        probe_weights if "causal_attention_weights" in chosen else None))


def _shown(kind: str, config: dict, x: torch.Tensor, whose: str) -> str:
    return f"{_constructed(kind, config)} with {whose}, on a tensor of shape {tuple(x.shape)}"


def outputs(kind: str, config: dict, x: torch.Tensor, seed: int, own_mask: bool = False, repeat: int = 1,
            train: bool = False) -> Call:
    """The module with the reference's parameters (and its mask, or with ``own_mask`` the student's own),
    in eval mode; with ``repeat``, that many calls in a row, each of which must give the same."""
    state = reference_state(kind, config, seed)
    given = {n: t for n, t in state.items() if not (own_mask and n == "mask")}
    heads = config.get("num_heads", 1)
    expected = forms.output(kind, state, x, heads)
    whose = "the reference's parameters" + (" and its own mask" if own_mask else "")
    shown = _shown(kind, config, x, whose)
    if repeat > 1:
        shown = f"{repeat} calls in a row, in eval mode with dropout={config['dropout']}, of {shown}"
    closeness = _close(expected, shown, stand_in=_stand_ins(
        kind, lambda scoring, weighting: forms.output(kind, state, x, heads, scoring=scoring, weighting=weighting)))
    spec = {"tensor": {"dtype": "float32", "shape": list(expected.shape)}}
    expect = [_layout(kind, config, state)]
    expect += [spec, closeness] if repeat == 1 else [{"item": [i, shown, e]} for i in range(repeat)
                                                     for e in (spec, closeness)]
    mistakes = _mistakes(kind, lambda form: forms.output(kind, state, x, heads, mistake=form))
    if kind != "SelfAttention" and x.shape[-2] < config["context_length"]:
        hint = next(h for h in hints.HINTS if h.name == "mask_not_cut")
        mistakes.append({"name": hint.name, "text": hint.text, "when": hints.MASK_NOT_CUT})
    build = {"args": constructor_args(kind, config), "kwargs": {}, "seed": seed, "state": given, "train": train}
    if own_mask:
        build["keep"] = ["mask"]
    return Call(kind, shown, [x], expect, mistakes, build=build, after=["self"], stand_in=_stand_in(kind),
                repeat=repeat)


def _stand_in(kind: str) -> dict:
    return {callee: STAND_IN[callee] for callee in _callees(kind)}


def causality(kind: str, config: dict, base: torch.Tensor, cuts: tuple[int, ...], seed: int) -> Call:
    """The module as the student built it (its own parameters and mask, after ``torch.manual_seed(seed)``),
    on a batch whose row r differs from row 0 only after position ``cuts[r - 1]``: the outputs up to
    that position must be the same in both."""
    n = base.shape[0]
    rows = [base] + [torch.cat([base[:cut + 1], randn((n - cut - 1, base.shape[1]), seed + cut)]) for cut in cuts]
    x = torch.stack(rows)
    shown = _shown(kind, config, x, f"its own parameters (torch.manual_seed({seed}))")
    expect = [_layout(kind, config, reference_state(kind, config, seed)),
              {"tensor": {"dtype": "float32", "shape": [x.shape[0], n, config["d_out"]]}}]
    expect += [{"agree": {"a": [0, [0, cut + 1]], "b": [r + 1, [0, cut + 1]], "rtol": RTOL, "atol": ATOL,
                          "what": f"{shown}: rows 1 and {r + 2} of the batch differ only after position {cut}, so "
                                  f"their outputs up to position {cut} must not differ (no token may see later ones)"}}
               for r, cut in enumerate(cuts)]
    build = {"args": constructor_args(kind, config), "kwargs": {}, "seed": seed, "state": None, "train": False}
    return Call(kind, shown, [x], expect, [], build=build, after=["self"], stand_in=_stand_in(kind))


def one_hot_state(kind: str, n: int, heads: int, seed: int) -> dict[str, torch.Tensor]:
    """Parameters that make the module's output its attention weights: token j is the one-hot vector
    e_j, and each head's value projection copies it twice, so that output entries (i, j) and (i, n + j)
    of a head are the weight of position i on position j; the output projection is the identity."""
    d_out = heads * 2 * n
    value = torch.zeros(d_out, n)
    for head, j in itertools.product(range(heads), range(n)):
        value[head * 2 * n + j, j] = value[head * 2 * n + n + j, j] = 1.0
    state = {"W_query.weight": randn((d_out, n), seed, 2.0), "W_key.weight": randn((d_out, n), seed + 1, 2.0),
             "W_value.weight": value}
    if kind == "MultiHeadAttention":
        state.update({"out_proj.weight": torch.eye(d_out), "out_proj.bias": torch.zeros(d_out)})
    state["mask"] = torch.triu(torch.ones(n, n), diagonal=1)
    return state


def _weights_config(kind: str, n: int, heads: int, p: float) -> dict:
    config = {"d_in": n, "d_out": heads * 2 * n, "context_length": n, "dropout": p}
    return config | ({"num_heads": heads} if kind == "MultiHeadAttention" else {})


def weights_shown(kind: str, n: int, heads: int, p: float, batch: int, train: bool) -> Call:
    """In eval mode (own mask kept), the weights the output shows sum to 1 per row and are the right ones;
    in train mode (the reference's mask), they are dropped as dropout does, judged by properties."""
    config, state = _weights_config(kind, n, heads, p), one_hot_state(kind, n, heads, seed=n + heads)
    x = torch.eye(n).expand(batch, n, n).clone()
    kept = forms.output(kind, state, x, heads)
    mode = "train" if train else "eval"
    shown = (f"{_constructed(kind, config)} in {mode} mode, with parameters that make its output show the attention "
             f"weights, on {batch} sequences of {n} one-hot tokens")
    spec = {"tensor": {"dtype": "float32", "shape": list(kept.shape)}}
    stand_ins = _stand_ins(kind, lambda scoring, weighting: forms.output(kind, state, x, heads, scoring=scoring,
                                                                         weighting=weighting))
    build = {"args": constructor_args(kind, config), "kwargs": {}, "seed": 0, "train": train}
    if not train:
        build.update(state={k: v for k, v in state.items() if k != "mask"}, keep=["mask"])
        expect = [spec, {"weight_rows": {"block": n, "what": shown}}, _close(kept, shown, stand_in=stand_ins)]
        mistakes = _mistakes(kind, lambda form: forms.output(kind, state, x, heads, mistake=form))
        return Call(kind, shown, [x], expect, mistakes, build=build, stand_in=_stand_in(kind))
    build["state"] = state
    dropped = {"kept": kept, "p": p, "block": n, "false_failure": FALSE_FAILURE, "what": shown,
               "stand_in": [{"callees": s["callees"], "kept": s["close"]} for s in stand_ins]}
    hint = next(h for h in hints.HINTS if h.name == "dropout_misplaced")
    misplaced = {"all": [{"dropout": {**dropped, "twins": False, "share": False}}, {"not": {"dropout": dropped}}]}
    return Call(kind, shown, [x], [spec, {"dropout": dropped}], [{"name": hint.name, "text": hint.text,
                                                                  "when": misplaced}],
                build=build, stand_in=_stand_in(kind))


def indivisible_heads() -> Call:
    config = {"d_in": 4, "d_out": 6, "context_length": 8, "dropout": 0.0, "num_heads": 4}
    shown = f"{_constructed('MultiHeadAttention', config)}, whose d_out is not divisible by num_heads,"
    build = {"args": constructor_args("MultiHeadAttention", config), "kwargs": {}, "seed": 0, "train": False}
    return Call("MultiHeadAttention", shown, [randn((1, 3, 4), 5)],
                [{"raises": {"types": ["AssertionError", "ValueError"], "what": shown}}], [], build=build)


@cache
def visible() -> tuple[Call, ...]:
    """The notebook's own examples, and what else its test cells try (biases, a shorter batch, a
    d_out the heads do not divide): students see these checks, and check.py ships them, so that no
    test cell of the notebook is stricter than check.py."""
    scores = reference.scaled_attention_scores(BOOK_INPUTS, BOOK_INPUTS)
    batch = torch.stack([BOOK_INPUTS, BOOK_INPUTS])
    return (
        scores_call(BOOK_INPUTS, BOOK_INPUTS, "inputs, inputs"),
        weights_call(scores, "scaled_attention_scores(inputs, inputs)"),
        *(outputs("SelfAttention", {"d_in": 3, "d_out": 2, "qkv_bias": bias}, BOOK_INPUTS, seed=789)
          for bias in (False, True)),
        *(outputs("CausalAttention", {"d_in": 3, "d_out": 2, "context_length": 6, "dropout": 0.0}, tokens, seed=123,
                  own_mask=True) for tokens in (batch, batch[:, :4])),
        *(outputs("MultiHeadAttention", {"d_in": 3, "d_out": 2, "context_length": 6, "dropout": 0.0,
                                         "num_heads": 2}, tokens, seed=123, own_mask=True)
          for tokens in (batch, batch[:, :4])),
        indivisible_heads(),
    )
