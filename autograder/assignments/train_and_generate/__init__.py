"""train_and_generate: input/target windows, the loss of a batch and of a loader, a training step,
and generation with temperature, top-k and an end token.

Every input that cannot travel (a model, an optimizer) is built in the student's process from a
description (``checker.inputs.build``), and the kit builds the same one from its own gpt2.py to
know the answer. ``calc_loss_loader`` and ``train_step`` are checked with the kit's stand-in for
``calc_loss_batch`` (``checker.inputs.probe_loss``), so a mistake there costs only its own points.
"""

from autograder.assignment import Assignment, StudentFunction

ASSIGNMENT = Assignment(
    name="train_and_generate",
    functions=(
        StudentFunction("input_target_pairs", ("token_ids", "max_length", "stride"), points=2),
        StudentFunction("calc_loss_batch", ("input_batch", "target_batch", "model", "device"), points=2),
        StudentFunction("calc_loss_loader", ("data_loader", "model", "device", "num_batches"), points=2),
        StudentFunction("train_step", ("model", "optimizer", "input_batch", "target_batch", "device"), points=2),
        StudentFunction("generate", ("model", "idx", "max_new_tokens", "context_size", "temperature", "top_k",
                                     "eos_id"), points=2),
    ),
    model="gpt2:GPTModel",  # the setup cell builds one: recorded once, replayed for every notebook
    visible="autograder.assignments.train_and_generate.calls:visible",
    # Graded, the notebook's slowest cell measures the untrained model's loss over the whole story
    # (about 1 s here; the training cell is skipped); a graded call takes milliseconds, the longest
    # (400 sampled tokens) a few tenths of a second. Ten times that and more.
    cell_timeout=30.0,
    call_timeout=10.0,
)
