"""A call's inputs, built where the student's code runs: the grader's sandbox or the student's machine.

Tensors and plain data travel as they are (a fresh copy per call, so a function that writes into its
input cannot change the next check's). What cannot travel is named (``{"ref": name, "shown": text}``)
and built here (``build``): a model of a module beside the notebook from a configuration and a seed,
an optimizer over an earlier argument, or whatever the assignment's own support module builds (a
tokenizer). For a class, the instance a call is made on is built here too (``instance_of``). The kit
builds the same objects from its own copies, so it knows exactly what the student's code received.

The assignment's support module, ``checks_support.py`` (its ``support.py``, shipped beside the
notebook and staged into the sandbox), is where everything the assignment needs lives: ``warm_up``
(what a warm process pays once), ``BUILDERS`` (kinds of reference) and ``STAND_INS`` (stand-ins for
callees). The engine names no assignment, model or tokenizer.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from pathlib import Path
from typing import Any

SUPPORT = "checks_support"  # the assignment's module beside the notebook, if it has one
OPTIMIZERS = ("SGD", "Adam", "AdamW")  # the optimizers a check may name
OPTIMIZER_OPTIONS = ("lr", "weight_decay", "momentum")


class LayoutMismatch(Exception):
    """The reference's parameters do not fit the student's module: the names or shapes differ."""


def support():
    """The assignment's support module, or None when it has none."""
    try:
        return importlib.import_module(SUPPORT)
    except ModuleNotFoundError as exc:
        if exc.name != SUPPORT:
            raise
        return None


def warm_up(folder: Path) -> None:
    """What the assignment's checks need before any call, paid once (a tokenizer's vocabulary, say)."""
    module = support()
    if module is not None and hasattr(module, "warm_up"):
        module.warm_up(Path(folder))


def ref(kind: str, spec: Any, shown: str) -> dict:
    """An argument a call names instead of sending: built where the code runs, by ``build``."""
    arg = spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True)
    return {"ref": f"{kind}:{arg}", "shown": shown}


def model_ref(spec: dict, shown: str) -> dict:
    """{"module", "class", "config", "seed", "train"?, "grad"?}: ``module.class(config)`` after
    torch.manual_seed(seed), in eval mode unless "train"; with "grad", every .grad filled with it."""
    return ref("model", spec, shown)


def optimizer_ref(kind: str, arg: int, **options: float) -> dict:
    """torch.optim.<kind> (one of ``OPTIMIZERS``) over the parameters of argument number ``arg``."""
    return ref("optim", {"kind": kind, "arg": arg, **options}, f"an optimizer ({kind})")


def is_ref(arg: Any) -> bool:
    """An argument a check names instead of sending: {"ref": name, "shown"?: text} (see ``build``)."""
    return isinstance(arg, dict) and "ref" in arg and set(arg) <= {"ref", "shown"} and isinstance(arg["ref"], str)


def arguments(call: dict) -> list:
    """The call's arguments, built and copied afresh."""
    import torch

    values = []
    for arg in call["args"]:  # in order: an optimizer refers to a model argument before it
        values.append(build(arg["ref"], values) if is_ref(arg)
                      else cloned(arg) if isinstance(arg, (torch.Tensor, list)) else arg)
    return values


def cloned(arg):
    """A fresh copy of a tensor argument (or of a list of them, such as a loader's batches), so a
    function that writes into its input cannot change the next check's."""
    import torch

    if isinstance(arg, list):
        return [cloned(item) for item in arg]
    return arg.clone() if isinstance(arg, torch.Tensor) else arg


def build(name: str, earlier: list = ()):
    """An object a check names but cannot send, built here: "model:<json>", "optim:<json>", or a kind
    of the assignment's support module (its ``BUILDERS``)."""
    kind, _, arg = name.partition(":")
    if kind == "model":
        return build_model(json.loads(arg))
    if kind == "optim":
        return build_optimizer(json.loads(arg), earlier)
    builders = getattr(support(), "BUILDERS", {})
    if kind in builders:
        return builders[kind](arg)
    raise ValueError(f"unknown reference {name!r}")


def build_model(spec: dict, model_class=None):
    """``spec["class"]`` of the module beside the notebook, from its configuration after a seed."""
    import torch

    config, seed, grad = spec.get("config"), spec.get("seed"), spec.get("grad")
    if not isinstance(config, dict) or type(seed) is not int:
        raise ValueError("a model reference needs a config dict and an int seed")
    if model_class is None:
        model_class = getattr(importlib.import_module(spec["module"]), spec["class"])
    torch.manual_seed(seed)
    model = model_class(dict(config))
    model.train(bool(spec.get("train")))
    if grad is not None:
        for parameter in model.parameters():
            parameter.grad = torch.full_like(parameter, float(grad))
    return model


def build_optimizer(spec: dict, earlier: list):
    """torch.optim.<kind> over the parameters of argument ``arg``; other optimizers are refused."""
    import torch

    kind, arg = spec.get("kind"), spec.get("arg")
    if kind not in OPTIMIZERS or type(arg) is not int or not 0 <= arg < len(earlier):
        raise ValueError(f"an optimizer reference names one of {OPTIMIZERS} and an earlier argument")
    options = {key: float(spec[key]) for key in OPTIMIZER_OPTIONS if key in spec}
    return getattr(torch.optim, kind)(earlier[arg].parameters(), **options)


def instance_of(cls, spec: dict):
    """The student's class built as a check describes it: ``cls(*args, **kwargs)`` after
    torch.manual_seed(seed), with ``state`` loaded when given (names and shapes must be the
    contract's: ``LayoutMismatch`` says which differ), in train or eval mode."""
    import torch

    if not isinstance(cls, type):
        raise TypeError(f"{getattr(cls, '__name__', cls)!r} is not a class")
    torch.manual_seed(spec.get("seed", 0))
    instance = cls(*spec.get("args", ()), **spec.get("kwargs", {}))
    state = spec.get("state")
    if state is not None:
        own = {name: tuple(tensor.shape) for name, tensor in instance.state_dict().items()}
        given = {name: tuple(tensor.shape) for name, tensor in state.items()}
        problems = [f"missing `{n}` {s}" for n, s in given.items() if n not in own]
        problems += [f"`{n}` {s} is not one of the assignment's" for n, s in own.items() if n not in given]
        problems += [f"`{n}` is {own[n]}, not {s}" for n, s in given.items() if n in own and own[n] != s]
        if problems:
            raise LayoutMismatch(f"the reference's parameters do not fit: {'; '.join(problems)}")
        instance.load_state_dict(state, strict=True)
    if hasattr(instance, "train"):
        instance.train(bool(spec.get("train", False)))
    return instance


def called(function, args: list, repeat: int = 1) -> Any:
    """``function(*args)``; with ``repeat``, that many calls in a row on the same objects (a model
    and its optimizer, several steps), and the list of what each returned."""
    if repeat == 1:
        return function(*args)
    return [function(*args) for _ in range(repeat)]


def parameters_of(model) -> list:
    """[[name, tensor], ...] of a model's parameters, copied: what a call did to them, as plain data."""
    return [[name, parameter.detach().clone()] for name, parameter in model.named_parameters()]


def state_of(module) -> list:
    """[[name, tensor], ...] of a module's parameters and buffers (its state dict), copied."""
    return [[name, tensor.detach().clone()] for name, tensor in module.state_dict().items()]


@contextlib.contextmanager
def standing_in(namespace: dict, stand_ins: dict[str, str]):
    """The notebook's functions named in ``stand_ins`` replaced by the assignment's stand-ins (its
    support module's ``STAND_INS``) for the duration of a call, and put back after it, however it ends."""
    known = getattr(support(), "STAND_INS", {}) if stand_ins else {}
    unknown = set(stand_ins.values()) - set(known)
    if unknown:
        raise ValueError(f"unknown stand-in {sorted(unknown)}")
    missing = object()
    saved = {name: namespace.get(name, missing) for name in stand_ins}
    namespace.update({name: known[kind] for name, kind in stand_ins.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def import_what_optimizers_need(folder: Path) -> None:
    """Import torch's compiler front end when the notebooks in ``folder`` use torch.optim.

    Building any optimizer imports torch._dynamo (torch.optim's add_param_group is wrapped by it):
    a second on its first use, in every notebook that trains. A warm process pays it once, before
    it forks, when the trusted release notebook names torch.optim; others never pay it.
    """
    if any("torch.optim" in path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("*.ipynb")):
        import torch._dynamo  # noqa: F401

