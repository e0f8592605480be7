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
import functools
import importlib
import json
import types
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
    contract's: ``LayoutMismatch`` says which differ), in train or eval mode. The entries named in
    ``keep`` are left as the student's own code made them, and absent from ``state``: a buffer such
    as a causal mask, which loading the reference's would hide when built wrong."""
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
        kept = set(spec.get("keep", ()))
        problems += [f"`{n}` {s} is not one of the assignment's" for n, s in own.items()
                     if n not in given and n not in kept]
        problems += [f"missing `{n}`" for n in kept if n not in own]
        problems += [f"`{n}` is {own[n]}, not {s}" for n, s in given.items() if n in own and own[n] != s]
        if problems:
            raise LayoutMismatch(f"the reference's parameters do not fit: {'; '.join(problems)}")
        instance.load_state_dict(state, strict=not kept)
    if hasattr(instance, "train"):
        instance.train(bool(spec.get("train", False)))
    return instance


def bound(instance, method: str | None):
    """What a call on a built instance calls: the instance itself, its ``method``, or, for
    ``"support:<name>"``, the assignment's support function of that name given the instance first
    (a greedy decoder the notebook is given, say, run with the student's model)."""
    if not method:
        return instance
    if method.startswith("support:"):
        return functools.partial(getattr(support(), method.removeprefix("support:")), instance)
    return getattr(instance, method)


def called(function, args: list, repeat: int = 1, kwargs: dict | None = None, grad: bool = True) -> Any:
    """``function(*args, **kwargs)``, under torch.no_grad() unless ``grad``; with ``repeat``, that many
    calls in a row on the same objects (a model and its optimizer, several steps), and the list of
    what each returned."""
    import torch

    kwargs = kwargs or {}
    with torch.set_grad_enabled(grad):
        if repeat == 1:
            return function(*args, **kwargs)
        return [function(*args, **kwargs) for _ in range(repeat)]


def parameters_of(model) -> list:
    """[[name, tensor], ...] of a model's parameters, copied: what a call did to them, as plain data."""
    return [[name, parameter.detach().clone()] for name, parameter in model.named_parameters()]


def state_of(module) -> list:
    """[[name, tensor], ...] of a module's parameters and buffers (its state dict), copied."""
    return [[name, tensor.detach().clone()] for name, tensor in module.state_dict().items()]


def read_back(value, prefix: str = "", copy: bool = True) -> list:
    """[[name, tensor], ...] of what an argument holds after a call, copied (unless not ``copy``): a
    model's parameters by name, a tensor itself (""), the tensors of a list by position ("[0][1]").
    The kit reads its own copy of an argument the same way, to compare (``judge``)."""
    import torch

    if isinstance(value, torch.nn.Module):
        return [[prefix + name, parameter.detach().clone() if copy else parameter.detach()]
                for name, parameter in value.named_parameters()]
    if isinstance(value, torch.Tensor):
        return [[prefix, value.detach().clone() if copy else value.detach()]]
    if isinstance(value, (list, tuple)):
        return [pair for index, item in enumerate(value) for pair in read_back(item, f"{prefix}[{index}]", copy)]
    return []


SAMPLED_ABOVE = 1 << 20  # elements: a larger tensor is fingerprinted by a million of them, spread over it


def fingerprints(value) -> list:
    """[[name, fingerprint], ...] of what ``read_back`` would copy (same names): each tensor's dtype,
    shape and the CRC-32 of its bytes (of a million elements evenly spread over it, and its first
    and last thousands, when it is larger: an in-place change such as ``zero_()``, ``mul_()`` or
    ``softmax_()`` reaches them). Enough to see that a call changed an argument, in milliseconds,
    where sending a 100 MB tensor back would cost far more."""
    import zlib

    import torch

    found = []
    for name, tensor in read_back(value, copy=False):
        flat = tensor.contiguous().view(-1)
        if flat.numel() > SAMPLED_ABOVE:
            step = -(-flat.numel() // SAMPLED_ABOVE)
            flat = torch.cat([flat[:4096], flat[::step], flat[-4096:]])
        crc = zlib.crc32(memoryview(flat.contiguous().view(torch.uint8).numpy()))
        found.append([name, f"{str(tensor.dtype).removeprefix('torch.')} {list(tensor.shape)} {crc}"])
    return found


def watched(call: dict) -> list[int]:
    """The arguments a call should only read, read back after it to see that it did: tensors, lists
    holding them, and models (not those in its "after": those it is meant to change)."""
    import torch

    def holds_tensors(arg) -> bool:
        if isinstance(arg, (list, tuple)):
            return any(holds_tensors(item) for item in arg)
        return isinstance(arg, torch.Tensor)

    return [index for index, arg in enumerate(call["args"]) if index not in call.get("after", ())
            and (holds_tensors(arg) or (is_ref(arg) and arg["ref"].startswith("model:")))]


def read_after(items, values: list, instance, returned) -> list:
    """What a call's "after" asks for, read once it returned: an argument (``read_back``), the
    instance ("self", its state dict), or the gradients that ``returned.backward()`` leaves on an
    argument's parameters ("grad:<index>": a loss must carry gradients to the model)."""
    read, backward = [], False
    for item in items:
        if item == "self":
            read.append([item, state_of(instance)])
        elif isinstance(item, str) and item.startswith("grad:"):
            if not backward:
                backward = True
                _backward(returned)
            read.append([item, gradients_of(values[int(item[5:])])])
        else:
            read.append([item, read_back(values[item])])
    return read


def _backward(returned) -> None:
    """``returned.backward()``, as training calls it; a value that cannot be backpropagated leaves
    no gradients, which is what the judge then reports."""
    import torch

    if isinstance(returned, torch.Tensor) and returned.requires_grad and returned.numel() == 1:
        try:
            returned.backward()
        except RuntimeError:
            pass


def gradients_of(model) -> list:
    """[[name, gradient], ...] of the model's parameters that have one, copied."""
    return [[name, parameter.grad.detach().clone()] for name, parameter in model.named_parameters()
            if parameter.grad is not None]


def stand_ins(call: dict, failed: set[str]) -> dict[str, str]:
    """The stand-ins a call gets: one for each callee it names that has failed its own checks.

    A callee whose checks passed is the student's own in every call: a caller cannot then behave
    one way under the kit's stand-in and another under its own callee, to gain anything.
    """
    return {callee: kind for callee, kind in call.get("stand_in", {}).items() if callee in failed}


@contextlib.contextmanager
def standing_in(namespace: dict, stand_ins: dict[str, str]):
    """The notebook's functions named in ``stand_ins`` replaced by the assignment's stand-ins (its
    support module's ``STAND_INS``) for the duration of a call, and put back after it, however it ends.

    A caller may hold its callee in many ways: by its global name, a default argument
    (``loss_fn=calc_loss_batch``), an alias, a closure, a ``functools.partial``. All of them hold the
    same function object, so the stand-in goes into that object (its code is replaced by one that
    calls the stand-in), and every way of reaching it reaches the stand-in. A callee that is not a
    plain function (a callable object) is replaced by its name only.
    """
    known = getattr(support(), "STAND_INS", {}) if stand_ins else {}
    unknown = set(stand_ins.values()) - set(known)
    if unknown:
        raise ValueError(f"unknown stand-in {sorted(unknown)}")
    missing = object()
    saved = {name: namespace.get(name, missing) for name in stand_ins}
    swapped = []
    try:
        for name, kind in stand_ins.items():
            callee = saved[name]
            if isinstance(callee, types.FunctionType):
                stand_in = _copy(known[kind])  # before the swap: the callee may be the stand-in itself
                swapped.append((callee, callee.__code__, callee.__defaults__, callee.__kwdefaults__))
                callee.__code__ = _trampoline(len(callee.__code__.co_freevars))
                callee.__defaults__, callee.__kwdefaults__ = None, {"_kit_stand_in": stand_in}
            else:
                namespace[name] = known[kind]
        yield
    finally:
        for callee, code, defaults, kwdefaults in swapped:
            callee.__code__, callee.__defaults__, callee.__kwdefaults__ = code, defaults, kwdefaults
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            elif namespace.get(name, missing) is not value:
                namespace[name] = value


def _copy(function):
    """A function object of its own with the stand-in's code: the trampoline calls this, so a callee
    that is the stand-in itself (a notebook that imports it under the callee's name) does not end
    up calling its own swapped code, forever."""
    if not isinstance(function, types.FunctionType):
        return function
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__, function.__defaults__,
                              function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    return copy


@functools.cache
def _trampoline(free: int) -> types.CodeType:
    """Code that calls the stand-in (its keyword-only default), with ``free`` free variables, as many
    as the closure of the function whose code it replaces (Python requires the counts to match)."""
    names = [f"_free{i}" for i in range(free)]
    source = ("def _outer():\n" + "".join(f"    {n} = None\n" for n in names)
              + "    def stand_in(*args, _kit_stand_in=None, **kwargs):\n"
              + "".join(f"        {n}\n" for n in names)
              + "        return _kit_stand_in(*args, **kwargs)\n    return stand_in\n")
    namespace: dict = {}
    exec(compile(source, "<stand-in>", "exec"), namespace)  # noqa: S102 - the kit's own fixed source
    return namespace["_outer"]().__code__


def import_what_optimizers_need(folder: Path) -> None:
    """Import torch's compiler front end when the notebooks in ``folder`` use torch.optim.

    Building any optimizer imports torch._dynamo (torch.optim's add_param_group is wrapped by it):
    a second on its first use, in every notebook that trains. A warm process pays it once, before
    it forks, when the trusted release notebook names torch.optim; others never pay it.
    """
    if any("torch.optim" in path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("*.ipynb")):
        import torch._dynamo  # noqa: F401

