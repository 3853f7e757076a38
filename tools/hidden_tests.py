"""Make every autograded test cell of the solution notebooks run its hidden-suite test.

    python3 tools/hidden_tests.py [ASSIGNMENT ...]             rewrite solutions/ in place
    python3 tools/hidden_tests.py --check [ASSIGNMENT ...]     exit 1 if a notebook needs it
    python3 tools/hidden_tests.py --out DIR [ASSIGNMENT ...]   write DIR/<a>/<a>.ipynb instead

(run with the course's Python, e.g. ``.venv/bin/python``; then ``python3 course.py
exercises`` regenerates the release, which is unchanged apart from blank lines.)

One test cell <-> one hidden-suite test function, with the same points. A cell's test is
the suite function named like its ``grade_id`` ("test_predict_labels" ->
``test_knn.py::test_predict_labels``), else named like its grade_id in snake case
("test_LinearClassifier" -> ``test_linear_classifier``), else the one ``ALIASES`` gives.
Every test cell must find one, no two cells the same one, every suite test must have its
cell, and the points must be equal; otherwise nothing is written and the problems are listed.

Each test cell keeps its visible part (the self-check students see), cell id, metadata and
points; whatever hidden region it had is replaced by one that calls the bridge
(``autograder/nbgrader_bridge.py``), placed before the visible part::

    ### BEGIN HIDDEN TESTS
    # nbgrader's score for this cell: the hidden suite's test_predict_labels (the grader's code)
    from autograder.nbgrader_bridge import hidden_test
    hidden_test("01_knn", "test_predict_labels")
    ### END HIDDEN TESTS
    check_predict_labels(predict_labels)

Running the tool again changes nothing (it is idempotent).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.graded_cells import (  # the mapping, shared with --gradebook
    ALIASES,
    HiddenTestsError,
    is_test_cell,
    snake_case,
    source_text,
    suite_test_for,
    suite_tests,
    visible_part,
)

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"

__all__ = ["ALIASES", "HiddenTestsError", "is_test_cell", "snake_case", "source_text",
           "suite_test_for", "suite_tests", "visible_part"]

def bridge_source(assignment: str, test: str, visible: str) -> str:
    """A test cell's source: the hidden region calling the bridge, then the visible part."""
    lines = [BEGIN,
             f"# nbgrader's score for this cell: the hidden suite's {test} (the grader's code)",
             "from autograder.nbgrader_bridge import hidden_test",
             f"hidden_test({json.dumps(assignment)}, {json.dumps(test)})",
             END]
    return "\n".join(lines + ([visible] if visible else []))


def rewrite(nb: dict, assignment: str, tests: dict[str, float]) -> list[str]:
    """Rewrite the test cells of notebook data ``nb`` in place; returns the grade_ids of the
    cells that changed. Raises HiddenTestsError (nothing changed) when the cells and the
    suite do not match one to one with equal points."""
    problems, planned, used = [], [], {}
    for cell in nb.get("cells", []):
        if not is_test_cell(cell):
            continue
        meta = cell["metadata"]["nbgrader"]
        grade_id = str(meta.get("grade_id", ""))
        try:
            visible = visible_part(source_text(cell))
        except HiddenTestsError as error:
            problems.append(f"test cell {grade_id!r}: {error}")
            continue
        test = suite_test_for(assignment, grade_id, tests)
        if test is None:
            problems.append(f"test cell {grade_id!r} has no hidden-suite test (name the suite "
                            f"test like the grade_id, or add it to ALIASES in {__file__})")
            continue
        if test in used:
            problems.append(f"test cells {used[test]!r} and {grade_id!r} both map to {test}")
        used[test] = grade_id
        if float(meta.get("points", 0)) != tests[test]:
            problems.append(f"test cell {grade_id!r} is worth {meta.get('points')} points, "
                            f"its suite test {test} {tests[test]:g}")
        if visible.rstrip().endswith(";"):
            problems.append(f"test cell {grade_id!r} ends with ';', which would hide the score")
        planned.append((cell, grade_id, bridge_source(assignment, test, visible)))
    problems += [f"suite test {name} has no test cell in the notebook"
                 for name in tests if name not in used]
    if problems:
        raise HiddenTestsError(f"{assignment}: " + "; ".join(problems))
    changed = []
    for cell, grade_id, source in planned:
        if source_text(cell) != source:
            cell["source"] = source
            changed.append(grade_id)
    return changed


def notebook_text(nb: dict) -> str:
    """The project's notebook formatting (as tools/notebooks.py writes them)."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def rewrite_notebook(path: Path, out: Path | None = None, suites: Path | None = None
                     ) -> list[str]:
    """Rewrite the notebook at ``path`` (assignment = its file stem) into ``out`` (default:
    in place; written only when something changed, always when ``out`` is given). Returns
    the grade_ids of the cells that changed; raises HiddenTestsError."""
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = rewrite(nb, path.stem, suite_tests(path.stem, suites))
    if out is not None or changed:
        target = Path(out) if out is not None else path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(notebook_text(nb), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in solutions/")
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks that need rewriting (exit 1 if any)")
    parser.add_argument("--out", type=Path, help="write DIR/<a>/<a>.ipynb, not in place")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder")
    args = parser.parse_args(argv)
    names = args.assignments or sorted(p.name for p in (args.root / "solutions").iterdir()
                                       if (p / f"{p.name}.ipynb").is_file())
    outdated = []
    for name in names:
        path = args.root / "solutions" / name / f"{name}.ipynb"
        try:
            if args.check:
                nb = json.loads(path.read_text(encoding="utf-8"))
                changed = rewrite(nb, name, suite_tests(name))
            else:
                out = args.out / name / f"{name}.ipynb" if args.out else None
                changed = rewrite_notebook(path, out)
        except Exception as error:  # noqa: BLE001 - reported in words, nothing written
            print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
        if changed:
            outdated.append(name)
        verb = "needs rewriting" if args.check else "rewritten"
        print(f"{path.relative_to(args.root)}: " + (f"{verb}: {', '.join(changed)}" if changed
                                                     else "up to date"))
    return 1 if args.check and outdated else 0


if __name__ == "__main__":
    sys.exit(main())
