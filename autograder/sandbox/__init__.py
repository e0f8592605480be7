"""The sandbox: where student code runs, and the boundary the grader talks to it through.

A submission goes in as notebook bytes; plain data comes out. ``notebook`` parses and sanitizes the
file, ``bwrap`` and ``confinement`` build the bubblewrap command and its limits, ``warm_sandbox``
starts a sandboxed zygote (and records the assignment's model in one), ``student_process``
speaks to the sandboxed process (code to run goes in, values come back through the engine's wire
as plain data, parsed, never unpickled), and ``scratch`` names the grader's temporary folders by
their owner, so none outlives a killed grader for long.

``inside/`` holds the only code that runs beside student code (copied into the sandbox, not imported
as this package there): the zygote and its caches, and ``inside/checker/``, the check engine that
also ships to students. It must never import anything of the kit outside ``inside/``, and
tests/autograder/test_layout.py reads its imports to prove it. Nothing here imports the checks, the
batch or the outputs.
"""
