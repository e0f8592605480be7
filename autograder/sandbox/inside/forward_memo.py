"""Serve a cached model's forward pass from answers that trusted code recorded, when nothing differs.

A notebook spends most of its time in the 124M-parameter model's forward pass (ten steps of
generation and a few batches), and for a correct notebook those calls are the same for every
student: the same replayed model, the same inputs. ``record`` (trusted code: the instructor's
solution notebook, run once per batch) saves the output of each forward call on a replayed model;
``install`` (in the zygote, before any student code) answers a call from those recordings only if
the answer could not differ from computing it:

- the model is a replayed one whose parameters and buffers are untouched: the same tensor objects at
  the same addresses, and every page of its copy-on-write mapping still the file's own (a write of
  any kind, even through ``.data``, makes the page private; ``/proc/self/pagemap`` tells);
- its modules are the ones it was built with, with the same attributes, all in eval mode, and no
  hook anywhere; the classes, ``torch``, ``torch.nn.functional``, tensor methods, builtins and the
  model's module still hold the functions they held before the student's code ran;
- no gradient, inference mode, autocast, torch function or dispatch mode, or Python kernel is in
  play; default dtype, thread count and matmul precision are those of the recording;
- the input is a plain int64 CPU tensor with exactly the recorded values.

Anything else computes, so a notebook cannot tell: a hit returns a fresh tensor equal to what the
computation gives. The recordings sit in the read-only cache, written by trusted code only, so one
student's calls never feed another's. Like the model cache, this file runs inside the sandbox and
imports only the standard library, numpy and torch.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import sys
import weakref
from pathlib import Path

import numpy as np
import torch

DIRECTORY, INDEX = "forward", "forward.json"
MAX_INPUT = 1 << 16  # token ids; longer inputs are not worth a lookup
PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT, SWAPPED, FILE_PAGE = 1 << 63, 1 << 62, 1 << 61
_MISSING = object()
# builtins that IPython swaps in and out around every cell; the forward pass uses none of them
SHELL_BUILTINS = frozenset({"exit", "quit", "display", "get_ipython", "_", "__", "___"})


def _global_state() -> tuple:
    """Settings that change a forward pass's numbers or its output's kind."""
    autocast = (torch.is_autocast_enabled("cpu") if hasattr(torch, "get_autocast_dtype")  # torch >= 2.4
                else torch.is_autocast_cpu_enabled())
    impls = getattr(torch.library, "_impls", ())
    return (torch.is_grad_enabled(), torch.is_inference_mode_enabled(), autocast,
            torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack(),
            torch.get_default_dtype(), torch.get_num_threads(), torch.get_float32_matmul_precision(),
            torch.are_deterministic_algorithms_enabled(), torch.backends.mkldnn.enabled, len(impls))


def _classes(namespace) -> list[type]:
    found = [v for v in vars(namespace).values() if isinstance(v, type)]
    return [c for cls in found for c in cls.__mro__ if c is not object]


class _Code:
    """What the forward pass can look up, as it was before any student code ran.

    Taken when the zygote installs the memo: builtins, torch's namespaces and tensor methods, the
    model's module, and every class defined there or in ``torch.nn``, with their base classes.
    """

    def __init__(self, cls: type):
        module = sys.modules[cls.__module__]
        self.classes = {c: tuple(vars(c)) for c in [*_classes(module), *_classes(torch.nn)]}
        namespaces = [builtins, torch, torch.nn.functional, torch.Tensor, torch._C.TensorBase, torch._C._nn,
                      torch._C._VariableFunctions, module, *self.classes]
        self.entries = [(vars(ns), key, value) for ns in namespaces if hasattr(ns, "__dict__")
                        for key, value in vars(ns).items() if not (ns is builtins and key in SHELL_BUILTINS)]

    def unchanged(self, model: torch.nn.Module) -> bool:
        for module in model.modules():
            if any(c is not object and c not in self.classes for c in type(module).__mro__):
                return False
        if any(self.classes[c] != tuple(vars(c)) for c in self.classes):
            return False
        return all(ns.get(key, _MISSING) is value for ns, key, value in self.entries)


def _token(value) -> tuple:
    if value is None or isinstance(value, (bool, int, float, str)):
        return ("value", type(value), value)
    return ("object", id(value))


def _layout(model: torch.nn.Module) -> tuple:
    """The module tree, every module's attributes and where each tensor lives."""
    layout = []
    for name, module in model.named_modules():
        attributes = tuple(sorted((k, _token(v)) for k, v in vars(module).items() if k != "training"))
        tensors = tuple((k, id(t), t.data_ptr(), tuple(t.shape), t.stride(), t.dtype, t.storage_offset())
                        for group in (module._parameters, module._buffers) for k, t in group.items()
                        if t is not None)
        layout.append((name, id(module), type(module), attributes, tensors))
    return tuple(layout)


def _quiet(model: torch.nn.Module) -> bool:
    """Eval mode everywhere and no hook on any module, nor any global module hook."""
    hooks = [v for k, v in vars(torch.nn.modules.module).items() if k.startswith("_global_") and isinstance(v, dict)]
    if any(hooks):
        return False
    for module in model.modules():
        if module.training or any(v for k, v in vars(module).items() if "hooks" in k and isinstance(v, dict)):
            return False
    return True


def _pages_untouched(mapping: np.memmap) -> bool:
    """Every page of the mapping is still the file's: present and file-backed, or never loaded."""
    start = mapping.ctypes.data // PAGE
    count = -(-(mapping.ctypes.data + mapping.nbytes) // PAGE) - start
    try:
        with open("/proc/self/pagemap", "rb", buffering=0) as pagemap:
            entries = np.frombuffer(os.pread(pagemap.fileno(), count * 8, start * 8), dtype=np.uint64)
    except OSError:
        return False
    if len(entries) != count:
        return False
    present = (entries & np.uint64(PRESENT)) != 0
    file_page = (entries & np.uint64(FILE_PAGE)) != 0
    swapped = (entries & np.uint64(SWAPPED)) != 0
    return bool(np.all(np.where(present, file_page, ~swapped)))


def _input_key(replay_key: str, state: tuple, args: tuple, kwargs: dict) -> str | None:
    if kwargs or len(args) != 1 or type(args[0]) is not torch.Tensor:
        return None
    ids = args[0]
    if ids.dtype != torch.int64 or ids.device.type != "cpu" or ids.requires_grad or ids.numel() > MAX_INPUT:
        return None
    digest = hashlib.sha256(f"{replay_key}|{tuple(ids.shape)}|{state!r}|".encode())
    digest.update(ids.contiguous().numpy().tobytes())
    return digest.hexdigest()


class _Watch:
    """A replayed model's identity card, taken right after it was built."""

    def __init__(self, model: torch.nn.Module, code: _Code, replay_of):
        self.layout, self.code, self.replay_of = _layout(model), code, replay_of

    def key_for(self, model: torch.nn.Module, args: tuple, kwargs: dict) -> str | None:
        """The recording key of this call, or None if anything could make it differ."""
        replay = self.replay_of(model)
        state = _global_state()
        if replay is None or state[:5] != (False, False, False, 0, 0):
            return None
        key = _input_key(replay.key, state, args, kwargs)
        if key is None or not _quiet(model) or _layout(model) != self.layout or not self.code.unchanged(model):
            return None
        return key if _pages_untouched(replay.mapping) else None


def _wrap(cls: type, replay_of, answer) -> None:
    """Wrap ``cls.__init__`` to watch each replayed model, and ``cls.forward`` to call ``answer``.

    ``replay_of`` is the model cache's: how a model was served from the cache, or None.
    """
    original_init, original_forward = cls.__init__, cls.forward
    watches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if replay_of(self) is not None:
            watches[self] = _Watch(self, code, replay_of)

    @functools.wraps(original_forward)
    def forward(self, *args, **kwargs):
        return answer(original_forward, self, args, kwargs, watches.get(self))

    cls.__init__, cls.forward = __init__, forward
    code = _Code(cls)  # after wrapping: the wrappers are part of what must stay in place


def record(cls: type, directory: Path, replay_of) -> None:
    """Save every forward call on a replayed, untouched model into ``directory`` (trusted code only)."""
    folder = directory / DIRECTORY
    folder.mkdir(parents=True, exist_ok=True)
    index_path = directory / INDEX

    def answer(original, model, args, kwargs, watch):
        output = original(model, *args, **kwargs)
        key = watch.key_for(model, args, kwargs) if watch else None
        if key is not None and type(output) is torch.Tensor and output.dtype == torch.float32:
            index = json.loads(index_path.read_text()) if index_path.exists() else {}
            output.detach().contiguous().numpy().tofile(folder / f"{key}.bin")
            index[key] = {"shape": list(output.shape)}
            index_path.write_text(json.dumps(index))
        return output

    _wrap(cls, replay_of, answer)


def install(cls: type, directory: Path, replay_of) -> None:
    """Answer forward calls from ``directory``'s recordings when they cannot differ; compute the rest."""
    index_path = directory / INDEX
    if not index_path.exists():
        return
    index = json.loads(index_path.read_text())

    def answer(original, model, args, kwargs, watch):
        key = watch.key_for(model, args, kwargs) if watch else None
        entry = index.get(key) if key else None
        if entry is None:
            return original(model, *args, **kwargs)
        stored = np.fromfile(directory / DIRECTORY / f"{key}.bin", dtype=np.float32)
        output = torch.empty(entry["shape"], dtype=torch.float32)
        output.view(-1).copy_(torch.from_numpy(stored))
        return output

    _wrap(cls, replay_of, answer)
