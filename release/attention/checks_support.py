"""What attention's checks need beside the student's code: stand-ins for the two functions.

Shipped beside the notebook as ``checks_support.py``. A class that calls ``scaled_attention_scores``
or ``causal_attention_weights`` would lose points for a mistake there; while it is checked, a
function that failed its own checks is replaced by one of these. They are not the answers (nothing
of the reference reaches the student's process), but what a correct module computes with them in
place is known, so the module is judged on its own work.
"""


def probe_scores(queries, keys, *_, **__):
    """Stands in for ``scaled_attention_scores``: a score of the right shape, (..., n_q, n_k), that
    depends on every query and key, and is not a scaled dot product."""
    return (queries.sum(-1, keepdim=True) - keys.sum(-1).unsqueeze(-2)) / keys.shape[-1]


def probe_weights(scores, *_, **__):
    """Stands in for ``causal_attention_weights``: causal rows that sum to 1, normalised sigmoids of
    the scores rather than a softmax."""
    import torch

    size = scores.shape[-1]
    past = torch.tril(torch.ones(size, size, dtype=torch.bool, device=scores.device))
    weights = torch.sigmoid(scores).masked_fill(~past, 0.0)
    return weights / weights.sum(-1, keepdim=True)


STAND_INS = {"probe_scores": probe_scores, "probe_weights": probe_weights}
