"""A pytest-based autograder for the course's notebooks.

Student code runs in its own sandboxed process (``runner``); the tests, the reference values and
the verdict stay in the grader's process, and only plain data crosses between them (``wire``).
"""

import sys

__version__ = "0.1.0"

# nbformat validates notebooks with jsonschema, which imports rfc3987_syntax when it is installed and
# compiles its grammar on import (over a second, in every grading process) for the "iri" formats that
# notebook schemas never use. Marking it absent makes jsonschema skip those formats and nothing else.
sys.modules.setdefault("rfc3987_syntax", None)


class GraderError(Exception):
    """Base class of the kit's errors; the message is written for the person who must act on it."""
