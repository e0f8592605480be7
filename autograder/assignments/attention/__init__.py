"""attention: scaled dot-product scores, causal weights, and self-attention from one head to many
(the book's chapter 3). The first assignment whose students write classes.

Each class is built in the student's process from its constructor arguments and a seed, then given
the reference's parameters (``build["state"]``), with its own mask kept or the reference's loaded,
and called on hidden inputs. What cannot be compared with one right answer is judged by properties:
causality, rows of weights summing to 1, eval mode deterministic, dropout in train mode. The
classes may call the two functions; while they are checked, a function that failed its own checks
is stood in for by the kit's (``support.py``), so its mistake costs only its own points.
"""

from autograder.assignment import Assignment, StudentFunction

ASSIGNMENT = Assignment(
    name="attention",
    functions=(
        StudentFunction("scaled_attention_scores", ("queries", "keys"), points=2),
        StudentFunction("causal_attention_weights", ("scores",), points=2),
        StudentFunction("SelfAttention", ("d_in", "d_out", "qkv_bias"), points=2, kind="class"),
        StudentFunction("CausalAttention", ("d_in", "d_out", "context_length", "dropout", "qkv_bias"), points=2,
                        kind="class"),
        StudentFunction("MultiHeadAttention", ("d_in", "d_out", "context_length", "dropout", "num_heads",
                                               "qkv_bias"), points=2, kind="class"),
    ),
    visible="autograder.assignments.attention.calls:visible",
    # The notebook's cells take milliseconds (tiny tensors); a graded call at most a few. Far more.
    cell_timeout=30.0,
    call_timeout=10.0,
)
