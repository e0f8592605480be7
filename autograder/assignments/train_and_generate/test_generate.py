"""generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None).

Greedy calls have one right answer; sampled calls are judged by what every correct sampler does:
it draws only among the top k, and as often as softmax(logits / temperature) says."""

import pytest
import torch

from autograder.assignments.train_and_generate import calls, cases
from autograder.checks.expect import judged

pytestmark = pytest.mark.student_function("generate")


def _prompt(length: int, seed: int) -> torch.Tensor:
    return cases.token_ids(length, seed, vocab=97).unsqueeze(0)


def test_greedy_on_another_model(submission):
    judged(submission, calls.generate_greedy(cases.model_spec(cases.WIDER, 9), _prompt(5, 9), 10, 24))


def test_top_k_does_not_change_greedy(submission):
    judged(submission, calls.generate_greedy(cases.model_spec(cases.TINY, 10), _prompt(4, 10), 6, 16, top_k=5))


def test_prompt_longer_than_the_context(submission):
    judged(submission, calls.generate_greedy(cases.model_spec(cases.TINY, 11), _prompt(25, 11), 3, 16))


def test_context_shorter_than_the_model_allows(submission):
    judged(submission, calls.generate_greedy(cases.model_spec(cases.WIDER, 12), _prompt(10, 12), 6, 4))


def test_stops_at_the_end_token(submission):
    spec, prompt = cases.model_spec(cases.TINY, 13), _prompt(4, 13)
    eos = int(cases.greedy(spec, prompt, 3, 16)[0, -1])  # the third greedy token
    judged(submission, calls.generate_greedy(spec, prompt, 8, 16, eos=eos))


def test_samples_only_the_top_k(submission):
    """From a 5-token prompt, cropped to 8: contexts of 5, 6 and 7 tokens, then always 8."""
    judged(submission, calls.generate_sampled("tiny", 14, _prompt(5, 14)[0].tolist(), 300, 8, 1.0, 3))


# At temperature 0.1 a correct sampler draws the likelier of the two most of the time, but far from
# always. Each call is chosen so that greedy decoding and a temperature lost after the softmax miss
# the count by more than twice the bound (measured on their own sequences: at least 2.4 and 1.9
# bounds here), while correct samplers stay well within it: a three-token prompt cropped to 8
# (contexts 3 to 8, then 8), and a seven-token prompt cropped to 6.
@pytest.mark.parametrize("config, seed, prompt, new, context", [("tiny", 17, 3, 800, 8), ("wider", 16, 7, 800, 6)],
                         ids=str)
def test_samples_at_the_temperature(submission, config, seed, prompt, new, context):
    ids = _prompt(prompt, seed)[0].tolist()
    judged(submission, calls.generate_sampled(config, seed, ids, new, context, 0.1, 2, rate=True))
