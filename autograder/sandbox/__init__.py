"""The sandbox: where student code runs, and the boundary the grader talks to it through.

A submission goes in as notebook bytes; plain data comes out. ``notebook`` parses and sanitizes the
file, ``bwrap`` and ``confinement`` build the bubblewrap command and its limits, ``warm_sandbox``
starts a sandboxed zygote (and records the assignment's model in one), and ``student_process``
speaks to the sandboxed process: code to run goes in, values come back through ``inside.wire`` as
plain data, parsed, never unpickled.

``inside/`` holds the only code that runs beside student code (copied into the sandbox as flat
files, not imported as this package): it must never import anything of the kit outside
``inside/``, and tests/autograder/test_layout.py reads its imports to prove it. Nothing here
imports the checks, the batch or the outputs.
"""
