"""torch's classes and the kit's own, as they were before the notebook's code ran: kept, compared
before and after every call, and put back.

The checks build their inputs in the student's process: a model of the release's module, an
optimizer of torch.optim. A notebook that patched those classes (the model's ``forward``,
``SGD.step``, ``Module.parameters``, ``Tensor.backward``) or rebound their names could make a wrong
function pass, say a ``train_step`` without ``zero_grad``. So the runner keeps, before the first
cell runs, each guarded class's attributes, the guarded modules' names and their ``sys.modules``
entries (``keep``); before and after every call it puts back whatever differs (``restore``), and
the reply names what it found changed, so the instructor is told ("needs a look").

What is guarded: ``torch.Tensor`` and ``Parameter``; every ``nn.Module`` class in ``torch.nn``;
``Optimizer`` and every optimizer in ``torch.optim``; the modules ``torch``, ``torch.nn``,
``torch.nn.functional`` and ``torch.optim``; and every module beside the notebook that the warm
process imported before forking (the assignment's model). A notebook's own classes and helpers,
subclasses included, change none of these. This runs inside the student's process, so code written
to find and rewrite this very module is beyond it; the README says so.
"""

from __future__ import annotations

import os
import sys

TORCH_MODULES = ("torch", "torch.nn", "torch.nn.functional", "torch.optim")
MISSING = object()
_TORCH_DIR = "/nonexistent/"  # torch's package directory, once ``keep`` has seen torch

_classes: dict[type, tuple[str, dict]] = {}  # class -> (its name as shown, its attributes)
_modules: dict[str, tuple[object, dict]] = {}  # module name -> (the module, its names)


def keep(folder: str | None = None) -> None:
    """Keep the guarded classes and modules as they are now: call before any student code runs.
    ``folder``: the notebook's, whose already imported modules are guarded too."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    import torch.nn  # noqa: F401 - imported with torch; named for the guard
    import torch.optim

    global _TORCH_DIR
    _TORCH_DIR = os.path.dirname(os.path.realpath(torch.__file__)) + os.sep
    _classes.clear()
    _modules.clear()
    for name in (*TORCH_MODULES, *_modules_in(folder or os.getcwd())):
        module = sys.modules.get(name)
        if module is not None:
            _modules[name] = (module, dict(vars(module)))
            for value in vars(module).values():
                if isinstance(value, type) and _guarded_class(value, module, torch):
                    _classes.setdefault(value, (f"{_shown_module(value, name)}.{value.__qualname__}",
                                                dict(vars(value))))
    for cls in (torch.Tensor, torch.nn.Parameter):
        _classes.setdefault(cls, (f"{cls.__module__}.{cls.__qualname__}", dict(vars(cls))))


def kept() -> bool:
    return bool(_classes)


def restore() -> list[str]:
    """Put back every guarded class attribute, module name and module entry that differs from what
    ``keep`` kept, and say which ("torch.optim.SGD.step", "<the model's module>.<its class>"...).
    Nothing is copied while nothing differs: it runs around every call."""
    changed = []
    for name, (module, names) in _modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            changed.append(f"sys.modules[{name!r}]")
        current = vars(module)  # names a module gains (lazy imports) are not changes
        for key in [key for key, value in names.items() if current.get(key, MISSING) is not value]:
            if _torchs_own_wrapper(names[key], current.get(key, MISSING)):
                names[key] = current[key]
                continue
            setattr(module, key, names[key])
            changed.append(f"{name}.{key}")
    for cls, (shown, attributes) in _classes.items():
        current = vars(cls)
        differ = [key for key, value in attributes.items() if current.get(key, MISSING) is not value]
        if not differ and len(current) == len(attributes):
            continue
        for key in differ:
            now = current.get(key, MISSING)
            if _torchs_own_wrapper(attributes[key], now):
                attributes[key] = now
                continue
            _set(cls, key, attributes[key])
            changed.append(f"{shown}.{key}")
        for key in set(current.keys()) - attributes.keys():
            if _torchs_own_wrapper(_inherited(cls, key), current[key]):
                attributes[key] = current[key]
                continue
            _set(cls, key, MISSING)
            changed.append(f"{shown}.{key}")
    return changed


def _set(cls: type, key: str, value) -> None:
    try:
        if value is MISSING:
            delattr(cls, key)
        else:
            setattr(cls, key, value)
    except (AttributeError, TypeError):  # an attribute Python does not let anyone set back
        pass


def _guarded_class(cls: type, module, torch) -> bool:
    if module.__name__ in ("torch", "torch.nn.functional"):
        return False  # their classes are dtypes, helpers and the like; the modules' names are guarded
    if module.__name__ == "torch.nn":
        return issubclass(cls, torch.nn.Module)
    if module.__name__ == "torch.optim":
        return issubclass(cls, torch.optim.Optimizer)
    return cls.__module__ == module.__name__  # a class of the module beside the notebook


def _modules_in(folder: str) -> list[str]:
    """The modules already imported from ``folder`` (the release's model, the checks' support)."""
    folder = os.path.realpath(folder)
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (path and name != "__main__" and not name.startswith("checker") and os.path.isfile(path)
                and os.path.dirname(os.path.realpath(path)) == folder):
            found.append(name)
    return found


def _shown_module(cls: type, module_name: str) -> str:
    return module_name if module_name.startswith("torch") else cls.__module__


def _torchs_own_wrapper(kept, current) -> bool:
    """torch wraps some of its own functions when a feature is first used: building an optimizer wraps
    its class's ``step`` in a profiling hook, importing torch._dynamo wraps ``torch.manual_seed``.
    Such a wrapper is torch's code (a file of the torch package) closing over the very function
    kept, so it is no change; a notebook's own function, or torch's code around anything else, is."""
    code, closure = getattr(current, "__code__", None), getattr(current, "__closure__", None) or ()
    return (code is not None and getattr(current, "__wrapped__", None) is kept
            and os.path.realpath(code.co_filename).startswith(_TORCH_DIR)
            and any(_content(cell) is kept for cell in closure))


def _inherited(cls: type, key: str):
    """What ``cls`` had for ``key`` from its bases (an optimizer's ``step``, before torch wrapped it)."""
    return next((vars(base)[key] for base in cls.__mro__[1:] if key in vars(base)), MISSING)


def _content(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None
