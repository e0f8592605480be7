"""gpt_model: GPT-2 assembled from its parts (the book's chapter 4): layer normalisation, GELU, the
feed-forward network, the pre-LayerNorm transformer block, and the whole model.

Each class is built in the student's process from a small configuration and a seed, given the
reference's parameters (``solutions/gpt2.py``, whose names are the book's), and called on hidden
inputs. A class built from the others (the feed-forward network from GELU, the block from layer
norms and a feed-forward network, the model from blocks and a layer norm) is checked with the kit's
stand-ins (``support.py``) for the parts that failed their own checks, so a wrong ``LayerNorm``
costs only its own points.
"""

from autograder.assignment import Assignment, StudentFunction

ASSIGNMENT = Assignment(
    name="gpt_model",
    functions=(
        StudentFunction("LayerNorm", ("emb_dim",), points=2, kind="class"),
        StudentFunction("GELU", (), points=2, kind="class"),
        StudentFunction("FeedForward", ("cfg",), points=2, kind="class"),
        StudentFunction("TransformerBlock", ("cfg",), points=2, kind="class"),
        StudentFunction("GPTModel", ("cfg",), points=2, kind="class"),
    ),
    visible="autograder.assignments.gpt_model.calls:visible",
    # Graded, the notebook's cells build only small models (the 124M one is skipped when grading);
    # a graded call takes milliseconds. Far more.
    cell_timeout=30.0,
    call_timeout=10.0,
)
