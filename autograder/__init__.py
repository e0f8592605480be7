"""A pytest-based autograder for the course's notebooks.

Student code runs in its own sandboxed process (``runner``); the tests, the reference values and
the verdict stay in the grader's process, and only plain data crosses between them (``wire``).
"""

__version__ = "0.1.0"


class GraderError(Exception):
    """Base class of the kit's errors; the message is written for the person who must act on it."""
