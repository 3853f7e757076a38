"""``python -m autograder grade SUBMISSIONS --assignment A --out OUT [--jobs N]
[--scheduler ADDRESS] [--seed S]``

Exit code 0 when every submission was graded (whatever the students' scores), 2 when the
grader itself failed (bad arguments, broken suite or reference, lost cluster), 130 on Ctrl-C.
Re-running the same command after an interruption grades only what is missing: a student
whose results.json matches the same submission bytes, seed and assignment is not regraded.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import multiprocessing
import sys
import time
import warnings
from pathlib import Path

from autograder import __version__
from autograder.errors import GraderError
from autograder.grading import COURSE_ROOT, Assignment
from autograder.remote import GradeConfig, grade_job, grader_for
from autograder.reports import (
    grades_csv,
    load_results,
    results_path,
    safe_dirname,
    summary_html,
    write_atomic,
    write_student,
)
from autograder.runner import load_suite
from autograder.sandbox import SandboxSettings
from autograder.submissions import Submission, discover, sha256_of


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
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _settings(args, course_root: Path) -> SandboxSettings:
    overrides = {"call_timeout": args.call_timeout, "submission_timeout": args.submission_timeout,
                 "memory_bytes": args.memory_mb << 20}
    if args.isolation:
        overrides["isolation"] = args.isolation
    return SandboxSettings.for_course(course_root, args.out.resolve(),
                                      args.submissions.resolve(), **overrides)


def _read(submission: Submission) -> tuple[bytes | None, str | None]:
    try:
        return submission.read_bytes(), None
    except (ValueError, OSError) as error:
        return None, str(error)


def _is_current(previous: dict | None, assignment: str, seed: int, digest: str) -> bool:
    if previous is None:
        return False
    extra = previous.get("extra_data", {})
    return (extra.get("assignment") == assignment and extra.get("global_seed") == seed
            and extra.get("submission_sha256") == digest)


def _progress(total: int, disabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="grading", unit="submission", disable=disabled,
                file=sys.stderr)


def _executor(args, config: GradeConfig):
    """(submit(fn, *a) -> future, as_completed, shutdown) for the chosen back end."""
    if args.scheduler:
        from distributed import Client, as_completed
        client = Client(args.scheduler, timeout=30)
        return (lambda fn, *a: client.submit(fn, *a, pure=False), as_completed,
                client.close)
    if args.jobs <= 1:
        def run_here(fn, *a):
            future = futures.Future()
            try:
                future.set_result(fn(*a))
            except BaseException as error:  # noqa: BLE001 - reported by the caller
                future.set_exception(error)
            return future
        return run_here, futures.as_completed, lambda: None
    pool = futures.ProcessPoolExecutor(max_workers=args.jobs,
                                       mp_context=multiprocessing.get_context("spawn"))
    return pool.submit, futures.as_completed, lambda: pool.shutdown(cancel_futures=True)


def grade_command(args) -> int:
    course_root = args.course_root.resolve()
    assignment = Assignment.find(args.assignment, course_root)
    tests = load_suite(assignment.suite_dir)  # fails early (exit 2) if the suite is broken
    test_names = [t.name for t in tests]
    max_score = sum(t.points for t in tests)
    submissions = discover(args.submissions, args.assignment)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob(".*.tmp"), *out.glob("*/.*.tmp")]:  # left by a killed run
        stale.unlink(missing_ok=True)
    config = GradeConfig.make(args.assignment, course_root, _settings(args, course_root))

    folders = [safe_dirname(s.student_id) for s in submissions]
    clashes = sorted({f for f in folders if folders.count(f) > 1})
    if clashes:
        raise GraderError(f"student ids map to the same output folder: {', '.join(clashes)}")
    todo = []
    for submission in submissions:
        raw, problem = _read(submission)
        digest = sha256_of(raw) if raw is not None else ""
        previous = load_results(results_path(out, submission.student_id))
        if not _is_current(previous, args.assignment, args.seed, digest):
            todo.append((submission, raw, problem))
    skipped = len(submissions) - len(todo)
    if skipped:
        print(f"{skipped} submission(s) already graded with the same seed and bytes; "
              f"grading the remaining {len(todo)}", file=sys.stderr)

    started = time.perf_counter()
    if todo:
        if args.jobs <= 1 and not args.scheduler:
            grader_for(config)  # build once here, so a broken reference fails before grading
        submit, as_completed, shutdown = _executor(args, config)
        try:
            pending = {submit(grade_job, config, s.student_id, raw, s.describe(), args.seed,
                              problem): s for s, raw, problem in todo}
            with _progress(len(pending), args.no_progress) as bar:
                for future in as_completed(list(pending)):
                    result = future.result()  # a grader failure propagates: exit 2
                    write_student(out, result)
                    bar.update(1)
        finally:
            shutdown()
    elapsed = time.perf_counter() - started

    results = [load_results(results_path(out, s.student_id)) for s in submissions]
    missing = [s.student_id for s, r in zip(submissions, results, strict=True) if r is None]
    if missing:
        raise GraderError(f"results missing for: {', '.join(missing)}")
    write_atomic(out / "grades.csv", grades_csv(results, test_names))
    lost = sorted({x for r in results for x in r["extra_data"].get("sandbox_lost", [])})
    run_info = {"grader": __version__, "seed": args.seed, "submissions": len(results),
                "graded now": len(todo), "seconds": f"{elapsed:.1f}",
                "back end": args.scheduler or f"{max(1, args.jobs)} local process(es)"}
    write_atomic(out / "summary.html",
                 summary_html(results, test_names, args.assignment, max_score, run_info))
    write_atomic(out / "run.json", json.dumps({**run_info, "sandbox_lost": lost}, indent=1))
    if lost:
        print("WARNING: the sandbox was weakened; protections lost: " + "; ".join(lost),
              file=sys.stderr)
    rate = len(todo) / elapsed if elapsed > 0 and todo else 0.0
    print(f"graded {len(todo)} submission(s) in {elapsed:.1f} s ({rate:.1f}/s); "
          f"{len(results)} rows in {out / 'grades.csv'}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default", RuntimeWarning)
    try:
        if args.command == "grade":
            return grade_command(args)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    except (GraderError, FileNotFoundError, ValueError) as error:
        print(f"grader error: {error}", file=sys.stderr)
        return 2
    return 2
