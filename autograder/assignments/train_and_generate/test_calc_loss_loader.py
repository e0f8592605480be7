"""calc_loss_loader(data_loader, model, device, num_batches=None) -> the mean batch loss, a float.

Checked with the kit's stand-in for calc_loss_batch (see ``calls``): only the loader is judged."""

import pytest

from autograder.assignments.train_and_generate import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("calc_loss_loader")


def _loader(seed: int, sizes: list[int]) -> list:
    """Batches of 7 tokens; the last may be smaller, as a DataLoader without drop_last gives it."""
    return [cases.batch((size, 7), seed=seed + i) for i, size in enumerate(sizes)]


@pytest.mark.parametrize("sizes, num_batches", [([3, 3, 3, 1], None), ([2, 2], 10), ([4, 4, 4], 1), ([1], None)],
                         ids=str)
def test_mean_of_the_first_batches(submission, sizes, num_batches):
    spec = cases.model_spec(cases.WIDER, 5)
    judged(submission, calls.calc_loss_loader(spec, _loader(20, sizes), num_batches))
