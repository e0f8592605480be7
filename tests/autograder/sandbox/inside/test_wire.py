"""The plain-data format: what crosses back from a student's process is rebuilt, never trusted."""

import pytest
import torch

from autograder.sandbox.inside.checker import wire


@pytest.mark.parametrize("value", [
    None, True, 3, 2.5, "héllo <|endoftext|>", [1, [2, "x"]],
    torch.tensor([[1, 2, 3]]), torch.randn(2, 3, 5), torch.tensor(10.794), torch.zeros(0, 3),
    torch.randn(4).to(torch.bfloat16), torch.tensor([True, False]),
])
def test_round_trip(value):
    blob = bytearray()
    decoded = wire.decode(wire.encode(value, blob), bytes(blob))
    if isinstance(value, torch.Tensor):
        assert type(decoded) is torch.Tensor and decoded.dtype == value.dtype and torch.equal(decoded, value)
    else:
        assert decoded == value


def test_non_contiguous_and_grad_tensors_travel_as_values():
    base = torch.randn(3, 4, requires_grad=True)
    value = (base * 2).t()
    blob = bytearray()
    decoded = wire.decode(wire.encode(value, blob), blob)
    assert torch.equal(decoded, value.detach()) and not decoded.requires_grad


def test_tensor_subclass_is_not_sent_as_a_tensor():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return True

    decoded = wire.decode(wire.encode(torch.Tensor._make_subclass(Liar, torch.zeros(2)), bytearray()))
    assert isinstance(decoded, wire.Unsupported) and "Liar" in decoded.type_name


def test_objects_become_descriptions():
    decoded = wire.decode(wire.encode({1, 2}, bytearray()))
    assert decoded == wire.Unsupported("builtins.set", "{1, 2}")


def test_dicts_of_text_keys_travel_as_plain_data():
    """A configuration or a state dict (a class check's build), rebuilt as a plain dict; other keys are refused."""
    blob = bytearray()
    decoded = wire.decode(wire.encode({"emb_dim": 4, "state": {"scale": torch.ones(2)}}, blob), bytes(blob))
    assert decoded["emb_dim"] == 4 and torch.equal(decoded["state"]["scale"], torch.ones(2))
    assert isinstance(wire.decode(wire.encode({1: "a"}, bytearray())), wire.Unsupported)
    with pytest.raises(wire.WireError, match="pairs"):
        wire.decode({"$dict": [[1, 2]]})


def tensor(dtype="float32", shape=(2,), offset=0, nbytes=8):
    return {"$tensor": {"dtype": dtype, "shape": list(shape), "offset": offset, "nbytes": nbytes}}


@pytest.mark.parametrize("data, error", [
    (tensor(dtype="object"), "not supported"),
    (tensor(nbytes=3), "needs 8"),
    (tensor(shape=(-1,)), "non-negative"),
    (tensor(offset=4), "outside the message"),
    (tensor(offset=-8), "outside the message"),
    ({"$pickle": "gASVAAAA"}, "unknown value tag"),
    ({"a": 1, "b": 2}, "not plain data"),
])
def test_malformed_values_are_refused(data, error):
    with pytest.raises(wire.WireError, match=error):
        wire.decode(data, b"\0" * 8)


def test_oversized_frames_are_refused():
    with pytest.raises(wire.WireError, match="larger than"):
        wire.parse_frame_header(wire.HEADER.pack(wire.MAX_FRAME_BYTES + 1, 0))
