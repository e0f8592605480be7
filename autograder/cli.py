"""``python -m autograder``: grade (CI, instructors), check (students), validate (instructors).

The commands are thin: each parses its flags into ``Settings`` and calls one library function;
printing happens here and nowhere else.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from autograder import GraderError
from autograder.assignment import Assignment, assignment_names, default_assignment, load_assignment
from autograder.outputs.results import SubmissionResult
from autograder.settings import Settings, add_limit_options, limits_from

# Exit statuses: 0 done (whatever the scores), 1 check found failing functions, 2 a usage or setup
# error, 3 the grader failed on a submission (its result says so; grade it again once fixed).
GRADER_FAILED = 3


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assignment", default=default_assignment(), choices=assignment_names(),
                        help="the assignment: %(choices)s (default: %(default)s)")
    parser.add_argument("--course", type=Path, default=None,
                        help="course directory with release/<assignment>/ (default: this checkout)")
    parser.add_argument("--timeout", type=float, default=Settings.notebook_timeout, metavar="S",
                        help="seconds allowed for all of a notebook's cells, a backstop (default: %(default)g)")
    parser.add_argument("--cell-timeout", type=float, default=None, metavar="S",
                        help="seconds allowed for one cell; a slower cell is skipped and the notebook runs on "
                             "without it (default: the assignment's own)")
    parser.add_argument("--call-timeout", type=float, default=None, metavar="S",
                        help="seconds allowed for one call of a student function (default: the assignment's own)")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                        help="auto: bubblewrap when available, else warn; bwrap: required; none: no sandbox")
    add_limit_options(parser.add_argument)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade a notebook, or a directory of submissions")
    grade.add_argument("path", type=Path, help="a notebook, or a directory of submissions")
    grade.add_argument("-o", "--out", type=Path, required=True,
                       help="results.json for a notebook; an output directory for a directory")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="submissions graded at once (default: number of cores, %(default)s)")
    grade.add_argument("--format", choices=("gradescope", "junit", "html", "classroom"), default="gradescope",
                       help="for a notebook, what OUT is: Gradescope results.json (default), JUnit XML, the HTML "
                            "feedback page, or GitHub Classroom's result (plus, in GitHub Actions, the step's "
                            "`result` output and summary); for a directory, junit also writes OUT/junit.xml "
                            "(every student's feedback.html is always written)")
    grade.add_argument("--gradebook", metavar="DB_URL", default=None,
                       help="nbgrader gradebook to record a directory's grades in, any SQLAlchemy URL "
                            "(default: sqlite:///OUT/gradebook.db)")
    grade.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="grade a directory on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs the [dask] extra; "
                            "every worker needs the same kit installed)")
    grade.add_argument("--feedback-dir", type=Path, default=None, metavar="DIR",
                       help="also write each student's feedback page into nbgrader's feedback folder, "
                            "DIR/<student>/<assignment>/<notebook>.html (default: COURSE/feedback when "
                            "grading an nbgrader course's submitted/ folder)")
    grade.add_argument("--similarity-base", type=Path, action="append", default=[], metavar="PATH",
                       help="for a directory: code every student may share, left out when the submissions are "
                            "compared for copies (a folder or file of .py and .ipynb; for this course, the book's "
                            "code); repeatable. See `similarity`")
    _common(grade)

    check = commands.add_parser("check", help="students: run the visible checks on your notebook")
    check.add_argument("notebook", type=Path)
    _common(check)

    validate = commands.add_parser("validate", help="instructors: check the solution, the release and their sync")
    _common(validate)

    warm = commands.add_parser("warm-up", help="instructors, images: store the warm-up batches and single notebooks "
                                               "start from (validate does it too)")
    _common(warm)

    report = commands.add_parser("report", help="instructors: the class report (HTML, CSV, JSON) of a graded batch")
    report.add_argument("out", type=Path, help="the output folder of `grade DIR -o OUT`")
    _common(report)

    similar = commands.add_parser("similarity", help="instructors: find copied work across a graded batch "
                                                     "(OUT/similarity.html and similarity.csv)")
    similar.add_argument("out", type=Path, help="the output folder of `grade DIR -o OUT`")
    similar.add_argument("--base", type=Path, action="append", default=[], metavar="PATH",
                         help="code every student may share, left out of the comparison, as MOSS's base files: a "
                              "folder or file of .py and .ipynb (for this course, the book's code; last year's "
                              "solutions); repeatable. The release's code and the kit's solutions always are")
    similar.add_argument("--threshold", type=float, default=None, metavar="SHARE",
                         help="report pairs sharing at least this share (0 to 1) of a function's code beyond the "
                              "base (default: %(default)s, the kit's)")
    _common(similar)

    bundle = commands.add_parser("gradescope-bundle", help="write the autograder zip Gradescope expects")
    bundle.add_argument("-o", "--out", type=Path, default=Path("autograder.zip"), help="zip to write")
    _common(bundle)

    checker = commands.add_parser("student-checker", help="instructors: write the students' checker (check.py, the "
                                                          "engine and the visible checks) into source/<assignment>/, "
                                                          "before releasing")
    checker.add_argument("--all", action="store_true",
                         help="every assignment's, after a change to the shared engine")
    _common(checker)
    gradescope_run = commands.add_parser("gradescope-run", help=argparse.SUPPRESS)  # what run_autograder calls
    gradescope_run.add_argument("--root", type=Path, default=Path("/autograder"))
    _common(gradescope_run)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(notebook_timeout=args.timeout, call_timeout=args.call_timeout, cell_timeout=args.cell_timeout,
                    sandbox=args.sandbox, jobs=getattr(args, "jobs", 1),
                    max_notebook_bytes=int(args.max_notebook_mb * 1024**2),
                    limits=limits_from(args.memory_mb, args.temp_mb, args.max_tasks))


@contextlib.contextmanager
def _progress(bar: bool):
    """A progress callback: a tqdm bar on a terminal, one plain line per submission elsewhere (CI logs)."""
    if bar:
        from tqdm import tqdm

        with tqdm(unit="notebook", dynamic_ncols=True) as meter:
            def update(result: SubmissionResult, done: int, total: int) -> None:
                meter.total = total
                meter.set_postfix_str(f"{result.student}: {result.score:g}/{result.max_score:g}", refresh=False)
                meter.update(1)
            yield update
        return

    def line(result: SubmissionResult, done: int, total: int) -> None:
        why = f"  ({result.notes[0][:70]}...)" if result.score == 0 and result.notes else ""
        print(f"[{done}/{total}] {result.student}: {result.score:g}/{result.max_score:g}{why}", flush=True)
    yield line


def cmd_grade(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.batch.local import grade_directory
    from autograder.checks.grading import grade_or_flag
    from autograder.integrations.github_classroom import write_classroom
    from autograder.outputs.feedback_page import write_feedback
    from autograder.outputs.report import batch_summary
    from autograder.outputs.writers import write_gradescope, write_junit

    settings = _settings(args)
    if args.path.is_dir():
        feedback_dir = args.feedback_dir
        if feedback_dir is None and args.path.resolve().name == "submitted":  # an nbgrader course
            feedback_dir = args.path.resolve().parent / "feedback"
        with _progress(sys.stdout.isatty() and not os.environ.get("CI")) as progress:
            batch = grade_directory(args.path, args.out, assignment, settings, gradebook_url=args.gradebook,
                                    feedback_dir=feedback_dir, scheduler=args.scheduler, progress=progress)
        if args.format == "junit":
            write_junit(batch.results, args.out / "junit.xml")
        print(batch_summary(batch.results, batch.seconds, batch.resumed))
        print(_compared(args.out, batch.results, assignment, args.similarity_base))
        print(f"Results: {args.out}/<student>/results.json and feedback.html, {args.out / 'grades.csv'} and the "
              f"gradebook ({args.gradebook or 'sqlite:///' + str(args.out / 'gradebook.db')})")
        if feedback_dir is not None:
            print(f"Feedback pages for nbgrader: {feedback_dir}/<student>/{assignment.name}/")
        print(f"Class report: python -m autograder report {args.out}")
        failed = [r.student for r in batch.results if r.grader_errors]
        if failed:
            print(f"GRADER ERRORS: the grader failed on {', '.join(failed)} (not the students' fault); their "
                  "results say so. Fix the cause and run the same command again to grade them.", file=sys.stderr)
        return GRADER_FAILED if failed else 0
    if not args.path.exists():
        print(f"error: {args.path} does not exist", file=sys.stderr)
        return 2
    result = grade_or_flag(args.path, assignment, settings)
    if args.format == "junit":
        write_junit([result], args.out)
    elif args.format == "html":
        write_feedback(result, args.out)
    elif args.format == "classroom":
        write_classroom(result, args.out)
    else:
        write_gradescope(result, args.out)
    verdict = "GRADER ERROR, no score" if result.grader_errors else f"{result.score:g}/{result.max_score:g}"
    print(f"{result.student}: {verdict} -> {args.out}")
    return _grader_errors(result)


def _compared(out: Path, results: list[SubmissionResult], assignment: Assignment, base: list[Path],
              threshold: float | None = None) -> str:
    """Compare the batch for copies and say how many pairs look copied (``similarity``)."""
    from autograder.similarity.compare import THRESHOLD
    from autograder.similarity.report import possible_copies, write_similarity

    try:
        write_similarity(out, results, assignment, base, THRESHOLD if threshold is None else threshold)
    except (OSError, ValueError, RecursionError) as exc:  # the grades are written: the comparison is extra
        return f"Possible copies: not compared ({type(exc).__name__}: {exc}); the grades stand."
    return possible_copies(out) or ""


def _grader_errors(result: SubmissionResult) -> int:
    """Say on stderr that the grader, not the notebook, failed; the exit status for it."""
    for error in result.grader_errors:
        print(f"GRADER ERROR, not the notebook's fault (grade it by hand, or fix and grade again): {error}",
              file=sys.stderr)
    return GRADER_FAILED if result.grader_errors else 0


def cmd_check(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.checks.grading import grade_or_flag
    from autograder.outputs.report import render_check

    if not args.notebook.is_file():
        print(f"error: {args.notebook} is not a file", file=sys.stderr)
        return 2
    result = grade_or_flag(args.notebook, assignment, _settings(args), visible_only=True)
    if result.grader_errors:
        print("The checker itself failed, so it cannot say anything about your notebook. Tell your instructor.")
        return _grader_errors(result)
    print(render_check(result, color=sys.stdout.isatty() and not os.environ.get("NO_COLOR")))
    return 0 if all(f.passed for f in result.functions) else 1


def cmd_validate(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.authoring.validate import validate

    problems = validate(assignment, _settings(args), say=print)
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\nAll good: the solution scores full marks, the release scores 0, and release/ matches source/.")
    return 0


def cmd_warm_up(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.warmup.prepare import prepare_warm_store

    store = prepare_warm_store(assignment, _settings(args))
    if store is None:
        print("error: the warm-up failed (see above); grading still works, starting cold", file=sys.stderr)
        return 2
    print(f"Stored the warm-up of {assignment.name} in {store}")
    return 0


def cmd_student_checker(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.authoring.release_checks import write

    chosen = ([load_assignment(name, args.course, released=False) for name in assignment_names()] if args.all
              else [assignment])
    for each in chosen:
        written = write(each)
        print(f"Wrote {', '.join(p.name for p in written)} into {each.source_dir}. Now run "
              f"`nbgrader generate_assignment {each.name} --force` to copy them into the release.")
    return 0


def cmd_report(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.outputs.class_report import write_report

    page = write_report(args.out)
    print(f"Wrote {page}, with report.csv and report.json beside it.")
    return 0


def cmd_similarity(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.outputs.class_report import load_batch

    results = load_batch(args.out)
    batch_assignment = load_assignment(results[0].assignment, args.course)
    print(_compared(args.out, results, batch_assignment, args.base, args.threshold))
    print(f"Wrote {args.out / 'similarity.html'} and {args.out / 'similarity.csv'}.")
    return 0


def cmd_gradescope_bundle(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.integrations.gradescope import bundle

    print(f"Wrote {bundle(assignment, args.out)}: upload it as the assignment's autograder on Gradescope.")
    return 0


def cmd_gradescope_run(args: argparse.Namespace, assignment: Assignment) -> int:
    from autograder.integrations.gradescope import run

    path, result = run(assignment, args.root, _settings(args))
    print(f"Wrote {path}")
    return _grader_errors(result)


COMMANDS = {"grade": cmd_grade, "check": cmd_check, "validate": cmd_validate, "warm-up": cmd_warm_up,
            "student-checker": cmd_student_checker,
            "report": cmd_report, "similarity": cmd_similarity,
            "gradescope-bundle": cmd_gradescope_bundle, "gradescope-run": cmd_gradescope_run}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        assignment = load_assignment(args.assignment, args.course, released=args.command != "student-checker")
        return COMMANDS[args.command](args, assignment)
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
