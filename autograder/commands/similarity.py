"""``python -m autograder similarity SUBMISSIONS --assignment A --out OUT [--threshold T]
[--top N] [--common M]``: pairs of submissions whose graded code is unusually alike.

Submissions are found and read exactly as ``grade`` reads them (``submissions.discover``,
then ``intake.read_graded_cells`` in its limited helper process); the graded sources are
fingerprinted and compared by ``autograder.similarity`` (nothing is executed, no score
changes). Writes ``OUT/similarity.csv`` and ``OUT/similarity.html``; when OUT holds a
grading run of the same submissions (``run.json`` and every ``results.json``),
``summary.html`` is rebuilt with a "Similar submissions" section. ``grade --similarity``
does the same at the end of grading.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from autograder import similarity
from autograder.extract import GradedCell, NotebookProblem, extract, read_notebook
from autograder.grading import COURSE_ROOT, Assignment
from autograder.intake import read_graded_cells
from autograder.reports import load_results, results_path, summary_html, write_atomic
from autograder.safe_files import read_regular_file
from autograder.safe_text import clean, for_html, for_terminal
from autograder.submissions import Submission, discover

_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$",
                       re.DOTALL | re.MULTILINE)


def scaffold_cells(assignment: Assignment, course_root: Path) -> list[GradedCell]:
    """The graded cells students start from: the generated exercise's, or (when the
    exercise was not generated) the reference's with every solution region replaced as
    nbgrader does."""
    exercise = Path(course_root) / "exercises" / assignment.name / f"{assignment.name}.ipynb"
    if exercise.is_file():
        return extract(read_notebook(exercise)).cells
    return [GradedCell(c.grade_id, c.cell_id, _SOLUTION.sub(
        r"\1# YOUR CODE HERE\n\1raise NotImplementedError()", c.source))
        for c in extract(read_notebook(assignment.reference_notebook)).cells]


def _read(submission: Submission, assignment: str, template: list[GradedCell]):
    """(graded cells, None) or (None, why the submission cannot be compared)."""
    try:
        cells = read_graded_cells(submission.read_raw(), submission.kind, assignment,
                                  template).cells
    except (NotebookProblem, ValueError, OSError) as error:
        return None, clean(error, 300)
    return (cells, None) if cells else (None, "no graded cell found")


def build_report(submissions: list[Submission], assignment: Assignment, course_root: Path,
                 threshold: float = similarity.THRESHOLD, top: int = similarity.TOP,
                 common: int | None = None) -> similarity.Report:
    """Read every submission as the grader does and compare them (see autograder.similarity).

    Inputs: the discovered submissions, the assignment, the course folder (exercise and
    reference), the flag threshold (0..1), how many pairs to list whatever their score,
    the common-fragment limit (None: ``similarity.common_limit``).
    Returns the Report. One unreadable submission is listed as not compared, never fatal.
    """
    template = extract(read_notebook(assignment.reference_notebook)).cells
    reserved = {name for cell in template for name in cell.defined_names}
    scaffold = similarity.fingerprints(scaffold_cells(assignment, course_root), reserved,
                                       every=True)
    prints, not_compared = {}, {}
    for submission in submissions:
        cells, problem = _read(submission, assignment.name, template)
        if cells is None:
            not_compared[submission.student_id] = problem
        else:
            prints[submission.student_id] = similarity.fingerprints(cells, reserved)
    return similarity.compare(prints, scaffold, not_compared, threshold, top, common)


def _page(assignment: str, section: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
            f"{for_html(assignment)} similarity</title><style>body{{font-family:system-ui,"
            "sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:"
            "collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;"
            f"text-align:left}}</style></head><body><h1>{for_html(assignment)}</h1>{section}"
            "</body></html>\n")


def _rebuild_summary(out: Path, submissions: list[Submission], assignment: Assignment,
                     report: similarity.Report) -> bool:
    """summary.html rebuilt with the similarity section when OUT holds a grading run of
    these submissions (returns whether it was)."""
    from autograder.runner import load_suite

    try:
        run_info = json.loads(read_regular_file(out / "run.json", 1 << 20))
    except (OSError, ValueError):
        return False
    results = [load_results(results_path(out, s.student_id)) for s in submissions]
    if not isinstance(run_info, dict) or any(r is None for r in results):
        return False
    run_info.pop("sandbox_lost", None)
    tests = load_suite(assignment.suite_dir)
    write_atomic(out / "summary.html", summary_html(
        results, [t.name for t in tests], assignment.name, sum(t.points for t in tests),
        run_info, similarity=report))
    return True


def write_report(out: Path, submissions: list[Submission], assignment: Assignment,
                 report: similarity.Report) -> list[str]:
    """similarity.csv, similarity.html and (with a grading run in OUT) summary.html."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "similarity.csv", report.csv())
    write_atomic(out / "similarity.html", _page(assignment.name, report.html_section()))
    written = ["similarity.csv", "similarity.html"]
    if _rebuild_summary(out, submissions, assignment, report):
        written.append("summary.html")
    return written


def similarity_after_grade(args, submissions: list[Submission], results: list[dict],
                           test_names: list[str], max_score: float, run_info: dict) -> None:
    """For ``grade --similarity``: the report over the graded submissions into args.out
    (similarity.csv, similarity.html) and summary.html rebuilt from the grade's own data
    with the section added. Scores are not touched."""
    course_root = args.course_root.resolve()
    assignment = Assignment.find(args.assignment, course_root)
    report = build_report(submissions, assignment, course_root)
    out = args.out.resolve()
    write_atomic(out / "similarity.csv", report.csv())
    write_atomic(out / "similarity.html", _page(assignment.name, report.html_section()))
    write_atomic(out / "summary.html", summary_html(results, test_names, assignment.name,
                                                    max_score, run_info, similarity=report))
    _say(report)


def _say(report: similarity.Report) -> None:
    flagged = sum(p.flagged for p in report.pairs)
    print(for_terminal(f"similarity: {report.compared} submissions compared, {flagged} "
                       f"pair(s) at or above {report.threshold:.2f}, "
                       f"{len(report.not_compared)} not compared"), file=sys.stderr)


def run(args) -> int:
    if not 0 < args.threshold <= 1:
        raise ValueError("--threshold must be in (0, 1]")
    course_root = args.course_root.resolve()
    assignment = Assignment.find(args.assignment, course_root)
    submissions = discover(args.submissions, args.assignment)
    report = build_report(submissions, assignment, course_root, args.threshold, args.top,
                          args.common)
    out = args.out.resolve()
    written = write_report(out, submissions, assignment, report)
    _say(report)
    print(for_terminal(f"wrote {', '.join(written)} in {out}"), file=sys.stderr)
    return 0


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "similarity", help="pairs of submissions whose graded code is unusually alike",
        description="Rank pairs of submissions by the similarity of their graded code "
                    "(names, comments, formatting, statement order and the exercise's given "
                    "code removed). A signal to look at, never a score change.")
    parser.add_argument("submissions", type=Path, help="the same folder as for grade")
    parser.add_argument("--assignment", required=True, help="assignment name, e.g. 01_knn")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--threshold", type=float, default=similarity.THRESHOLD,
                        help=f"flag pairs at or above this similarity (default "
                             f"{similarity.THRESHOLD})")
    parser.add_argument("--top", type=int, default=similarity.TOP,
                        help=f"also list the N most similar pairs (default {similarity.TOP})")
    parser.add_argument("--common", type=int, default=None, metavar="M",
                        help="ignore code fragments held by more than M submissions "
                             "(default: 10 or 10%% of the class, whichever is larger)")
    parser.add_argument("--course-root", type=Path, default=COURSE_ROOT,
                        help="course folder holding solutions/ and exercises/")
    parser.set_defaults(run=run)
