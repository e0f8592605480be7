"""Reference tensors computed once per batch and shared by every worker through the page cache.

The graded inputs come from two 124M-parameter models; building them costs seconds and 1.3 GB
per process. A batch computes them once in its parent (``AUTOGRADER_TENSOR_CACHE`` names the
directory) and each worker maps the saved files read-only (``torch.load(mmap=True)``), so adding
a worker adds no copy of them. Without the variable, values are computed in-process as before.
Only the grader writes and reads these files; student code never sees them.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Callable

ENV = "AUTOGRADER_TENSOR_CACHE"


def cached(function: Callable) -> Callable:
    """Memoize a function of hashable arguments that returns tensors (or a tuple of tensors)."""
    memory: dict = {}

    @functools.wraps(function)
    def wrapper(*args):
        import torch  # here, so a batch's parent that only needs ENV does not import torch

        if args in memory:
            return memory[args]
        directory = os.environ.get(ENV)
        if not directory or not os.path.isdir(directory):
            value = function(*args)
        else:
            key = f"{function.__module__}.{function.__qualname__}{args!r}|torch {torch.__version__}"
            path = Path(directory) / f"{hashlib.sha256(key.encode()).hexdigest()}.pt"
            if not path.exists():
                value = function(*args)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                torch.save(value, tmp)
                os.replace(tmp, path)
            value = torch.load(path, mmap=True, weights_only=True)
        memory[args] = value
        return value

    return wrapper
