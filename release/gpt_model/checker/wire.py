"""The plain-data format that crosses between the grader and a student's process.

Both sides use this module: the student process to encode what a function returned, the grader
to decode it. Only JSON travels, in length-prefixed frames, plus the raw bytes of tensors. A
tensor travels as its dtype, shape and bytes, and the grader builds a fresh ``torch.Tensor`` from
them, so nothing the student process sends can carry behaviour (no pickles, no tensor
subclasses, no ``__eq__`` that lies).
Everything decoded is checked for shape and type first; anything else is refused with
``WireError``.

The module imports only the standard library at load time (torch lazily), because it is copied
into the sandbox beside the runner, where the grader package is not importable.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import Any

# A frame larger than this is refused: the biggest legitimate one (graded logits) is ~20 MB.
MAX_FRAME_BYTES = 256 * 1024 * 1024
HEADER = struct.Struct(">IQ")
DTYPES = (
    "float16", "bfloat16", "float32", "float64",
    "uint8", "int8", "int16", "int32", "int64", "bool",
)
REPR_LIMIT = 200


class WireError(Exception):
    """The other side sent something that is not a well-formed message of plain data."""


@dataclass(frozen=True)
class Unsupported:
    """A value that has no plain-data form (a module, a generator, a tensor subclass...).

    ``type_name`` and ``text`` are the student's own description: shown to people, never trusted.
    """

    type_name: str
    text: str

    def __repr__(self) -> str:  # how messages name it (judge.describe falls back to repr)
        return f"a {self.type_name} object"


@dataclass(frozen=True)
class Ref:
    """A named object that only exists in the student's process (a model, an optimizer, a tokenizer).

    Its name says how to build it there (``inputs.build``); ``shown`` is how messages name it. Only
    the name travels: names are plain data, and what they build is fixed where they are built.
    """

    name: str
    shown: str = ""

    def __repr__(self) -> str:  # how messages name it
        return self.shown or f"Ref({self.name!r})"


# ---------------------------------------------------------------- framing
#
# A frame is: JSON length (4 bytes), blob length (8 bytes), the JSON message, then the blob: the
# raw bytes of every tensor in the message, which the message refers to by offset and length.


def write_frame(fd: int, message: dict, blob: bytes | bytearray = b"") -> None:
    """Send one message (and the raw tensor bytes it refers to) on a file descriptor."""
    body = json.dumps(message, allow_nan=True, ensure_ascii=False).encode("utf-8")
    for part in (HEADER.pack(len(body), len(blob)) + body, blob):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


def parse_frame_header(header: bytes) -> tuple[int, int]:
    """(JSON length, blob length) of the frame, refusing sizes beyond what grading ever needs."""
    length, blob = HEADER.unpack(header)
    if length > MAX_FRAME_BYTES or blob > MAX_FRAME_BYTES:
        raise WireError(f"message of {length + blob} bytes is larger than the {MAX_FRAME_BYTES} allowed")
    return length, blob


def parse_frame_body(body: bytes) -> dict:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"message is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("message is not a JSON object")
    return message


# ---------------------------------------------------------------- values


def encode(value: Any, blob: bytearray) -> Any:
    """Plain-data form of a value; tensor bytes are appended to ``blob`` (the frame's attachment)."""
    import torch

    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if type(value) in (list, tuple):
        return [encode(item, blob) for item in value]
    if type(value) is dict and all(type(key) is str for key in value):  # a configuration, a state dict
        return {"$dict": [[key, encode(item, blob)] for key, item in value.items()]}
    if type(value) is torch.Tensor:
        tensor = value.detach().cpu().contiguous()
        offset = len(blob)
        if tensor.numel():
            blob += tensor.reshape(-1).view(torch.uint8).numpy().data
        return {"$tensor": {
            "dtype": str(tensor.dtype).removeprefix("torch."),
            "shape": list(tensor.shape),
            "offset": offset,
            "nbytes": len(blob) - offset,
        }}
    if isinstance(value, Ref):
        return {"$ref": value.name}
    kind = type(value)
    try:
        text = repr(value)[:REPR_LIMIT]
    except Exception:  # a student's __repr__ may raise
        text = "<unprintable>"
    return {"$unsupported": {"type": f"{kind.__module__}.{kind.__qualname__}", "repr": text}}


def decode(data: Any, blob: bytes = b"", depth: int = 0) -> Any:
    """Rebuild a value from plain data and its frame's blob, refusing anything malformed."""
    if depth > 32:
        raise WireError("value is nested too deeply")
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(item, blob, depth + 1) for item in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise WireError("value is not plain data")
    (tag, body), = data.items()
    if tag == "$tensor":
        return _decode_tensor(body, blob)
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$ref" and isinstance(body, str):
        return Ref(body)
    if tag == "$dict" and isinstance(body, list):
        if not all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) for pair in body):
            raise WireError("a dict is not a list of [text, value] pairs")
        return {key: decode(item, blob, depth + 1) for key, item in body}
    if tag == "$unsupported" and isinstance(body, dict):
        return Unsupported(str(body.get("type", "?"))[:REPR_LIMIT], str(body.get("repr", ""))[:REPR_LIMIT])
    raise WireError(f"unknown value tag {tag!r}")


def _decode_tensor(body: Any, blob: bytes) -> Any:
    import torch

    if not isinstance(body, dict) or set(body) != {"dtype", "shape", "offset", "nbytes"}:
        raise WireError("tensor is missing dtype, shape, offset or nbytes")
    dtype_name, shape, offset, nbytes = body["dtype"], body["shape"], body["offset"], body["nbytes"]
    if dtype_name not in DTYPES:
        raise WireError(f"tensor dtype {dtype_name!r} is not supported")
    if not isinstance(shape, list) or len(shape) > 8 or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("tensor shape is not a list of non-negative integers")
    if type(offset) is not int or type(nbytes) is not int or offset < 0 or nbytes < 0 or offset + nbytes > len(blob):
        raise WireError("tensor bytes lie outside the message")
    dtype = getattr(torch, dtype_name)
    expected = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    if nbytes != expected:
        raise WireError(f"tensor data has {nbytes} bytes; shape {shape} of {dtype_name} needs {expected}")
    if not nbytes:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(blob[offset:offset + nbytes]), dtype=dtype).reshape(shape)
