"""What runs inside the sandbox, beside student code: the runner, the zygote, their caches, the wire.

These modules are copied into the sandbox as flat files (``warm_sandbox.RUNNER_FILES``) and import
one another by bare name (``import wire``). The grader imports some of them as this package (the
wire's decoder, the shared judge in ``student_check``), never the other way round: a module here
imports the standard library, torch, numpy, tiktoken, IPython and its siblings, and nothing else of
the kit. ``student_check`` is also the students' own ``check.py``.
"""
