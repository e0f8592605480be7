"""The outputs: the result object, and everything written from it.

In: ``results.SubmissionResult`` (plain dataclasses, the single source of truth). Out: files and
text for people and systems: ``writers`` (Gradescope JSON, CSV, JUnit, atomic writes),
``feedback_page`` and ``class_report`` (HTML pages, from ``templates/`` through ``html``),
``report`` (the terminal), ``gradebook`` (nbgrader's database). Never imports the sandbox, the
checks or the batch: an output is never recomputed, only written.
"""
