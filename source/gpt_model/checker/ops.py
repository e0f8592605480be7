"""The torch ops a call runs, recorded inside the process where it runs, for the checks that read them
(a loss written by hand must not call torch's own, however it reaches it)."""

from __future__ import annotations

import contextlib


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

