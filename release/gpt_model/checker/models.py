"""The models a call names, rebuilt where its outcome is judged: from the trusted release copy of
their module, never from the student's process.

Two judgements need the model itself, not numbers computed in advance:
- a sampled sequence: for each drawn token, the distribution given everything before it, whatever
  the sequence turned out to be (``logits_along``);
- a model a call should only read: its parameters as they were built, to compare with what the
  call left (``parameters``).

The grader points ``use`` at the assignment's release folder; the students' checker uses the folder
it ships in. The module is loaded from its file under a private name, so nothing the notebook's
process did to its own copy (a patched class, a replaced module) can reach it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

from . import release_files

_folder: list[Path] = [release_files.FOLDER]


def use(folder: Path) -> None:
    """Rebuild models from the modules in ``folder`` (the assignment's release folder)."""
    _folder[0] = Path(folder)


def spec_of(arg) -> dict | None:
    """The model description a call argument names ({"ref": "model:<json>"}), or None."""
    if isinstance(arg, dict) and isinstance(arg.get("ref"), str) and arg["ref"].startswith("model:"):
        return json.loads(arg["ref"].partition(":")[2])
    return None


def reference(spec: dict):
    """The model ``spec`` describes (see ``inputs.build_model``), as the student's process received it."""
    return _built(json.dumps(spec, sort_keys=True), str(_folder[0]))


@functools.lru_cache(maxsize=64)  # small models: a batch's worth of specs stays built
def _built(spec_json: str, folder: str):
    from .inputs import build_model

    spec = json.loads(spec_json)
    model = build_model(spec, _model_class(folder, spec["module"], spec["class"]))
    model.requires_grad_(False)
    return model


@functools.lru_cache(maxsize=4)
def _model_class(folder: str, module: str, name: str):
    path = Path(folder) / f"{module}.py"
    loader_spec = importlib.util.spec_from_file_location(f"_reference_{module}", path)
    loaded = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(loaded)
    return getattr(loaded, name)


def parameters(spec: dict) -> dict:
    """{name: tensor} of the model's parameters as built."""
    return dict(reference(spec).named_parameters())


def logits_along(spec: dict, tokens: tuple[int, ...], start: int, context: int):
    """(len(tokens) - start, vocab) float64: for each position from ``start`` on, the model's
    next-token logits given the ``context`` tokens before it (fewer at the start)."""
    return _logits(json.dumps(spec, sort_keys=True), str(_folder[0]), tuple(tokens), start, context)


@functools.lru_cache(maxsize=32)
def _logits(spec_json: str, folder: str, tokens: tuple[int, ...], start: int, context: int):
    import torch

    model, ids = _built(spec_json, folder), torch.tensor(tokens)
    rows = []
    with torch.no_grad():
        short = min(len(tokens) - 1, context)  # positions whose context is every token before them
        if start <= short:
            rows.append(model(ids[:short].unsqueeze(0))[0, start - 1:short])
        first_full = max(start, short + 1)
        if first_full < len(tokens):  # the rest see exactly ``context`` tokens: one batch of windows
            windows = ids[first_full - context:len(tokens) - 1].unfold(0, context, 1)
            rows.append(model(windows)[:, -1])
    return torch.cat(rows).double()
