"""A student's notebook as the graded checks see it: the engine's ``Session``, forked by the sandbox.

The driving (run the cells once, restart without a cell that hung, call a function, the messages a
student reads) is the engine's (``sandbox/inside/checker/session.py``), shared with the students'
``python check.py``, so both say the same thing about the same notebook. What is the grader's own
is where the notebook runs: a zygote in the sandbox, the batch worker's or one of its own.
"""

from __future__ import annotations

from pathlib import Path

from autograder.assignment import Assignment
from autograder.sandbox.inside.checker.session import Limits, Session, StudentCodeFailed  # noqa: F401
from autograder.sandbox.notebook import Notebook
from autograder.sandbox.student_process import StudentProcess
from autograder.settings import Settings


class Submission(Session):
    """One notebook under grading. Close it (or use it as a context manager) to end its process."""

    def __init__(self, notebook: Notebook, assignment: Assignment, settings: Settings = Settings()):
        self.assignment, self.settings = assignment, settings.fitted(assignment)
        limits = Limits(call=self.settings.call_timeout, cell=self.settings.cell_timeout,
                        notebook=self.settings.notebook_timeout)
        contract = {f.name: f.params for f in assignment.functions}
        super().__init__(notebook, contract, assignment.name, limits, self._new_process, assignment.classes)
        self._sandbox = None  # the zygote this submission forks from
        self._own_sandbox = False

    def close(self) -> None:
        super().close()
        if self._own_sandbox and self._sandbox is not None:
            self._sandbox.close()
        self._sandbox = None

    def _new_process(self) -> StudentProcess:
        return StudentProcess(self.assignment.release_dir, warm=self._zygote())

    def _zygote(self):
        """The batch worker's zygote, or one of this submission's own that outlives its restarts."""
        from autograder.sandbox.warm_sandbox import shared_sandbox, take

        if self._sandbox is None:
            if self.settings.keep_zygote:
                self._sandbox = shared_sandbox(self.assignment, self.settings)
            else:
                self._sandbox = take(self.assignment.release_dir, self.settings, self.assignment.needs)
                self._own_sandbox = True
        return self._sandbox


def open_submission(path: Path, assignment: Assignment, settings: Settings = Settings()) -> Submission:
    """A Submission for a notebook file; raises UnusableNotebook for files that are not notebooks."""
    from autograder.sandbox.notebook import load

    notebook = load(path, assignment.release_dir / assignment.notebook_name, settings.max_notebook_bytes)
    return Submission(notebook, assignment, settings)
