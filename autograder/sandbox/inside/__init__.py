"""What runs beside student code: the check engine (``checker/``), and the grader's zygote and caches.

``checker/`` is the engine that runs a notebook and judges its functions; it also ships beside every
release notebook, as the students' own checker. ``zygote.py``, ``model_cache.py`` and
``forward_memo.py`` are the grader's alone: the warm process its sandbox forks each submission from,
and the recordings that spare each submission the model's construction and forward passes. All are
copied into the sandbox (``warm_sandbox.stage_runner``) and import one another by bare name
(``from checker import runner``). The grader imports some of them as this package (the wire's
decoder, the judge), never the other way round: a module here imports the standard library, torch,
numpy, IPython, the assignment's support module and its siblings, and nothing else of the kit.
``check.py`` is the few lines
that ship beside the notebook to run the engine.
"""
