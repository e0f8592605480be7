"""Reference answers for the tokens_and_loss assignment.

The grader computes every expected value with these, in its own process. They are written
the direct way (tiktoken, ``gather``, torch's own cross-entropy); the notebook's solution cells
show the step-by-step way students are taught, and the tests check that both agree.
"""

import torch


def text_to_token_ids(text, tokenizer):
    return torch.tensor([tokenizer.encode(text, allowed_special={"<|endoftext|>"})], dtype=torch.long)


def token_ids_to_text(token_ids, tokenizer):
    return tokenizer.decode(token_ids.reshape(-1).tolist())


def target_probas(probas, targets):
    return torch.gather(probas, -1, targets.unsqueeze(-1)).squeeze(-1)


def manual_cross_entropy(logits, targets):
    # The reference is torch's own loss: the value a correct manual version must agree with.
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())


def perplexity(loss):
    return torch.exp(loss)
