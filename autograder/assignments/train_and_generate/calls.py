"""Every graded call of train_and_generate, as plain data (see ``checker.judge``).

Models and optimizers are named ({"ref": ...}) and built where the student's code runs; the
expected values come from the same models built here. ``calc_loss_loader`` and ``train_step`` run
with the kit's stand-in for ``calc_loss_batch`` and accept either the stand-in's answer (they
called ``calc_loss_batch``, as the book does) or the real loss's (they computed it themselves).
Greedy generation is compared token for token; sampling is judged by properties every correct
sampler has (``checker.judge._sampled``), never by its random draws.
"""

from __future__ import annotations

from functools import cache

import torch

from autograder.assignments.train_and_generate import cases, hints
from autograder.assignments.train_and_generate.support import probe_loss
from autograder.checks.call import Call
from autograder.sandbox.inside.checker import inputs
from solutions import train_and_generate as reference

STAND_IN = {"calc_loss_batch": "probe_loss"}
STAND_IN_NOTE = ("; while it runs, its calls of calc_loss_batch go to the kit's own stand-in loss, so that a mistake "
                 "there costs only calc_loss_batch's points")
LOSS_RTOL = 1e-5  # float32 rounding of another correct computation is about 1e-7 relative
STEP_ATOL = 1e-6  # parameters of order 0.1 to 1, moved by 0.1 x a gradient: rounding is far below this
# Each rate check fails a correct sampler with probability below this (Azuma-Hoeffding, see
# checker.judge._sampled); a submission meets at most three of them, so below 1e-6 in all.
FALSE_FAILURE = 2.5e-7


def _call(function: str, shown: str, args: list, expect: list[dict], case: dict, **extra) -> Call:
    return Call(function, shown, args, expect, hints.mistakes_for(function, case), **extra)


def _ref(spec: dict) -> dict:
    return inputs.model_ref(spec, _model_shown(spec))


def _model_shown(spec: dict) -> str:
    return f"GPTModel(seed {spec['seed']}, {spec['config']['n_layers']} layers)"


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
    return _call("input_target_pairs", shown, [ids, max_length, stride], expect, case)


def calc_loss_batch(spec: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
    loss = cases.loss(spec, x, y)
    shown = f"calc_loss_batch(inputs of shape {tuple(x.shape)}, targets, {_model_shown(spec)}, 'cpu')"
    expect = [{"tensor": {"shape": [], "hint": "Return the loss as a 0-dim tensor, not `.item()`: training calls "
                                               "backward() on it."}},
              {"close": torch.tensor(loss, dtype=torch.float64), "rtol": LOSS_RTOL, "what": shown}]
    return _call("calc_loss_batch", shown, [x, y, _ref(spec), "cpu"], expect, {"x": x, "loss": loss})


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
        expect.append({"close": torch.tensor(probe, dtype=torch.float64),
                       "also": [torch.tensor(real, dtype=torch.float64)],
                       "rtol": LOSS_RTOL,
                       "what": f"the mean batch loss of {shown} over {len(used)} batches{STAND_IN_NOTE}"})
    args = [[[x, y] for x, y in batches], _ref(spec), "cpu", num_batches]
    return _call("calc_loss_loader", shown, args, expect, {}, stand_in=STAND_IN)


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
        losses = [torch.tensor(value[index], dtype=torch.float64) for value in (probe, real)]
        step_expect = [{"float": {"hint": "Return `loss.item()`, the batch's loss before the step."}},
                       {"close": losses[0], "also": losses[1:], "rtol": LOSS_RTOL,
                        "what": f"the loss {shown} returned{f' the {_ordinal(index)} time' if count > 1 else ''} "
                                f"(before the step){STAND_IN_NOTE}"}]
        expect += step_expect if count == 1 else [{"item": [index, shown, e]} for e in step_expect]
    expect.append({"params": {"arg": 0, "expected": [probe_params, real_params], "before": cases.before(spec),
                              "atol": STEP_ATOL, "what": shown}})
    args = [_ref(spec), inputs.optimizer_ref(arg=0, **{k: v for k, v in optimizer.items() if k != "arg"}),
            x, y, "cpu"]
    case = {"spec": spec, "optimizer": optimizer, "x": x, "y": y, "count": count}
    extra = {"repeat": count} if count > 1 else {}
    return _call("train_step", shown, args, expect, case, after=[0], stand_in=STAND_IN, **extra)


def _ordinal(index: int) -> str:
    return ("first", "second", "third", "fourth", "fifth")[index]


def _generate_args(spec: dict, prompt: torch.Tensor, new: int, context: int, temperature: float, top_k, eos) -> list:
    return [_ref(spec), prompt, new, context, temperature, top_k, eos]


def _generate_shown(spec, prompt, new, context, temperature, top_k, eos) -> str:
    options = "".join(f", {name}={value}" for name, value in
                      (("temperature", temperature), ("top_k", top_k), ("eos_id", eos)) if value)
    ids = prompt.tolist()[0] if prompt.shape[1] <= 6 else f"{prompt.shape[1]} token ids"
    return f"generate({_model_shown(spec)}, {ids}, {new}, context_size={context}{options})"


def generate_greedy(spec: dict, prompt: torch.Tensor, new: int, context: int, temperature: float = 0.0,
                    top_k: int | None = None, eos: int | None = None) -> dict:
    """A call whose answer is certain: temperature 0, or top_k=1 at any temperature."""
    expected = cases.greedy(spec, prompt, new, context, eos=eos)
    shown = _generate_shown(spec, prompt, new, context, temperature, top_k, eos)
    expect = [{"tensor": {"dtype": "int64", "shape": list(expected.shape)}}, {"equal": expected}]
    case = {"spec": spec, "prompt": prompt, "new": new, "context": context, "eos": eos, "top_k": top_k,
            "temperature": temperature}
    return _call("generate", shown, _generate_args(spec, prompt, new, context, temperature, top_k, eos), expect, case)


def generate_sampled(config_key: str, seed: int, start: int, new: int, temperature: float, top_k: int,
                     rate: bool = False) -> dict:
    """Sampling with one token of context: every token must be one of the top k after its previous
    one, and, with ``rate``, the most likely of them drawn as often as its probability says."""
    spec = cases.model_spec(cases.CONFIGS[config_key], seed)
    logits = cases.next_token_logits(config_key, seed)
    prompt = torch.tensor([[start]])
    shown = _generate_shown(spec, prompt, new, 1, temperature, top_k, None)
    allowed = {"start": 1, "allowed": torch.topk(logits, top_k).indices.tolist(),
               "what": f"{shown} kept other tokens than the {top_k} most likely"}
    expect = [{"tensor": {"dtype": "int64", "shape": [1, 1 + new]}}, {"transitions": allowed}]
    case = {"spec": spec, "prompt": prompt, "new": new, "context": 1, "allowed": allowed,
            "smallest": {**allowed, "allowed": torch.topk(logits, top_k, largest=False).indices.tolist()}}
    if rate:
        top = torch.topk(logits, top_k)
        case["rate"], case["rate_at_one"] = ({
            "start": 1, "top": top.indices[:, 0].tolist(), "false_failure": FALSE_FAILURE,
            "p": torch.softmax(top.values.double() / t, dim=-1)[:, 0].tolist(),
            "what": f"{shown} did not sample from softmax(logits / {temperature})"} for t in (temperature, 1.0))
        expect.append({"rate": case["rate"]})
    return _call("generate", shown, _generate_args(spec, prompt, new, 1, temperature, top_k, None), expect, case)


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
        generate_sampled("tiny", 8, start=1, new=60, temperature=5.0, top_k=3),
    )


def visible_of(function: str) -> list[dict]:
    return [call for call in visible() if call.function == function]
