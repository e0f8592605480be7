"""How a value is named in a message a student reads: a tensor by its dtype and shape, text quoted."""

from __future__ import annotations

from typing import Any


def describe(value: Any) -> str:
    """A short, readable description of an argument or a result."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return repr(value)[:60]


def numbers(values, limit: int = 4) -> str:
    """The first few numbers of a tensor, for a message."""
    flat = values.detach().reshape(-1)
    shown = ", ".join(f"{float(v):.6g}" for v in flat[:limit])
    if values.dim() == 0:
        return shown
    return f"[{shown}{', ...' if flat.numel() > limit else ''}]"
