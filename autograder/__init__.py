"""A pytest-based autograder for the course's notebooks.

Student code runs in its own sandboxed process; the tests, the reference values and the verdict
stay in the grader's process, and only plain data crosses between them. One subpackage per stage
of a submission's way through the kit:

    sandbox/       notebook bytes in, plain data out (``sandbox/inside/``: the code beside student code)
    warmup/        what every submission would pay, paid once per assignment and stored
    checks/        pytest in the grader: judges the answers, makes one result
    outputs/       the result object and everything written from it
    batch/         a directory of submissions, on local workers or Dask
    integrations/  Gradescope and GitHub Classroom: grade, then write their formats
    authoring/     before a release: generate it, its students' checker, validate it

``assignments/`` holds one package per assignment; ``cli`` is ``python -m autograder``.
"""

import sys

__version__ = "0.1.0"

# nbformat validates notebooks with jsonschema, which imports rfc3987_syntax when it is installed and
# compiles its grammar on import (over a second, in every grading process) for the "iri" formats that
# notebook schemas never use. Marking it absent makes jsonschema skip those formats and nothing else.
sys.modules.setdefault("rfc3987_syntax", None)


class GraderError(Exception):
    """Base class of the kit's errors; the message is written for the person who must act on it."""
