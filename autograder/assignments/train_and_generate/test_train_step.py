"""train_step(model, optimizer, input_batch, target_batch, device) -> the loss before one step, a float.

The model comes with a previous step's gradients still in .grad (they must not leak in), or gets
several steps in a row; its parameters are read back after the call and compared with a correct
step's."""

import pytest

from autograder.assignments.train_and_generate import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("train_step")

# SGD in every form: its step is linear in the gradient, so another correct loss computation, off
# by float rounding, moves the parameters by as little. Adam's first step is about lr x sign(gradient),
# which rounding flips for gradients near zero.
OPTIMIZERS = ({"kind": "SGD", "arg": 0, "lr": 0.5, "weight_decay": 0.1},
              {"kind": "SGD", "arg": 0, "lr": 0.2, "momentum": 0.9},
              {"kind": "SGD", "arg": 0, "lr": 0.3})


@pytest.mark.parametrize("config, seed, stale, optimizer", [
    ("tiny", 6, True, OPTIMIZERS[0]), ("wider", 7, True, OPTIMIZERS[1]), ("wider", 9, False, OPTIMIZERS[2])], ids=str)
def test_one_step_on_this_batch_only(submission, config, seed, stale, optimizer):
    spec = cases.model_spec(cases.CONFIGS[config], seed, train=True, grad=cases.STALE_GRAD if stale else None)
    judged(submission, calls.train_step(spec, optimizer, *cases.batch((3, 8), seed=seed)))


def test_several_steps_in_a_row(submission):
    """Three calls on the same model and optimizer (momentum carries over): three falling losses."""
    spec = cases.model_spec(cases.TINY, 10, train=True)
    judged(submission, calls.train_step(spec, OPTIMIZERS[1], *cases.batch((2, 8), seed=10), count=3))
