"""Every graded call of gpt_model, as plain data (see the engine's ``judge``).

Each class is built in the student's process from its constructor arguments and a seed (``build``),
given the reference's parameters (the layer norms' scale and shift drawn at random, so that a
swapped or ignored one shows), and called on hidden inputs; ``forms`` gives the expected values,
each known mistake's outcome, and what a correct class computes with the kit's stand-ins in place of
the parts that failed. Properties judge what one answer cannot: a layer norm's rows at
initialisation, a block whose branches give zeros returning its input, and the shortcut dropout in
train mode (``dropout`` with the block's input as its base).
"""

from __future__ import annotations

from functools import cache

import torch

from autograder.assignments.gpt_model import forms, hints, support
from autograder.checks import stand_ins
from autograder.checks.call import Call

RTOL, ATOL = 1e-4, 1e-5  # another correct order of float32 operations rounds apart by about 1e-6 here
PROBES = {"LayerNorm": support.ProbeLayerNorm, "GELU": support.ProbeGELU, "FeedForward": support.ProbeFeedForward,
          "TransformerBlock": support.ProbeTransformerBlock}
CALLEES = {"LayerNorm": (), "GELU": (), "FeedForward": ("GELU",),
           "TransformerBlock": ("LayerNorm", "GELU", "FeedForward"),
           "GPTModel": ("LayerNorm", "GELU", "FeedForward", "TransformerBlock")}
# Each shortcut-dropout check fails a correct block with probability below this (Hoeffding, see the
# engine's ``dropout``); a submission meets one, so below 1e-6.
FALSE_FAILURE = 2.5e-7
TRAIN_P = 0.3  # not 0.5: keeping with probability p instead of dropping would pass at 0.5


def config(vocab: int = 50, context: int = 8, emb: int = 8, heads: int = 2, layers: int = 2, drop: float = 0.0,
           bias: bool = False) -> dict:
    return {"vocab_size": vocab, "context_length": context, "emb_dim": emb, "n_heads": heads, "n_layers": layers,
            "drop_rate": drop, "qkv_bias": bias}


def randn(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale


def token_ids(shape: tuple[int, int], seed: int, vocab: int) -> torch.Tensor:
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


def _shown_config(cfg: dict) -> str:
    return "cfg(" + ", ".join(f"{k}={v}" for k, v in cfg.items()) + ")"


def _constructed(kind: str, args: list) -> str:
    return f"{kind}({', '.join(_shown_config(a) if isinstance(a, dict) else repr(a) for a in args)})"


def reference_state(kind: str, args: list, seed: int) -> dict[str, torch.Tensor]:
    """The reference's parameters from ``seed``, with every layer norm's scale and shift drawn at random."""
    torch.manual_seed(seed)
    state = {name: t.detach().clone() for name, t in forms.built(kind, args, None).state_dict().items()}
    generator = torch.Generator().manual_seed(seed + 1)
    for name, tensor in state.items():
        if name.endswith(".scale") or name == "scale":
            state[name] = 1 + 0.5 * torch.randn(tensor.shape, generator=generator)
        elif name.endswith(".shift") or name == "shift":
            state[name] = 0.5 * torch.randn(tensor.shape, generator=generator)
    return state


def _probes(chosen: tuple[str, ...]) -> dict:
    return {name: PROBES[name] for name in chosen}


def _with_stand_ins(kind: str, compute) -> list[dict]:
    """What a correct ``kind`` gives with the stand-ins in place of each set of parts it builds (the
    largest first): ``compute(replaced)``."""
    return stand_ins.alternatives(CALLEES[kind], lambda chosen: compute(_probes(chosen)))


def _mistakes(kind: str, compute) -> list[dict]:
    return [{"name": hint.name, "text": hint.text,
             "when": {"any": [{"close": compute(forms.MISTAKES[form]), "rtol": RTOL, "atol": ATOL}
                              for form in hint.forms]}}
            for hint in hints.for_function(kind) if hint.forms]


def _layout(kind: str, args: list, state: dict) -> dict:
    return {"layout": {"arg": "self", "expected": {n: list(t.shape) for n, t in state.items()},
                       "what": _constructed(kind, args)}}


def _build(args: list, seed: int, state: dict | None, train: bool = False) -> dict:
    return {"args": args, "kwargs": {}, "seed": seed, "state": state, "train": train}


def _stand_in(kind: str) -> dict:
    return {name: f"Probe{name}" for name in CALLEES[kind]}


def outputs(kind: str, args: list, x: torch.Tensor, seed: int, shown_x: str, repeat: int = 1) -> Call:
    """The class with the reference's parameters, in eval mode, on ``x``; with ``repeat``, calls in a row."""
    state = reference_state(kind, args, seed) if kind != "GELU" else None  # none: a buffer of its own is fine
    expected = forms.output(kind, args, state, x)
    whose = " with the reference's parameters" if state is not None else ""
    shown = f"{_constructed(kind, args)}{whose}, on {shown_x}"
    if repeat > 1:
        shown = f"{repeat} calls in a row, in eval mode, of {shown}"
    close = {"close": expected, "rtol": RTOL, "atol": ATOL, "what": shown,
             "stand_in": _with_stand_ins(kind, lambda replaced: forms.output(kind, args, state, x, replaced))}
    spec = {"tensor": {"dtype": "float32", "shape": list(expected.shape)}}
    expect = [_layout(kind, args, state)] if state is not None else []
    expect += [spec, close] if repeat == 1 else [{"item": [i, shown, e]} for i in range(repeat) for e in (spec, close)]
    mistakes = _mistakes(kind, lambda replaced: forms.output(kind, args, state, x, replaced))
    if kind == "GPTModel":
        mistakes += [{"name": name, "text": hints.named(name).text, "when": when}
                     for name, when in (("positions_of_the_wrong_length", hints.POSITIONS_RAISED),
                                        ("out_head_with_bias", hints.OUT_HEAD_BIAS))]
    return Call(kind, shown, [x], expect, mistakes, build=_build(args, seed, state),
                after=["self"] if state is not None else [], stand_in=_stand_in(kind), repeat=repeat)


def layer_norm_at_init(emb_dim: int, x: torch.Tensor, seed: int) -> Call:
    """LayerNorm as the student built it: scale 1 and shift 0, so each row must come out with mean 0 and
    variance 1 (and the normalisation the reference gives)."""
    expected = forms.output("LayerNorm", [emb_dim], None, x)
    shown = f"LayerNorm({emb_dim}) as built (scale 1, shift 0), on a tensor of shape {tuple(x.shape)}"
    what = f"{shown}: at initialisation every row must come out with mean 0 and variance 1 (biased)"
    state = reference_state("LayerNorm", [emb_dim], seed)
    return Call("LayerNorm", shown, [x], [_layout("LayerNorm", [emb_dim], state),
                                         {"tensor": {"dtype": "float32", "shape": list(x.shape)}},
                                         {"close": expected, "rtol": RTOL, "atol": ATOL, "what": what}],
                _mistakes("LayerNorm", lambda replaced: forms.output("LayerNorm", [emb_dim], None, x, replaced)),
                build=_build([emb_dim], seed, None), after=["self"])


def layer_norm_input(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Rows of several spreads, the last one nearly constant, where eps matters."""
    x = randn(shape, seed, 2.0) + 0.5
    x[..., -1, :] = 0.3 + randn(x[..., -1, :].shape, seed + 1, 1e-2)
    return x


def _zeroed(state: dict, prefixes: tuple[str, ...]) -> dict:
    return {n: torch.zeros_like(t) if n.startswith(prefixes) else t for n, t in state.items()}


def residual(cfg: dict, x: torch.Tensor, seed: int) -> Call:
    """A block whose attention and feed-forward branches both give zeros (their last layers zeroed) must
    return its input: the block is its input plus a residual."""
    state = _zeroed(reference_state("TransformerBlock", [cfg], seed), ("att.out_proj.", "ff.layers.2."))
    shown = (f"{_constructed('TransformerBlock', [cfg])} whose attention and feed-forward branches give zeros "
             f"(their last layers zeroed), on a tensor of shape {tuple(x.shape)}")
    what = f"{shown}: a block adds each branch to its input, so with both branches zero it must return its input"
    return Call("TransformerBlock", shown, [x], [{"tensor": {"dtype": "float32", "shape": list(x.shape)}},
                                                 {"close": x, "rtol": RTOL, "atol": ATOL, "what": what}],
                _mistakes("TransformerBlock", lambda replaced: forms.output("TransformerBlock", [cfg], state, x,
                                                                            replaced)),
                build=_build([cfg], seed, state), stand_in=_stand_in("TransformerBlock"))


def shortcut_dropout(cfg: dict, x: torch.Tensor, seed: int) -> Call:
    """In train mode, with the attention branch zeroed, the output minus the input is the feed-forward
    branch after dropout: each entry 0 or the eval-mode one scaled by 1 / (1 - p), about p of them 0."""
    state = _zeroed(reference_state("TransformerBlock", [cfg], seed), ("att.out_proj.",))
    args = [cfg]

    def branch(replaced=None):
        return forms.output("TransformerBlock", args, state, x, replaced) - x

    p = cfg["drop_rate"]
    shown = (f"{_constructed('TransformerBlock', args)} in train mode, its attention branch zeroed, on a tensor of "
             f"shape {tuple(x.shape)}")
    dropped = {"kept": branch(), "base": x, "p": p, "block": cfg["emb_dim"] // 2, "twins": False,
               "false_failure": FALSE_FAILURE, "what": f"{shown}: the feed-forward branch, dropped",
               "stand_in": [{"callees": s["callees"], "kept": s["close"]} for s in
                            _with_stand_ins("TransformerBlock", branch)]}
    misplaced = {"any": [
        {"dropout": {**dropped, "kept": branch() + x, "base": torch.zeros(()), "share": False,
                     "stand_in": []}},  # the sum dropped, shortcut and all
        {"close": branch() + x, "rtol": RTOL, "atol": ATOL}]}  # no dropout on the branch
    hint = hints.named("dropout_misplaced")
    return Call("TransformerBlock", shown, [x], [{"tensor": {"dtype": "float32", "shape": list(x.shape)}},
                                                 {"dropout": dropped}],
                [{"name": hint.name, "text": hint.text, "when": misplaced}],
                build=_build(args, seed, state, train=True), stand_in=_stand_in("TransformerBlock"))


def generation(cfg: dict, prompt: torch.Tensor, new: int, seed: int) -> Call:
    """generate_text_simple (the notebook's, shipped in checks_support.py) with the student's model given
    the reference's parameters must produce the reference's tokens."""
    args = [cfg]
    state = reference_state("GPTModel", args, seed)

    def tokens(replaced=None):
        return support.generate_text_simple(forms.built("GPTModel", args, state, replaced), prompt, new,
                                            cfg["context_length"])

    shown = (f"generate_text_simple({_constructed('GPTModel', args)} with the reference's parameters, "
             f"{prompt.tolist()}, {new}, context_size={cfg['context_length']})")
    expected = tokens()
    alternatives = _with_stand_ins("GPTModel", tokens)
    return Call("GPTModel", shown, [prompt, new, cfg["context_length"]],
                [{"tensor": {"dtype": "int64", "shape": list(expected.shape)}},
                 {"close": expected, "rtol": 0, "atol": 0, "what": f"{shown}: the greedy tokens",
                  "stand_in": alternatives}],
                [], build=_build(args, seed, state), method="support:generate_text_simple",
                stand_in=_stand_in("GPTModel"))


TINY = config(vocab=50, context=8, emb=8, heads=2, layers=2)


@cache
def visible() -> tuple[Call, ...]:
    """The notebook's own examples, and what its test cells check: students see these checks, and
    check.py ships them, so that no test cell is stricter than check.py."""
    batch = layer_norm_input((2, 5), 123)
    x = randn((2, 4, 8), 3)
    return (
        layer_norm_at_init(5, batch, seed=0),
        outputs("LayerNorm", [5], batch, seed=1, shown_x="a tensor of shape (2, 5)"),
        outputs("GELU", [], torch.linspace(-3, 3, 13), seed=0, shown_x="torch.linspace(-3, 3, 13)"),
        outputs("FeedForward", [TINY], x, seed=2, shown_x="a tensor of shape (2, 4, 8)"),
        outputs("TransformerBlock", [TINY], x, seed=3, shown_x="a tensor of shape (2, 4, 8)"),
        residual(TINY, x, seed=3),
        outputs("GPTModel", [TINY], token_ids((2, 4), 4, 50), seed=4, shown_x="token ids of shape (2, 4)"),
        generation(TINY, torch.tensor([[1, 2, 3]]), 6, seed=4),
    )
