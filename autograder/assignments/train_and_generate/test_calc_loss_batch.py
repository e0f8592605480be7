"""calc_loss_batch(input_batch, target_batch, model, device) -> the mean cross-entropy, a 0-dim tensor."""

import pytest

from autograder.assignments.train_and_generate import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("calc_loss_batch")


@pytest.mark.parametrize("config, seed, shape", [("tiny", 2, (1, 16)), ("wider", 3, (5, 3)), ("wider", 4, (3, 24))],
                         ids=str)
def test_any_model_and_shape(submission, config, seed, shape):
    spec = cases.model_spec(cases.CONFIGS[config], seed, train=seed % 2 == 0)
    judged(submission, calls.calc_loss_batch(spec, *cases.batch(shape, seed=seed)))
