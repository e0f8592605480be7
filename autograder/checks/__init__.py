"""The checks: pytest, in the grader's process, judging what the sandboxed student process answers.

In: a parsed notebook and an assignment's ``test_*.py``. Out: one result object
(``outputs.results``). ``grading`` runs pytest on one notebook with ``plugin`` (the ``submission``
fixture, points, timeouts); ``submission`` is the proxy whose calls run in the sandbox; ``expect``
judges a call's answer with the shared judge (``sandbox.inside.checker.judge``); ``provenance``
flags copied instructor material. Imports the sandbox, the warm-up store and the result object;
never the batch or the integrations.
"""
