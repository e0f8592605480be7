"""Building a notebook's model once: a memo of the models a trusted setup builds, replayed for every
run that builds the same one, and the mode that builds a model's structure without its random values.

The students' warm process keeps its memo here; the grader's model cache (``model_cache``, beside the
sandbox's zygote) builds its replays with ``skip_random_init`` and checks them with ``same_layout``.
"""

from __future__ import annotations

import json
from typing import Any

RANDOM_FILLS = ("uniform_", "normal_", "bernoulli_", "random_", "exponential_", "cauchy_", "log_normal_",
                "geometric_")


def skip_random_init():
    """A torch mode that builds a model's structure without drawing its random initial values.

    When every parameter and buffer is then replaced by a recorded one, drawing 163M random
    numbers first is wasted; allocation without a fill is nearly free (the pages are never
    touched). Building on the meta device would do the same, but its first use imports
    torch._dynamo: seconds. The grader's model cache builds its replays with it too.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    fills = {getattr(torch.Tensor, name) for name in RANDOM_FILLS}

    class SkipRandomInit(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func in fills or getattr(func, "__module__", None) == "torch.nn.init":
                return args[0] if args else next(iter(kwargs.values()))
            return func(*args, **(kwargs or {}))

    return SkipRandomInit()


def same_layout(model, shapes: dict[str, tuple]) -> bool:
    """Whether ``shapes`` (name -> (shape, dtype name)) covers every parameter and buffer of
    ``model`` exactly: then nothing of a skipped initialisation survives replacing them."""
    state = model.state_dict(keep_vars=True)
    built = {name for name, _ in model.named_parameters()} | {name for name, _ in model.named_buffers()}
    return built == set(state) == set(shapes) and all(
        (list(t.shape), str(t.dtype).removeprefix("torch.")) == (list(shapes[n][0]), shapes[n][1])
        for n, t in state.items())


class ModelMemo:
    """The models the release notebook's own setup builds, kept in the warm process: a notebook that
    builds the same model (same class, configuration and random state) gets the same parameters
    without drawing them again, and the random generator left where the plain build leaves it.

    A forked child shares the kept tensors' memory copy-on-write: its writes stay its own.
    """

    def __init__(self):
        self.kept: dict[str, tuple[dict, Any]] = {}

    @staticmethod
    def key(cls: type, cfg: Any, args: tuple, kwargs: dict) -> str | None:
        import hashlib

        import torch

        if args or kwargs or not isinstance(cfg, dict):
            return None
        try:
            config = json.dumps(cfg, sort_keys=True)
        except (TypeError, ValueError):
            return None
        rng = hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()
        return f"{cls.__module__}.{cls.__qualname__}|{config}|{rng}"

    def record(self, cls: type) -> None:
        import torch

        original = cls.__init__

        def __init__(model, cfg, *args, **kwargs):
            key = self.key(cls, cfg, args, kwargs)
            original(model, cfg, *args, **kwargs)
            if key is not None:
                state = {n: t.detach() for n, t in model.state_dict(keep_vars=True).items()}
                self.kept[key] = (state, torch.get_rng_state())

        cls.__init__ = __init__
        self.original = original

    def replay(self, cls: type) -> None:
        import torch

        original, used = self.original, set()

        def __init__(model, cfg, *args, **kwargs):
            key = self.key(cls, cfg, args, kwargs)
            if key not in self.kept:
                return original(model, cfg, *args, **kwargs)
            state, rng_after = self.kept[key]
            shapes = {name: (t.shape, str(t.dtype).removeprefix("torch.")) for name, t in state.items()}
            rng_before = torch.get_rng_state()
            with skip_random_init():
                original(model, cfg)
            if not same_layout(model, shapes):
                torch.set_rng_state(rng_before)
                return original(model, cfg)
            for name, tensor in state.items():
                tensor = tensor.clone() if key in used else tensor  # two models never share memory
                owner_name, _, leaf = name.rpartition(".")
                owner = model.get_submodule(owner_name) if owner_name else model
                if leaf in owner._parameters:
                    owner._parameters[leaf] = torch.nn.Parameter(tensor, owner._parameters[leaf].requires_grad)
                else:
                    owner._buffers[leaf] = tensor
            used.add(key)
            torch.set_rng_state(rng_after)

        cls.__init__ = __init__

