"""The table of known mistakes: every hint fires on its mistake in the corpus, never on a correct answer."""

import pytest
import torch

from autograder.assignments.tokens_and_loss import cases
from autograder.assignments.tokens_and_loss import tokenizer as grader_tokenizer
from autograder.assignments.tokens_and_loss.hints import HINTS, Attempt, hints_for
from solutions import tokens_and_loss as reference
from tests import corpus

# corpus mistake -> the hint it must earn (None: the failure message says enough on its own)
EXPECTED = {
    "no_batch_dimension": "missing_batch_dimension", "special_token_not_allowed": "special_token_not_allowed",
    "returns_list": None, "float_ids": "ids_not_integers", "decode_nested_list": "decode_nested_list",
    "returns_ids": None, "strips_spaces": "stripped_spaces", "hardcoded_positions": "hardcoded_positions",
    "first_row_only": "first_row_only", "predicted_not_target": "predicted_not_target",
    "torch_loss": "torch_loss_used", "torch_loss_via_getattr": "torch_loss_used", "nll_loss_module": "torch_loss_used",
    "sum_not_mean": "sum_not_mean", "missing_minus": "missing_minus", "log_of_logits": "log_of_logits",
    "softmax_wrong_dim": "softmax_wrong_dim", "exp_of_negative_loss": "exp_of_negative_loss",
    "base_two": "base_two", "returns_float": "returns_float",
}
TEXT = {hint.name: hint.text for hint in HINTS}


def test_every_hint_has_a_mistake_in_the_corpus():
    assert set(EXPECTED) == {m.name for m in corpus.MISTAKES}
    assert {name for name in EXPECTED.values() if name} == set(TEXT)


@pytest.mark.parametrize("mistake", corpus.MISTAKES, ids=lambda m: m.name)
def test_each_mistake_gets_its_hint_and_no_other(graded_corpus, mistake):
    result = graded_corpus[mistake.name]
    failed = [c for c in result.checks if not c.passed]
    expected = EXPECTED[mistake.name]
    named = {name for c in failed for name in c.mistakes}
    assert named == ({expected} if expected else set())
    feedback = " ".join(c.feedback for c in failed)
    if expected:  # the student reads the hint's words, after the message
        assert f"Hint: {TEXT[expected]}" in feedback
    assert [name for name, text in TEXT.items() if name != expected and text in feedback] == []


def test_correct_submissions_get_no_hints(graded_corpus):
    assert [c.mistakes for c in graded_corpus["seed"].checks if c.mistakes] == []
    assert "Hint:" not in " ".join(c.feedback for c in graded_corpus["seed"].checks)


def reference_attempts():
    tokenizer = grader_tokenizer.gpt2()
    for text in (*cases.TEXTS, "every effort moves"):
        yield Attempt("text_to_token_ids", (text, tokenizer), reference.text_to_token_ids(text, tokenizer))
        ids = reference.text_to_token_ids(text, tokenizer)
        for shaped in (ids, ids[0]):
            yield Attempt("token_ids_to_text", (shaped, tokenizer), reference.token_ids_to_text(shaped, tokenizer))
    for logits, targets in [cases.book_batch(), *(cases.batch(case) for case in cases.CASES)]:
        probas = torch.softmax(logits, dim=-1)
        yield Attempt("target_probas", (probas, targets), reference.target_probas(probas, targets))
        manual = -torch.log(reference.target_probas(probas, targets)).mean()
        yield Attempt("manual_cross_entropy", (logits, targets), manual, frozenset({"aten._softmax", "aten.log"}))
        yield Attempt("perplexity", (manual,), torch.exp(manual))
    for value in (0.0, 1.0, 2.5):
        yield Attempt("perplexity", (torch.tensor(value),), torch.exp(torch.tensor(value)))


def test_no_hint_fires_on_a_correct_answer():
    fired = [(a.function, hints_for(a)) for a in reference_attempts() if hints_for(a)]
    assert fired == []
