"""The checks' engine, shipped beside the notebook: what runs a notebook, calls its functions and judges them.

The grader and the students' checker are one engine. The grader runs it in its sandbox (``runner``
beside the student's code) and drives it from its own process (``session``, ``checking``); the
students' ``python check.py`` runs the same modules, unsandboxed, from the release folder, through a
warm process of its own (``background``); ``check()`` in the notebook calls the functions in the
running kernel (``calling``). Every verdict comes from ``judge``.

    wire          the plain-data format between a runner and its driver
    runner        runs the notebook's cells and answers calls, beside student code
    inputs        a call's inputs, built where the code runs; stand-ins; the op recorder
    channel       the driver's side of the wire, with time limits and validation of every reply
    session       one notebook under checking: run once, call its functions, messages for students
    checking      one call checked through a session
    judge         the verdict on one call: expectations and known mistakes
    cells         the cells a run executes: locked cells restored, test cells dropped
    memo          building the notebook's model once
    calling       check() in the notebook
    background    the students' warm process;  cli: python check.py
    report, classroom, release_files   what students read; GitHub Classroom's report; checks.json and checks.pt

Everything here imports the standard library, torch, IPython, its siblings and the assignment's
support module (``checks_support``), and
nothing of the grader: a student has this package and never the kit.
"""
