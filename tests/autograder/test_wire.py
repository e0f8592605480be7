"""The plain-data format: what crosses back from a student's process is rebuilt, never trusted."""

import base64

import pytest
import torch

from autograder import wire


@pytest.mark.parametrize("value", [
    None, True, 3, 2.5, "héllo <|endoftext|>", [1, [2, "x"]],
    torch.tensor([[1, 2, 3]]), torch.randn(2, 3, 5), torch.tensor(10.794), torch.zeros(0, 3),
    torch.randn(4).to(torch.bfloat16), torch.tensor([True, False]),
])
def test_round_trip(value):
    decoded = wire.decode(wire.encode(value))
    if isinstance(value, torch.Tensor):
        assert type(decoded) is torch.Tensor and decoded.dtype == value.dtype and torch.equal(decoded, value)
    else:
        assert decoded == value


def test_non_contiguous_and_grad_tensors_travel_as_values():
    base = torch.randn(3, 4, requires_grad=True)
    value = (base * 2).t()
    decoded = wire.decode(wire.encode(value))
    assert torch.equal(decoded, value.detach()) and not decoded.requires_grad


def test_tensor_subclass_is_not_sent_as_a_tensor():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return True

    decoded = wire.decode(wire.encode(torch.Tensor._make_subclass(Liar, torch.zeros(2))))
    assert isinstance(decoded, wire.Unsupported) and "Liar" in decoded.type_name


def test_objects_become_descriptions():
    decoded = wire.decode(wire.encode({"a": 1}))
    assert decoded == wire.Unsupported("builtins.dict", "{'a': 1}")


@pytest.mark.parametrize("data, error", [
    ({"$tensor": {"dtype": "object", "shape": [1], "data": ""}}, "not supported"),
    ({"$tensor": {"dtype": "float32", "shape": [2], "data": base64.b64encode(b"abc").decode()}}, "needs 8"),
    ({"$tensor": {"dtype": "float32", "shape": [-1], "data": ""}}, "non-negative"),
    ({"$pickle": "gASVAAAA"}, "unknown value tag"),
    ({"a": 1, "b": 2}, "not plain data"),
])
def test_malformed_values_are_refused(data, error):
    with pytest.raises(wire.WireError, match=error):
        wire.decode(data)


def test_oversized_frames_are_refused():
    with pytest.raises(wire.WireError, match="larger than"):
        wire.parse_frame_length(wire.HEADER.pack(wire.MAX_FRAME_BYTES + 1))
