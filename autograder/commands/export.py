"""``python -m autograder export OUT --roster roster.csv --canvas-assignment-id 123
[--moodle-item NAME]``

Writes ``OUT/canvas.csv`` (Canvas gradebook import) and ``OUT/moodle.csv`` (Moodle grade
import) from the results.json files of a grading run in OUT: the final score, late penalty
included. The roster (``autograder.lms``) maps nbgrader ids to LMS identities. Students
without a roster row or without the identity an LMS needs, and roster rows without a result,
are listed on stderr and in ``OUT/run.json`` (``lms export``). Exit code 0 when both files
are written (whoever is missing: see the lists), 2 on a bad roster or an OUT without results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autograder import lms
from autograder.reports import STUDENTS_DIR, load_results, write_atomic
from autograder.safe_text import for_terminal


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="Canvas and Moodle grade files from a grading run",
        description="Write OUT/canvas.csv and OUT/moodle.csv from OUT's results.")
    parser.add_argument("out", type=Path, help="the output folder of `grade --out`")
    parser.add_argument("--roster", required=True, type=Path,
                        help="CSV: nbgrader_id,name,email,lms_id,sis_user_id,sis_login_id,"
                             "section (only nbgrader_id required)")
    parser.add_argument("--canvas-assignment-id", required=True,
                        help="the Canvas assignment's number (from its URL .../assignments/123)")
    parser.add_argument("--moodle-item", default=None,
                        help="the Moodle grade item's column title (default: the assignment)")
    parser.set_defaults(run=export_command)


def _say(message: str) -> None:
    print(for_terminal(message), file=sys.stderr)


def _results(out: Path) -> list[dict]:
    results = [load_results(folder / "results.json")
               for folder in sorted((out / STUDENTS_DIR).glob("*")) if folder.is_dir()]
    results = [r for r in results if r is not None]
    if not results:
        raise ValueError(f"no results in {out / STUDENTS_DIR} (run `grade --out {out}` first)")
    return results


def _one(values: set, what: str):
    if len(values) != 1:
        raise ValueError(f"the results in OUT disagree on the {what} ({sorted(map(str, values))})"
                         "; export one grading run at a time")
    return values.pop()


def _record(out: Path, report: dict) -> None:
    """Add ``report`` to OUT/run.json under "lms export" (a missing or broken file: new)."""
    path = out / "run.json"
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
        run = run if isinstance(run, dict) else {}
    except (OSError, ValueError):
        run = {}
    run["lms export"] = report
    write_atomic(path, json.dumps(run, indent=1))


def _listed(ids: list[str]) -> str:
    return ", ".join(ids[:50]) + (f" ... ({len(ids)} in all)" if len(ids) > 50 else "")


def export_command(args) -> int:
    out = args.out.resolve()
    canvas_id = str(args.canvas_assignment_id).strip()
    if not canvas_id.isascii() or not canvas_id.isdigit():
        raise ValueError(f"--canvas-assignment-id must be the assignment's number (the 123 in "
                         f".../assignments/123), got {canvas_id!r}")
    roster = lms.load_roster(args.roster)
    results = _results(out)
    assignment = str(_one({r["extra_data"].get("assignment") for r in results}, "assignment"))
    points = float(_one({float(r["max_score"]) for r in results}, "maximum score"))
    item = args.moodle_item or assignment
    matched = lms.match(results, roster)
    write_atomic(out / "canvas.csv", lms.canvas_csv(matched.rows, assignment, canvas_id, points))
    write_atomic(out / "moodle.csv", lms.moodle_csv(matched.rows, item))
    problems = {
        "not in the roster (in neither file)": matched.not_in_roster,
        "without lms_id, sis_user_id or sis_login_id (not in canvas.csv)": matched.no_canvas,
        "without email or sis_user_id (not in moodle.csv)": matched.no_moodle,
        "in the roster without a submission (in neither file)": matched.no_submission,
    }
    report = {"canvas assignment": lms.canvas_column(assignment, canvas_id),
              "moodle item": item, "rows": len(matched.rows),
              **{what: ids for what, ids in problems.items()}}
    _record(out, report)
    for what, ids in problems.items():
        if ids:
            _say(f"WARNING: {len(ids)} student(s) {what}: {_listed(ids)}")
    _say(f"wrote {out / 'canvas.csv'} and {out / 'moodle.csv'} "
         f"({len(matched.rows)} student(s) matched in the roster)")
    return 0
