"""The warm-up: what every submission would pay, paid once per assignment and stored.

In: an assignment (its reference answers, its release notebook). Out: a stored folder with the
graded inputs (``tensor_cache``), the model cache and the forward recordings, found again by
``store`` for later batches and single notebooks. ``prepare`` makes it (its sandboxed part through
``sandbox.warm_sandbox``). Never imports the checks, the batch or the outputs.
"""
