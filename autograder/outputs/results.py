"""The result of grading one submission: the single source every output format is written from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from autograder.assignment import Assignment


@dataclass(frozen=True)
class CheckResult:
    """One pytest check. ``outcome`` is "passed", "failed" (the student's code) or "error" (the grader's)."""

    name: str
    function: str
    visible: bool
    outcome: str
    message: str = ""
    hints: tuple[str, ...] = ()  # advice for a recognised mistake, in plain words
    mistakes: tuple[str, ...] = ()  # the names of those mistakes (the assignment's hint table), for reports

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    @property
    def feedback(self) -> str:
        """The message with its hints, as one line of text (terminal, Gradescope, JUnit)."""
        return self.message + "".join(f" Hint: {hint}" for hint in self.hints)


@dataclass(frozen=True)
class FunctionResult:
    """A student function earns its points only when every one of its checks passes."""

    name: str
    points: float
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        return float(self.points) if self.passed else 0.0

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    assignment: str
    functions: tuple[FunctionResult, ...]
    execution_time: float = 0.0
    notes: tuple[str, ...] = ()  # for the student: unusable file, cells that raised, missing locked cells
    source: str = ""
    sandboxed: bool = False
    unusable: bool = False  # the file could not be graded at all (not a notebook, nothing submitted)
    grader_errors: tuple[str, ...] = field(default=())  # for the instructor: a check that crashed
    review: str = ""  # for the instructor: why a person must look before this submission earns anything
    look: tuple[str, ...] = ()  # for the instructor: what a person should look at; the grade stands

    @property
    def score(self) -> float:
        return sum(f.score for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.points for f in self.functions)

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for f in self.functions for c in f.checks)


def build(assignment: Assignment, student: str, checks: list[CheckResult], **fields) -> SubmissionResult:
    """Group checks by function, in the assignment's order, and score them."""
    functions = tuple(
        FunctionResult(f.name, f.points, tuple(c for c in checks if c.function == f.name))
        for f in assignment.functions
    )
    errors = tuple(f"{c.name}: {c.message}" for c in checks if c.outcome == "error")
    return SubmissionResult(student, assignment.name, functions, grader_errors=errors, **fields)


def unusable(assignment: Assignment, student: str, message: str, **fields) -> SubmissionResult:
    """The result for a file that could not be graded at all: zero, and why."""
    functions = tuple(
        FunctionResult(f.name, f.points, (CheckResult("notebook is readable", f.name, True, "failed", message),))
        for f in assignment.functions
    )
    return SubmissionResult(student, assignment.name, functions, notes=(message,), unusable=True, **fields)


def needs_review(assignment: Assignment, student: str, why: str, **fields) -> SubmissionResult:
    """A submission that earns nothing automatically until a person has looked at it (``why``)."""
    message = (f"This submission was not graded automatically: {why}. It scores 0 until your instructor has "
               "looked at it.")
    result = unusable(assignment, student, message, **fields)
    return SubmissionResult(**{**result.__dict__, "unusable": False, "review": why})


def grader_failed(assignment: Assignment, student: str, error: str, **fields) -> SubmissionResult:
    """The result when the grader itself failed on a submission: no verdict on the student's work."""
    result = unusable(assignment, student, "The grader failed on this submission; your instructor has been told "
                      "and will grade it.", **fields)
    return SubmissionResult(**{**result.__dict__, "unusable": False, "grader_errors": (error,)})


def to_dict(result: SubmissionResult) -> dict:
    """Plain JSON-ready form, kept beside results.json so a resumed batch can rebuild its outputs."""
    return asdict(result)


def _check(data: dict) -> CheckResult:
    return CheckResult(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def from_dict(data: dict) -> SubmissionResult:
    functions = tuple(
        FunctionResult(f["name"], f["points"], tuple(_check(c) for c in f["checks"]))
        for f in data["functions"]
    )
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "functions"}
    return SubmissionResult(functions=functions, **fields)
