"""The checks: pytest, in the grader's process, judging what the sandboxed student process answers.

In: a parsed notebook and an assignment's ``test_*.py``. Out: one result object
(``outputs.results``). ``grading`` runs pytest on one notebook with ``plugin`` (the ``submission``
fixture, points, timeouts) and ``visible_checks`` (one check per function, from the calls marked
visible); ``call`` is how an assignment writes a check, validated when it is made; ``submission`` is
the engine's session whose calls run in the sandbox; ``expect`` makes and judges a call with the
engine (``sandbox.inside.checker``), as the students' checker does; ``provenance`` flags copied
instructor material. Imports the sandbox, the warm-up store and the result object;
never the batch or the integrations.
"""
