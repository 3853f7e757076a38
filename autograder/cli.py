"""``python -m autograder grade SUBMISSIONS --assignment A --out OUT [--jobs N]
[--scheduler ADDRESS] [--seed S] [--gradebook [DB_URL]] [--late late.toml] [--similarity]``

(also ``python -m autograder export OUT --roster roster.csv --canvas-assignment-id N`` and
``python -m autograder similarity SUBMISSIONS --assignment A --out OUT``: ``autograder.commands``)

``--gradebook`` also writes the scores into nbgrader's gradebook, formgrader's autograded/
notebooks and the feedback pages for ``nbgrader release_feedback`` (``autograder.gradebook``);
``--late`` applies a late-work config (``autograder.late``); ``--similarity`` writes the
similarity report (``autograder.commands.similarity``), never changing a score.

Every submission found gets a row: one that cannot be read or graded (a broken or hostile
file, a grader failure on that input) gets score 0 and a message in words, and the run goes
on. Exit code 0 when every submission has its row (whatever the students' scores), 2 when the
grader itself failed (bad arguments, broken suite or reference, lost cluster), 130 on Ctrl-C.
Re-running the same command after an interruption grades only what is missing: a student
whose results.json matches the same submission bytes, seed, assignment and name is not
regraded (rows from a grader failure are retried). Messages on the terminal are stripped of
escape codes and bidi controls.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from autograder import __version__, commands, limits
from autograder.backends import Backend
from autograder.errors import GraderError
from autograder.fixtures import student_seed
from autograder.grading import COURSE_ROOT, Assignment, build_results, failed_outcomes
from autograder.late import load_policy, update_results
from autograder.remote import GradeConfig, grade_job, grader_for
from autograder.reports import (
    STUDENTS_DIR,
    grades_csv,
    load_results,
    results_path,
    summary_html,
    write_atomic,
    write_student,
)
from autograder.runner import load_suite
from autograder.safe_text import clean, for_terminal
from autograder.sandbox import SandboxSettings
from autograder.submissions import Submission, digest_of, discover


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder",
                                     description="Sandboxed autograder for the course.")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("grade", help="grade a folder of submissions",
                           description="Grade submissions with the assignment's hidden suite.")
    grade.add_argument("submissions", type=Path,
                       help="nbgrader's submitted/ tree (or the course root holding it), a "
                            "folder of <student>.ipynb or <student>.zip files, or one notebook")
    grade.add_argument("--assignment", required=True, help="assignment name, e.g. 01_knn")
    grade.add_argument("--out", required=True, type=Path, help="output folder")
    grade.add_argument("--jobs", type=int, default=2, help="local grading processes (default 2)")
    grade.add_argument("--scheduler", default=None,
                       help="Dask scheduler address (tcp://host:8786) instead of local processes")
    grade.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    grade.add_argument("--course-root", type=Path, default=COURSE_ROOT,
                       help="course folder holding solutions/ (default: this checkout)")
    grade.add_argument("--isolation", choices=["full", "none"], default=None,
                       help="sandbox isolation; 'none' keeps only limits (default: full)")
    grade.add_argument("--call-timeout", type=float, default=10.0,
                       help="seconds per call into student code (default 10)")
    grade.add_argument("--submission-timeout", type=float, default=60.0,
                       help="seconds of student code per submission (default 60)")
    grade.add_argument("--memory-mb", type=int, default=1024,
                       help="extra memory a submission may allocate, MB (default 1024)")
    grade.add_argument("--late", type=Path, default=None,
                       help="late-work config (TOML: due date, extensions, penalty policy)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--similarity", action="store_true",
                       help="also rank pairs of unusually alike submissions (similarity.csv, "
                            "summary.html); never changes a score")
    grade.add_argument("--gradebook", nargs="?", const="", default=None, metavar="DB_URL",
                       help="also write the scores into nbgrader's gradebook (default: the "
                            "course's gradebook.db), formgrader's autograded/ notebooks and "
                            "the feedback pages for `nbgrader release_feedback` "
                            "(SUBMISSIONS: nbgrader's submitted/ tree)")
    commands.add_all(sub)
    return parser


def _settings(args, course_root: Path) -> SandboxSettings:
    overrides = {"call_timeout": args.call_timeout, "submission_timeout": args.submission_timeout,
                 "memory_bytes": args.memory_mb << 20}
    if args.isolation:
        overrides["isolation"] = args.isolation
    return SandboxSettings.for_course(course_root, args.out.resolve(),
                                      args.submissions.resolve(), **overrides)


def _digest(submission: Submission) -> str:
    """The sha256 of the file's bytes, or of the reason it cannot be read (nothing kept)."""
    try:
        return digest_of(submission.read_raw(), None)
    except (ValueError, OSError) as error:
        return digest_of(None, str(error))


def _is_current(previous: dict | None, submission: Submission, assignment: str, seed: int,
                digest: str) -> bool:
    if previous is None:
        return False
    extra = previous.get("extra_data", {})
    return (extra.get("assignment") == assignment and extra.get("global_seed") == seed
            and extra.get("submission_sha256") == digest
            and extra.get("student_id") == submission.student_id
            and extra.get("original_name") == submission.original_name
            and not extra.get("grader_error"))


def _progress(total: int, disabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="grading", unit="submission", disable=disabled,
                file=sys.stderr)


def _error_result(submission: Submission, tests, assignment: str, seed: int, digest: str,
                  error: BaseException, submission_timeout: float) -> dict:
    """A row for a submission whose grading job failed (retried on the next run)."""
    message = (f"the grader failed on this submission ({type(error).__name__}: "
               f"{clean(error, 500)}); it will be retried on the next run")
    extra = {"seed": student_seed(seed, submission.student_id), "global_seed": seed,
             "submission_sha256": digest, "source": submission.describe(),
             "original_name": submission.original_name, "sandbox_lost": [],
             "grader_version": __version__, "grader_error": message,
             "time_budget_seconds": limits.time_budget(submission_timeout)}
    return build_results(submission.student_id, assignment,
                         failed_outcomes(tests, message), [message], extra)


def _job(submission: Submission, config: GradeConfig, seed: int) -> tuple:
    """The arguments of ``grade_job``; the file is read (defensively) only now."""
    try:
        raw, problem = submission.read_raw(), None
    except (ValueError, OSError) as error:
        raw, problem = None, str(error)
    return (config, submission.student_id, raw, submission.describe(), seed, problem,
            submission.kind, submission.original_name)


def _grade_all(args, config: GradeConfig, todo: list[tuple[Submission, str]], tests,
               out: Path) -> None:
    """Grade ``todo`` [(submission, digest)] and write each result. A job that fails (not
    with GraderError) gives its submission a row with score 0 and the reason."""
    backend = Backend(args.jobs, args.scheduler)
    queue = [(submission, digest, 1) for submission, digest in reversed(todo)]
    pending: dict = {}
    try:
        with _progress(len(todo), args.no_progress) as bar:
            while queue or pending:
                while queue and len(pending) < backend.window:
                    if queue[-1][2] > 1 and pending:
                        break  # a retry after a crashed grading process runs alone
                    submission, digest, attempt = queue.pop()
                    future = backend.submit(grade_job, *_job(submission, config, args.seed))
                    pending[future] = (submission, digest, attempt)
                broken = False
                for future in backend.wait(pending):
                    submission, digest, attempt = pending.pop(future)
                    try:
                        result = future.result()
                    except GraderError:
                        raise
                    except Exception as error:  # noqa: BLE001 - this submission's row says it
                        if isinstance(error, BrokenProcessPool):
                            broken = True
                            if attempt == 1:
                                queue.append((submission, digest, 2))
                                continue
                        result = _error_result(submission, tests, args.assignment, args.seed,
                                               digest, error, args.submission_timeout)
                    write_student(out, result)
                    bar.update(1)
                if broken:  # a grading process died: a fresh pool retries its jobs alone
                    for future, (submission, digest, _) in pending.items():
                        future.cancel()
                        queue.append((submission, digest, 2))
                    pending.clear()
                    backend.restart()
    finally:
        backend.close()


def grade_command(args) -> int:
    course_root = args.course_root.resolve()
    assignment = Assignment.find(args.assignment, course_root)
    tests = load_suite(assignment.suite_dir)  # fails early (exit 2) if the suite is broken
    test_names = [t.name for t in tests]
    max_score = sum(t.points for t in tests)
    late_policy = load_policy(args.late) if args.late else None  # a bad file: exit 2 now
    submissions = discover(args.submissions, args.assignment)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob(".*.tmp"), *out.glob(f"{STUDENTS_DIR}/*/.*.tmp")]:
        stale.unlink(missing_ok=True)  # left by a killed run
    config = GradeConfig.make(args.assignment, course_root, _settings(args, course_root))

    todo = []
    for submission in submissions:
        digest = _digest(submission)
        previous = load_results(results_path(out, submission.student_id))
        if not _is_current(previous, submission, args.assignment, args.seed, digest):
            todo.append((submission, digest))
    skipped = len(submissions) - len(todo)
    if skipped:
        _say(f"{skipped} submission(s) already graded with the same seed and bytes; "
             f"grading the remaining {len(todo)}")

    started = time.perf_counter()
    if todo:
        if args.jobs <= 1 and not args.scheduler:
            grader_for(config)  # build once here, so a broken reference fails before grading
        _grade_all(args, config, todo, tests, out)
    elapsed = time.perf_counter() - started

    results = [load_results(results_path(out, s.student_id)) for s in submissions]
    missing = [s.student_id for s, r in zip(submissions, results, strict=True) if r is None]
    if missing:
        raise GraderError(f"results missing for: {', '.join(missing[:20])}")
    results, late_work = update_results(out, submissions, results, late_policy)
    write_atomic(out / "grades.csv", grades_csv(results, test_names))
    lost = sorted({str(x) for r in results for x in r["extra_data"].get("sandbox_lost", [])})
    errors = sum(1 for r in results if r["extra_data"].get("grader_error"))
    run_info = {"grader": __version__, "seed": args.seed, "submissions": len(results),
                "graded now": len(todo), "seconds": f"{elapsed:.1f}",
                "back end": args.scheduler or f"{max(1, args.jobs)} local process(es)",
                "grader errors": errors}
    if late_work:
        run_info["late work"] = late_work
        _say(f"late work: {late_work}")
    write_atomic(out / "summary.html",
                 summary_html(results, test_names, args.assignment, max_score, run_info))
    write_atomic(out / "run.json", json.dumps({**run_info, "sandbox_lost": lost}, indent=1))
    if args.similarity:  # rebuilds summary.html with a "Similar submissions" section
        from autograder.commands.similarity import similarity_after_grade
        similarity_after_grade(args, submissions, results, test_names, max_score, run_info)
    if lost:
        _say("WARNING: the sandbox was weakened; protections lost: " + "; ".join(lost))
    if errors:
        _say(f"WARNING: the grader failed on {errors} submission(s) (score 0, message in "
             "their results); run the same command again to retry them")
    rate = len(todo) / elapsed if elapsed > 0 and todo else 0.0
    _say(f"graded {len(todo)} submission(s) in {elapsed:.1f} s ({rate:.1f}/s); "
         f"{len(results)} rows in {out / 'grades.csv'}")
    if args.gradebook is not None:
        from autograder.gradebook import export
        for note in export(args.submissions, args.gradebook, args.assignment,
                           assignment.reference_notebook, submissions, results):
            _say(note)
    return 0


def _say(message: str) -> None:
    """One message for the instructor's terminal (escape codes and bidi controls removed)."""
    print(for_terminal(message), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default", RuntimeWarning)
    try:
        if args.command == "grade":
            return grade_command(args)
        if hasattr(args, "run"):
            return args.run(args)
    except KeyboardInterrupt:
        _say("interrupted; run the same command again to finish")
        return 130
    except (GraderError, OSError, ValueError) as error:
        _say(f"grader error: {error}")
        return 2
    return 2
