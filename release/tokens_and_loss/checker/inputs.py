"""A call's inputs, built where the student's code runs: the grader's sandbox or the student's machine.

Tensors and plain data travel as they are (a fresh copy per call, so a function that writes into its
input cannot change the next check's). What cannot travel is named (``{"ref": name}``) and built here
(``build``): a tokenizer, a model of the module beside the notebook from a configuration and a seed,
an optimizer over an earlier argument. The kit builds the same objects from its own copies, so it
knows exactly what the student's function received. Also here: the stand-ins a call may put in place
of a notebook function, and the recorder of the torch ops a call runs.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parents[1]  # the release folder, where this package ships
TOKENIZER = {"ref": "tokenizer"}  # an argument the checks name: GPT-2's tokenizer, built where the code runs
MODEL_MODULE, MODEL_CLASS = "gpt2", "GPTModel"



def tokenizer():
    import tiktoken

    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(FOLDER / "tiktoken_cache"))
    return tiktoken.get_encoding("gpt2")


def arguments(call: dict) -> list:
    """The call's arguments, built and copied afresh."""
    import torch

    values = []
    for arg in call["args"]:  # in order: an optimizer refers to a model argument before it
        values.append(tokenizer() if is_tokenizer(arg) else build(arg["ref"], values) if is_ref(arg)
                      else cloned(arg) if isinstance(arg, (torch.Tensor, list)) else arg)
    return values


def cloned(arg):
    """A fresh copy of a tensor argument (or of a list of them, such as a loader's batches), so a
    function that writes into its input cannot change the next check's."""
    import torch

    if isinstance(arg, list):
        return [cloned(item) for item in arg]
    return arg.clone() if isinstance(arg, torch.Tensor) else arg


def is_tokenizer(arg: Any) -> bool:
    return isinstance(arg, dict) and arg == TOKENIZER


def is_ref(arg: Any) -> bool:
    """An argument a check names instead of sending: {"ref": name} (see ``build``)."""
    return isinstance(arg, dict) and set(arg) == {"ref"} and isinstance(arg["ref"], str)


OPTIMIZERS = ("SGD", "Adam", "AdamW")  # the optimizers a check may name


OPTIMIZER_OPTIONS = ("lr", "weight_decay", "momentum")


def build(name: str, earlier: list = ()):
    """An object a check names but cannot send, built here, where the student's code runs (the
    grader's sandbox or the student's machine): "tiktoken:<encoding>"; "gpt2:<json>", a GPTModel of
    the gpt2.py beside the notebook, from a configuration and a seed; "optim:<json>", an optimizer
    over an earlier argument's parameters. The kit builds the same ones from its own copy, so it
    knows exactly what the student's function received."""
    kind, _, arg = name.partition(":")
    if kind == "tiktoken":
        import tiktoken

        return tiktoken.get_encoding(arg)
    if kind == "gpt2":
        return build_model(json.loads(arg))
    if kind == "optim":
        return build_optimizer(json.loads(arg), earlier)
    raise ValueError(f"unknown reference {name!r}")


def build_model(spec: dict, model_class=None):
    """GPTModel(config) after torch.manual_seed(seed), in eval mode unless "train"; with "grad",
    every parameter's .grad filled with it (what a previous step leaves behind)."""
    import torch

    config, seed, grad = spec.get("config"), spec.get("seed"), spec.get("grad")
    if not isinstance(config, dict) or type(seed) is not int:
        raise ValueError("a model reference needs a config dict and an int seed")
    if model_class is None:
        model_class = getattr(__import__(MODEL_MODULE), MODEL_CLASS)
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


def called(function, args: list, repeat: int = 1) -> Any:
    """``function(*args)``; with ``repeat``, that many calls in a row on the same objects (a model
    and its optimizer, several steps), and the list of what each returned."""
    if repeat == 1:
        return function(*args)
    return [function(*args) for _ in range(repeat)]


def parameters_of(model) -> list:
    """[[name, tensor], ...] of a model's parameters, copied: what a call did to them, as plain data."""
    return [[name, parameter.detach().clone()] for name, parameter in model.named_parameters()]


def probe_loss(input_batch, target_batch, model, device):
    """A stand-in for a student's batch loss while a function that calls it is checked.

    ``train_step`` and ``calc_loss_loader`` call ``calc_loss_batch``; judged with the student's own,
    a mistake there would cost them too. So while they run, the check puts this in its place: a
    loss of the model's output that every parameter's gradient depends on, and not the answer
    (it is not a cross-entropy), so nothing of the reference reaches the student's process. A
    function that computes its loss itself is judged against the real loss instead.
    """
    logits = model(input_batch.to(device))
    return (logits ** 2).mean() / 2 + 0.0 * target_batch.to(device).sum()


STAND_INS = {"probe_loss": probe_loss}


@contextlib.contextmanager
def standing_in(namespace: dict, stand_ins: dict[str, str]):
    """The notebook's functions named in ``stand_ins`` replaced by the kit's (``STAND_INS``) for
    the duration of a call, and put back after it, however it ends."""
    unknown = set(stand_ins.values()) - set(STAND_INS)
    if unknown:
        raise ValueError(f"unknown stand-in {sorted(unknown)}")
    missing = object()
    saved = {name: namespace.get(name, missing) for name in stand_ins}
    namespace.update({name: STAND_INS[kind] for name, kind in stand_ins.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def record_ops():
    """A context that names every aten op run inside it (``.ops``), however it is reached: a
    hidden nll_loss shows. The grader's sandbox records graded calls with it too."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class RecordOps(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # torch wraps a mode's __torch_dispatch__ to keep its compiler out, and that wrapper
            # imports torch._dynamo on first use: 2 s of every process's first call. The mode
            # compiles nothing, so it opts out (the switch torch documents for mode authors).
            return False

        def __init__(self):
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.add(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    return RecordOps()


OP_KINDS = ("no_ops", "ops_any")  # the expectations and matchers that read the ops a call ran


def needs_ops(call: dict) -> bool:
    """Whether judging ``call`` reads the torch ops it ran. Recording them costs every op a Python
    call (a thousand generated tokens take twice as long), so calls that never look are not recorded."""
    def found(data) -> bool:
        if isinstance(data, dict):
            return any(key in OP_KINDS or found(value) for key, value in data.items())
        return isinstance(data, (list, tuple)) and any(found(item) for item in data)

    return found(call["expect"]) or found([mistake["when"] for mistake in call["mistakes"]])


class NoRecording(contextlib.nullcontext):
    ops: frozenset = frozenset()


def import_what_optimizers_need(folder: Path) -> None:
    """Import torch's compiler front end when the notebooks in ``folder`` use torch.optim.

    Building any optimizer imports torch._dynamo (torch.optim's add_param_group is wrapped by it):
    a second on its first use, in every notebook that trains. A warm process pays it once, before
    it forks, when the trusted release notebook names torch.optim; others never pay it.
    """
    if any("torch.optim" in path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("*.ipynb")):
        import torch._dynamo  # noqa: F401

