"""Assertions for checks, with messages written for the student who reads them.

A value from the student's side is never trusted for its type: these helpers check type, dtype
and shape before looking at numbers, so a wrong kind of answer fails with an explanation
instead of crashing the check.
"""

from __future__ import annotations

from typing import Any

import torch

from autograder.submission import describe_value


def _fail(message: str) -> None:
    __tracebackhide__ = True
    raise AssertionError(message)


def tensor(value: Any, *, what: str, dtype: torch.dtype | None = None, shape: tuple[int, ...] | None = None,
           hint: str = "") -> torch.Tensor:
    """``value`` as a tensor of the expected dtype and shape, or a failure saying how it differs."""
    __tracebackhide__ = True
    suffix = f" {hint}" if hint else ""
    if not isinstance(value, torch.Tensor):
        _fail(f"{what} should return a torch.Tensor; it returned {describe_value(value)}.{suffix}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        _fail(f"{what} returned a tensor of shape {tuple(value.shape)}; expected {tuple(shape)}.{suffix}")
    if dtype is not None and value.dtype != dtype:
        _fail(f"{what} returned dtype {str(value.dtype).removeprefix('torch.')}; "
              f"expected {str(dtype).removeprefix('torch.')}.{suffix}")
    return value


def close(actual: torch.Tensor, expected: torch.Tensor, *, what: str, rtol: float, atol: float = 0.0) -> None:
    """Element-wise agreement within a tolerance, computed here in the grader's process."""
    __tracebackhide__ = True
    actual = actual.to(torch.float64)
    expected = expected.to(torch.float64)
    if not torch.isclose(actual, expected, rtol=rtol, atol=atol).all():
        _fail(f"{what}: expected {_numbers(expected)}, got {_numbers(actual)}.")


def _numbers(values: torch.Tensor, limit: int = 4) -> str:
    flat = values.reshape(-1)
    shown = ", ".join(f"{float(v):.6g}" for v in flat[:limit])
    if values.dim() == 0:
        return shown
    return f"[{shown}{', ...' if flat.numel() > limit else ''}]"
