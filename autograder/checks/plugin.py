"""The pytest plugin behind the grader: a ``submission`` fixture and the ``student_function`` marker.

Registered through the ``pytest11`` entry point, so an instructor can also run an assignment's
checks directly::

    pytest autograder/assignments/<assignment> --assignment <assignment> --submission alice.ipynb

Each check is a test marked ``@pytest.mark.student_function("name")`` (the function it grades)
and, if students may run it before submitting, ``@pytest.mark.visible``. Outcomes are kept in
``config.stash`` and turned into a ``SubmissionResult`` at the end of the session.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autograder.assignment import Assignment, assignment_names, default_assignment, load_assignment
from autograder.checks.submission import StudentCodeFailed, Submission, open_submission
from autograder.outputs.results import CheckResult, SubmissionResult, build
from autograder.sandbox.inside.checker import models
from autograder.settings import Settings, add_limit_options, limits_from

CHECKS = pytest.StashKey[dict]()
STARTED = pytest.StashKey[float]()
SUBMISSION = pytest.StashKey[Submission]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "grading a notebook with the course autograder")
    group.addoption("--submission", metavar="NOTEBOOK", default=None,
                    help="notebook to grade; required by the submission fixture.")
    group.addoption("--assignment", default=default_assignment(), choices=assignment_names(),
                    help=f"assignment the notebook belongs to: {', '.join(assignment_names())} "
                         f"(default: {default_assignment()}).")
    group.addoption("--course", metavar="DIR", default=None,
                    help="course directory holding release/<assignment>/ (default: this checkout).")
    group.addoption("--notebook-timeout", type=float, default=Settings.notebook_timeout, metavar="S",
                    help=f"seconds for all of the notebook's cells (default: {Settings.notebook_timeout:g}).")
    group.addoption("--call-timeout", type=float, default=None, metavar="S",
                    help="seconds for one call of a student function (default: the assignment's).")
    group.addoption("--cell-timeout", type=float, default=None, metavar="S",
                    help="seconds for one notebook cell; a slower cell is skipped (default: the assignment's).")
    group.addoption("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                    help="run student code in bubblewrap: auto (if available, else warn), bwrap (required), none.")
    add_limit_options(group.addoption)
    group.addoption("--warm-cache", metavar="DIR", default=None,
                    help="model cache prepared for a batch: fork notebooks from a warm sandbox (used by batches).")
    group.addoption("--keep-zygote", action="store_true", default=False,
                    help="keep one warm sandbox per process for the next submission (used by batch workers).")
    group.addoption("--results-json", metavar="PATH", default=None,
                    help="write a Gradescope results.json for the submission to PATH.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "student_function(name): the student function this check grades.")
    config.addinivalue_line("markers", "visible: students may run this check before submitting (autograder check).")
    config.stash[CHECKS] = {}
    config.stash[STARTED] = time.monotonic()


def settings_from(config: pytest.Config) -> Settings:
    return Settings(notebook_timeout=config.getoption("notebook_timeout"),
                    call_timeout=config.getoption("call_timeout"), cell_timeout=config.getoption("cell_timeout"),
                    sandbox=config.getoption("sandbox"),
                    limits=limits_from(config.getoption("memory_mb"), config.getoption("temp_mb"),
                                       config.getoption("max_tasks")),
                    max_notebook_bytes=int(config.getoption("max_notebook_mb") * 1024**2),
                    warm_cache=config.getoption("warm_cache"), keep_zygote=config.getoption("keep_zygote"))


ASSIGNMENT = pytest.StashKey[Assignment]()


def assignment_of(config: pytest.Config) -> Assignment:
    """The assignment being graded, bound to its course directory (loaded once per session)."""
    if ASSIGNMENT not in config.stash:
        course = config.getoption("course")
        config.stash[ASSIGNMENT] = load_assignment(config.getoption("assignment"), Path(course) if course else None)
        models.use(config.stash[ASSIGNMENT].release_dir)  # the judge rebuilds models from the release's module
    return config.stash[ASSIGNMENT]


@pytest.fixture(scope="session")
def assignment(pytestconfig: pytest.Config) -> Assignment:
    """The assignment being graded, bound to its course directory."""
    return assignment_of(pytestconfig)


@pytest.fixture(scope="session")
def submission(pytestconfig: pytest.Config, assignment: Assignment):
    """The student's notebook, running in its own (sandboxed) process, for the whole session."""
    path = pytestconfig.getoption("submission")
    if path is None:
        raise pytest.UsageError("the submission fixture needs a notebook: pass --submission PATH.")
    with open_submission(Path(path), assignment, settings_from(pytestconfig)) as opened:
        pytestconfig.stash[SUBMISSION] = opened
        yield opened


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        grades = "submission" in getattr(item, "fixturenames", ())
        if grades and item.get_closest_marker("student_function") is None:
            raise pytest.UsageError(
                f"{item.nodeid} does not say which student function it grades: "
                "add @pytest.mark.student_function(\"name\") (or a module-level pytestmark).")
    graded = [item for item in items if item.get_closest_marker("student_function") is not None]
    if graded and config.getoption("submission"):
        _in_function_order(items, assignment_of(config))


def _in_function_order(items: list[pytest.Item], assignment: Assignment) -> None:
    """Each function's checks together, its visible ones first, in the contract's order: a function's
    checks run in one fork of the notebook's process, so they are not spread over several."""
    order = {function.name: index for index, function in enumerate(assignment.functions)}

    def key(item: pytest.Item) -> tuple[int, bool]:
        marker = item.get_closest_marker("student_function")
        return order.get(marker.args[0] if marker else "", len(order)), item.get_closest_marker("visible") is None

    items.sort(key=key)  # stable: the hidden checks keep their order


def _message(excinfo: pytest.ExceptionInfo) -> tuple[str, str]:
    """(outcome, message) for a failed check: student-facing text, not a traceback."""
    exc = excinfo.value
    if isinstance(exc, StudentCodeFailed):
        return "failed", str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip()
        return "failed", text or "the check's condition was not met"
    if isinstance(exc, pytest.skip.Exception):
        return "failed", str(exc)
    return "error", f"internal grader error: {type(exc).__name__}: {exc}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    checks = item.config.stash[CHECKS]
    marker = item.get_closest_marker("student_function")
    if marker is not None and (call.when == "call" or (call.when == "setup" and not report.passed)):
        outcome, message = ("passed", "") if call.excinfo is None else _message(call.excinfo)
        hints = getattr(call.excinfo.value, "hints", ()) if call.excinfo is not None else ()
        # A visible check is one per function: named by its test, not by the function it is parametrized with.
        shown = item.originalname if item.get_closest_marker("visible") else item.name
        name = shown.removeprefix("test_").replace("_s_", "'s ").replace("_", " ")
        checks[item.nodeid] = CheckResult(name, marker.args[0], item.get_closest_marker("visible") is not None,
                                          outcome, message, hints=tuple(text for _, text in hints),
                                          mistakes=tuple(mistake for mistake, _ in hints))
    return report


def session_result(config: pytest.Config, student: str) -> SubmissionResult:
    """The SubmissionResult for what this session checked."""
    opened = config.stash.get(SUBMISSION, None)
    notes = opened.notes() if opened is not None and opened._run is not None else []
    if opened is not None:
        assignment = opened.assignment
    else:  # the fixture never ran (e.g. every check was deselected)
        course = config.getoption("course")
        assignment = load_assignment(config.getoption("assignment"), Path(course) if course else None)
    return build(assignment, student, list(config.stash[CHECKS].values()),
                 execution_time=time.monotonic() - config.stash[STARTED], notes=tuple(notes),
                 source=str(config.getoption("submission") or ""),
                 sandboxed=bool(opened and opened.sandboxed), look=looks(opened))


def looks(opened) -> tuple[str, ...]:
    """What the instructor should look at, though the grade stands: classes of torch or of the kit
    that the notebook changed (the checks put them back and used the originals, see the engine's guard)."""
    if opened is None or not opened.changed:
        return ()
    return (f"the notebook changes classes of torch or of the kit: {', '.join(sorted(opened.changed))}",)


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("results_json")
    if path and session.config.getoption("submission"):
        from autograder.outputs.writers import write_gradescope

        student = Path(session.config.getoption("submission")).stem
        write_gradescope(session_result(session.config, student), Path(path))
