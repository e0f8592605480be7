"""tokens_and_loss: text to token ids and back, target probabilities, cross-entropy, perplexity.

A function earns its points only when every check of it passes: passing the book's 2 x 3
example alone must not pay for indexing hard-coded to that shape.
"""

from autograder.assignment import Assignment, StudentFunction

ASSIGNMENT = Assignment(
    name="tokens_and_loss",
    functions=(
        StudentFunction("text_to_token_ids", ("text", "tokenizer"), points=2),
        StudentFunction("token_ids_to_text", ("token_ids", "tokenizer"), points=2),
        StudentFunction("target_probas", ("probas", "targets"), points=2),
        StudentFunction("manual_cross_entropy", ("logits", "targets"), points=3),
        StudentFunction("perplexity", ("loss",), points=1),
    ),
    warm="autograder.assignments.tokens_and_loss.cases:warm",
    model="gpt2:GPTModel",  # the setup cell builds one: recorded once, replayed for every notebook
    visible="autograder.assignments.tokens_and_loss.calls:visible",
    # The slowest cell builds GPT-2 124M and generates ten tokens (about 2 s); a graded call takes
    # milliseconds. Ten times that and more, so a slow machine never costs an honest student, while
    # a hang costs seconds, not minutes.
    cell_timeout=20.0,
    call_timeout=10.0,
    default=True,  # the kit's first assignment: what a command without --assignment grades
)
