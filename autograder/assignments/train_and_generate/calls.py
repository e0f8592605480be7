"""Every graded call of train_and_generate, as plain data (see ``checker.judge``).

Models and optimizers are named ({"ref": ...}) and built where the student's code runs; the
expected values come from the same models built here. ``calc_loss_loader`` and ``train_step`` run
with the student's own ``calc_loss_batch`` when it passed its checks, and otherwise with the kit's
stand-in for it, accepting then either the stand-in's answer (they called ``calc_loss_batch``, as
the book does) or the real loss's (they computed it themselves).
Greedy generation is compared token for token; sampling is judged by properties every correct
sampler has (``checker.judge._sampled``), never by its random draws.
"""

from __future__ import annotations

import functools
from functools import cache

import torch

from autograder.assignments.train_and_generate import cases, hints
from autograder.assignments.train_and_generate.support import probe_loss
from autograder.checks.call import Call
from autograder.sandbox.inside.checker import inputs
from solutions import train_and_generate as reference

STAND_IN = {"calc_loss_batch": "probe_loss"}
STAND_IN_NOTE = ("; your calc_loss_batch failed its own checks, so while this runs, its calls of calc_loss_batch go "
                 "to the kit's own stand-in loss, so that the mistake there costs only calc_loss_batch's points")
LOSS_RTOL = 1e-5  # float32 rounding of another correct computation is about 1e-7 relative
STEP_ATOL = 1e-6  # parameters of order 0.1 to 1, moved by 0.1 x a gradient: rounding is far below this
GRAD_RTOL, GRAD_ATOL = 1e-4, 1e-6  # gradients of another correct loss computation differ by rounding only
# Each rate check fails a correct sampler with probability below this (Azuma-Hoeffding, see
# checker.judge._sampled); a submission meets at most three of them, so below 1e-6 in all.
FALSE_FAILURE = 2.5e-7


def memoized(build):
    """The same call for the same inputs, built once per process: a batch worker grades many notebooks
    with the same hidden calls, whose expected values (reference models built, steps taken, hints'
    wrong answers computed) would otherwise be computed again for each one."""
    built: dict = {}

    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        key = _key((args, kwargs))
        if key not in built:
            built[key] = build(*args, **kwargs)
        return built[key]
    return wrapper


def _key(value):
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype), tuple(value.shape), hash(value.contiguous().numpy().tobytes()))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _key(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_key(v) for v in value))
    return value


def _call(function: str, shown: str, args: list, expect: list[dict], case: dict, **extra) -> Call:
    return Call(function, shown, args, expect, hints.mistakes_for(function, case), **extra)


def _ref(spec: dict) -> dict:
    return inputs.model_ref(spec, _model_shown(spec))


def _model_shown(spec: dict) -> str:
    return f"GPTModel(seed {spec['seed']}, {spec['config']['n_layers']} layers)"


@memoized
def input_target_pairs(ids: torch.Tensor, max_length: int, stride: int, ids_shown: str | None = None) -> dict:
    inputs, targets = reference.input_target_pairs(ids, max_length, stride)
    shown = f"input_target_pairs({ids_shown or f'{len(ids)} token ids'}, max_length={max_length}, stride={stride})"
    spec = {"dtype": "int64", "shape": list(inputs.shape),
            "hint": f"One row per start in range(0, {len(ids)} - {max_length}, {stride}), each {max_length} long."}
    expect = [{"pair": "(inputs, targets)"}]
    for index, name, expected in ((0, "inputs", inputs), (1, "targets", targets)):
        item_shown = f"the {name} of {shown}"
        expect += [{"item": [index, item_shown, {"tensor": spec}]}, {"item": [index, item_shown, {"equal": expected}]}]
    case = {"rows": inputs.shape[0], "max_length": max_length, "inputs": inputs}
    return _call("input_target_pairs", shown, [ids], expect, case, kwargs={"max_length": max_length, "stride": stride})


@memoized
def calc_loss_batch(spec: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
    """The loss's value, and the gradients backward() on it leaves on the model: a loss that cannot
    train (computed without gradients) is wrong, however right its number."""
    loss = cases.loss(spec, x, y)
    shown = f"calc_loss_batch(inputs of shape {tuple(x.shape)}, targets, {_model_shown(spec)}, 'cpu')"
    expect = [{"tensor": {"shape": [], "hint": "Return the loss as a 0-dim tensor, not `.item()`: training calls "
                                               "backward() on it."}},
              {"close": torch.tensor(loss, dtype=torch.float64), "rtol": LOSS_RTOL, "what": shown},
              {"grads": {"arg": 2, "expected": cases.gradients(spec, x, y), "rtol": GRAD_RTOL, "atol": GRAD_ATOL,
                         "what": shown}}]
    return _call("calc_loss_batch", shown, [x, y, _ref(spec), "cpu"], expect, {"x": x, "loss": loss},
                 after=["grad:2"])


@memoized
def calc_loss_loader(spec: dict, batches: list[tuple[torch.Tensor, torch.Tensor]], num_batches: int | None) -> dict:
    shape = f" of shape {tuple(batches[0][0].shape)}" if batches else ""
    shown = (f"calc_loss_loader(a list of {len(batches)} batches{shape}, {_model_shown(spec)}, 'cpu', "
             f"num_batches={num_batches})")
    expect = [{"float": {"hint": "Add up the losses as numbers (`loss.item()`) and return their mean."}}]
    if not batches:
        expect.append({"nan": {"what": f"{shown}, for an empty loader"}})
    else:
        used = batches[:num_batches] if num_batches is not None else batches
        probe, real = (sum(cases.loss(spec, x, y, loss) for x, y in used) / len(used)
                       for loss in (probe_loss, reference.calc_loss_batch))
        expect.append(_loss_close(real, probe, f"the mean batch loss of {shown} over {len(used)} batches"))
    args = [[[x, y] for x, y in batches], _ref(spec), "cpu"]
    named = {"num_batches": num_batches} if num_batches is not None else {}
    # Under torch.no_grad(), as the notebook's example and the book's evaluate_model call it.
    return _call("calc_loss_loader", shown, args, expect, {}, stand_in=STAND_IN, kwargs=named, grad=False)


@memoized
def train_step(spec: dict, optimizer: dict, x: torch.Tensor, y: torch.Tensor, count: int = 1) -> dict:
    """One step, or ``count`` steps in a row with the same model and optimizer (each returns its loss)."""
    kind = optimizer["kind"] + "".join(f", {k}={v}" for k, v in sorted(optimizer.items()) if k not in ("kind", "arg"))
    stale = " whose .grad holds a previous step's gradients" if spec["grad"] else ""
    shown = f"train_step({_model_shown(spec)}{stale}, {kind}, a batch of shape {tuple(x.shape)}, 'cpu')"
    if count > 1:
        shown = f"{count} calls in a row of {shown}"
    (probe, probe_params), (real, real_params) = (cases.steps(spec, optimizer, x, y, loss, count)
                                                  for loss in (probe_loss, reference.calc_loss_batch))
    expect = []
    for index in range(count):
        step_expect = [{"float": {"hint": "Return `loss.item()`, the batch's loss before the step."}},
                       _loss_close(real[index], probe[index], f"the loss {shown} returned"
                                   f"{f' the {_ordinal(index)} time' if count > 1 else ''} (before the step)")]
        expect += step_expect if count == 1 else [{"item": [index, shown, e]} for e in step_expect]
    expect.append({"params": {"arg": 0, "expected": [probe_params, real_params], "before": cases.before(spec),
                              "atol": STEP_ATOL, "what": shown}})
    args = [_ref(spec), inputs.optimizer_ref(arg=0, **{k: v for k, v in optimizer.items() if k != "arg"}),
            x, y, "cpu"]
    case = {"spec": spec, "optimizer": optimizer, "x": x, "y": y, "count": count}
    extra = {"repeat": count} if count > 1 else {}
    return _call("train_step", shown, args, expect, case, after=[0], stand_in=STAND_IN, **extra)


def _loss_close(real: float, probe: float, what: str) -> dict:
    """The real loss; or, when the call ran with the stand-in for a failed calc_loss_batch, the
    stand-in's (or the real one, for a caller that computes its loss itself)."""
    return {"close": torch.tensor(real, dtype=torch.float64), "rtol": LOSS_RTOL, "what": what,
            "stand_in": {"close": torch.tensor(probe, dtype=torch.float64), "note": STAND_IN_NOTE}}


def _ordinal(index: int) -> str:
    return ("first", "second", "third", "fourth", "fifth")[index]


def _generate_args(spec: dict, prompt: torch.Tensor, new: int, context: int, temperature: float, top_k, eos) -> dict:
    """The model, the prompt and the count in order; the options by name, as the notebook passes them."""
    named = {"context_size": context}
    named.update({"temperature": temperature} if temperature else {})
    named.update({"top_k": top_k} if top_k is not None else {})
    named.update({"eos_id": eos} if eos is not None else {})
    return {"args": [_ref(spec), prompt, new], "kwargs": named}


def _generate_shown(spec, prompt, new, context, temperature, top_k, eos) -> str:
    options = "".join(f", {name}={value}" for name, value in
                      (("temperature", temperature), ("top_k", top_k), ("eos_id", eos)) if value)
    ids = prompt.tolist()[0] if prompt.shape[1] <= 6 else f"{prompt.shape[1]} token ids"
    return f"generate({_model_shown(spec)}, {ids}, {new}, context_size={context}{options})"


@memoized
def generate_greedy(spec: dict, prompt: torch.Tensor, new: int, context: int, temperature: float = 0.0,
                    top_k: int | None = None, eos: int | None = None) -> dict:
    """A call whose answer is certain: temperature 0, or top_k=1 at any temperature."""
    expected = cases.greedy(spec, prompt, new, context, eos=eos)
    shown = _generate_shown(spec, prompt, new, context, temperature, top_k, eos)
    expect = [{"tensor": {"dtype": "int64", "shape": list(expected.shape)}}, {"equal": expected}]
    case = {"spec": spec, "prompt": prompt, "new": new, "context": context, "eos": eos, "top_k": top_k,
            "temperature": temperature}
    return _call("generate", shown, expect=expect, case=case,
                 **_generate_args(spec, prompt, new, context, temperature, top_k, eos))


@memoized
def generate_sampled(config_key: str, seed: int, prompt: list[int], new: int, context: int, temperature: float,
                     top_k: int, rate: bool = False) -> dict:
    """Sampling: every token after the prompt must be one of the top k given the (up to ``context``)
    tokens before it, and, with ``rate``, the most likely of them drawn as often as its probability
    says. The kit recomputes each token's distribution from the sequence returned (``checker.sampled``),
    so every context length the sequence passes through is judged, from the prompt's on."""
    spec = cases.model_spec(cases.CONFIGS[config_key], seed)
    ids = torch.tensor([prompt])
    shown = _generate_shown(spec, ids, new, context, temperature, top_k, None)
    sampled = {"model": spec, "prompt": list(prompt), "context": context, "top_k": top_k, "temperature": temperature,
               "false_failure": FALSE_FAILURE, "what": f"{shown} kept other tokens than the {top_k} most likely"}
    if rate:
        sampled.update(rate=True, what=f"{shown} did not sample from softmax(logits / {temperature})")
    expect = [{"tensor": {"dtype": "int64", "shape": [1, len(prompt) + new]}}, {"sampled": sampled}]
    case = {"spec": spec, "prompt": ids, "new": new, "context": context, "sampled": sampled}
    return _call("generate", shown, expect=expect, case=case,
                 **_generate_args(spec, ids, new, context, temperature, top_k, None))


# ------------------------------------------------------------------ the visible checks, as in the notebook


@cache
def visible() -> tuple[Call, ...]:
    """The visible checks: the notebook's own examples, one test per function. The release ships them."""
    tiny = cases.TINY
    prompt = torch.tensor([[1, 2, 3]])
    first = int(cases.greedy(cases.model_spec(tiny, 8), prompt, 1, 16)[0, -1])
    return (
        input_target_pairs(torch.arange(10, 20), 4, 2, ids_shown="torch.arange(10, 20)"),
        calc_loss_batch(cases.model_spec(tiny, 1), *cases.batch((2, 6), seed=1)),
        calc_loss_loader(cases.model_spec(tiny, 4), [cases.batch((2, 5), seed=s) for s in (2, 3, 4)], None),
        calc_loss_loader(cases.model_spec(tiny, 4), [cases.batch((2, 5), seed=s) for s in (2, 3, 4)], 2),
        calc_loss_loader(cases.model_spec(tiny, 4), [], None),
        train_step(cases.model_spec(tiny, 5, train=True), {"kind": "SGD", "arg": 0, "lr": 0.1},
                   *cases.batch((2, 6), seed=5)),
        train_step(cases.model_spec(tiny, 5, train=True, grad=cases.STALE_GRAD), {"kind": "SGD", "arg": 0, "lr": 0.1},
                   *cases.batch((2, 6), seed=5)),
        generate_greedy(cases.model_spec(tiny, 8), prompt, 5, 16),
        generate_greedy(cases.model_spec(tiny, 8), prompt, 5, 16, temperature=1.0, top_k=1),
        generate_greedy(cases.model_spec(tiny, 8), prompt, 5, 16, eos=first),
        generate_sampled("tiny", 8, [1, 2, 3], new=60, context=16, temperature=5.0, top_k=3),
    )


def visible_of(function: str) -> list[dict]:
    return [call for call in visible() if call.function == function]
