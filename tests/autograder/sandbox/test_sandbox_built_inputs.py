"""Inputs that cannot travel are built in the student's process from a description the grader
sends: a model of the release's gpt2.py (named by the check, as a module and a class) from a seed and
a configuration, an optimizer over it, and
the model's parameters read back after the call. The grader builds the same model from the
reference gpt2.py, so it knows the exact weights the student's function received."""

import nbformat
import pytest
import torch

from autograder.assignment import Assignment, StudentFunction
from autograder.checks.submission import StudentCodeFailed, Submission
from autograder.sandbox.inside.checker import inputs, wire
from autograder.sandbox.inside.checker.checking import sent
from autograder.sandbox.notebook import Notebook, sanitize
from solutions import train_and_generate as ref
from solutions.gpt2 import GPTModel
from tests import corpus

TINY = {"vocab_size": 97, "context_length": 16, "emb_dim": 32, "n_heads": 2, "n_layers": 1, "drop_rate": 0.0,
        "qkv_bias": False}
SECOND = Assignment(name="train_and_generate", functions=(
    StudentFunction("train_step", ("model", "optimizer", "input_batch", "target_batch", "device"), points=2),))
BOOK_STEP = '''
import torch

def train_step(model, optimizer, input_batch, target_batch, device):
    optimizer.zero_grad()
    logits = model(input_batch.to(device))
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.to(device).flatten())
    loss.backward()
    optimizer.step()
    return loss.item()
'''
NO_ZERO_GRAD = BOOK_STEP.replace("    optimizer.zero_grad()\n", "")


def model_ref(config: dict, seed: int, grad: float | None = None) -> wire.Ref:
    """A GPTModel of the release's gpt2.py, named as a check names it, as it is sent."""
    spec = {"module": "gpt2", "class": "GPTModel", "config": config, "seed": seed, "train": False, "grad": grad}
    return sent(inputs.model_ref(spec, f"GPTModel(seed {seed}, {config['n_layers']} layers)"))


def optimizer_ref(kind: str, arg: int, **options: float) -> wire.Ref:
    return sent(inputs.optimizer_ref(kind, arg, **options))


def submission_with(code: str) -> Submission:
    """A notebook of one answer cell, against train_and_generate's trusted release copy."""
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    trusted = nbformat.read(corpus.ROOT / "release" / "train_and_generate" / "train_and_generate.ipynb", as_version=4)
    return Submission(Notebook(sanitize(book, trusted).cells), SECOND)


def reference_step(seed: int, x, y) -> tuple[float, dict]:
    torch.manual_seed(seed)
    model = GPTModel(TINY)
    model.eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    loss = ref.train_step(model, optimizer, x, y, "cpu")
    return loss, {name: p.detach() for name, p in model.named_parameters()}


@pytest.mark.parametrize("grad", [None, 3.0])
def test_a_step_on_a_model_built_in_the_sandbox_matches_the_reference_step(grad):
    x, y = torch.randint(0, 97, (2, 6)), torch.randint(0, 97, (2, 6))
    args = (model_ref(TINY, seed=7, grad=grad), optimizer_ref("AdamW", 0, lr=0.01, weight_decay=0.1),
            x, y, "cpu")
    with submission_with(BOOK_STEP) as submission:
        reply = submission.call_traced("train_step", *args, after=(0,))
    loss, parameters = reference_step(7, x, y)
    assert reply.value == pytest.approx(loss, rel=1e-6)
    assert reply.after[0].keys() == parameters.keys()
    for name, tensor in parameters.items():
        assert torch.allclose(reply.after[0][name], tensor, atol=1e-6), name


def test_stale_gradients_show_in_the_parameters_read_back():
    """Without zero_grad, a previous step's gradients leak in: the returned loss is still right,
    the parameters are not, and only reading them back shows it."""
    x, y = torch.randint(0, 97, (2, 6)), torch.randint(0, 97, (2, 6))
    args = (model_ref(TINY, seed=7, grad=3.0), optimizer_ref("SGD", 0, lr=0.1), x, y, "cpu")
    with submission_with(NO_ZERO_GRAD) as submission:
        reply = submission.call_traced("train_step", *args, after=(0,))
    torch.manual_seed(7)
    clean = GPTModel(TINY).eval()
    ref.train_step(clean, torch.optim.SGD(clean.parameters(), lr=0.1), x, y, "cpu")
    assert reply.value == pytest.approx(reference_step(7, x, y)[0], rel=1e-6)  # the loss before the step
    assert any(not torch.allclose(reply.after[0][name], p, atol=1e-4) for name, p in clean.named_parameters())


def test_an_optimizer_the_grader_does_not_allow_is_refused():
    ids = torch.zeros(1, 2, dtype=torch.long)
    args = (model_ref(TINY, seed=1), wire.Ref('optim:{"arg": 0, "kind": "LBFGS"}'), ids, ids, "cpu")
    with submission_with(BOOK_STEP) as submission, pytest.raises(StudentCodeFailed):
        submission.call_traced("train_step", *args)


def test_references_read_as_what_they_build():
    assert repr(model_ref(TINY, seed=7)) == "GPTModel(seed 7, 1 layers)"
    assert repr(optimizer_ref("AdamW", 0, lr=0.01)) == "an optimizer (AdamW)"
    assert repr(wire.Ref("optim:{}")) == "Ref('optim:{}')"  # a reference nobody named in words


@pytest.mark.parametrize("data", [
    [],                                            # fewer arguments than asked for
    [[1, [["w", torch.zeros(2)]]]],                # another argument than asked for
    [[0, [["w", [1.0, 2.0]]]]],                    # a list where a tensor belongs
    [[0, [[3, torch.zeros(2)]]]],                  # a name that is not a string
    [[0, "weights"]],
])
def test_parameters_read_back_are_refused_unless_exactly_what_was_asked(data):
    from autograder.sandbox.inside.checker.channel import _parameters

    with pytest.raises(wire.WireError):
        _parameters(data, (0,))
    assert _parameters([[0, [["w", torch.ones(2)]]]], (0,))[0]["w"].tolist() == [1.0, 1.0]
