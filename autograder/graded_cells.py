"""Which hidden-suite test each autograded nbgrader test cell stands for, and what students
see of a test cell.

One test cell <-> one hidden-suite test function, with the same points. A cell's test is the
suite function named like its ``grade_id`` ("test_predict_labels" ->
``test_knn.py::test_predict_labels``), else named like its grade_id in snake case
("test_LinearClassifier" -> ``test_linear_classifier``), else the one ``ALIASES`` gives.
Used by ``tools/hidden_tests.py`` (which writes the bridge cells) and by ``--gradebook``
(which stores each test's score under its cell's grade_id).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder.errors import GraderError

SUITES = Path(__file__).resolve().parent / "suites"

#: Test cells whose grade_id does not name their suite test: assignment -> grade_id -> test.
ALIASES: dict[str, dict[str, str]] = {
    "01_knn": {"test_KNearestNeighbor": "test_knn_classifier"},
}


class HiddenTestsError(ValueError):
    """A notebook's test cells and its hidden suite do not match (the message lists why)."""


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_test_cell(cell: dict) -> bool:
    """An autograded test cell: a code cell nbgrader grades that is not a solution."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and \
        not meta.get("solution")


def visible_part(source: str) -> str:
    """The cell as students get it: hidden regions removed the way nbgrader's
    ClearHiddenTests does (a line holding a marker opens or closes a region), blank lines at
    both ends dropped. Raises HiddenTestsError on a nested or unclosed region."""
    kept, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            if inside:
                raise HiddenTestsError("nested BEGIN HIDDEN TESTS")
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise HiddenTestsError("a BEGIN HIDDEN TESTS without its END HIDDEN TESTS")
    return "\n".join(kept).strip("\n")


def snake_case(name: str) -> str:
    """"test_LinearClassifier" -> "test_linear_classifier"."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def suite_test_for(assignment: str, grade_id: str, tests: dict[str, float]) -> str | None:
    """The suite test function a test cell maps to (see the module docstring), or None."""
    for candidate in (grade_id, snake_case(grade_id),
                      ALIASES.get(assignment, {}).get(grade_id)):
        if candidate in tests:
            return candidate
    return None


def suite_tests(assignment: str, suites: Path | None = None) -> dict[str, float]:
    """{test function name: points, summed over its parametrisations} of a hidden suite."""
    from autograder.runner import load_suite
    folder = Path(suites) if suites else SUITES
    points: dict[str, float] = {}
    for test in load_suite(folder / assignment):
        name = test.function.__name__
        points[name] = points.get(name, 0.0) + test.points
    return points


def cell_tests(notebook: Path, assignment: str) -> dict[str, str]:
    """{grade_id of an autograded test cell of ``notebook``: its suite test function}.

    Raises GraderError when a test cell has no suite test.
    """
    tests = suite_tests(assignment)
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    mapping = {}
    for cell in nb.get("cells", []):
        if is_test_cell(cell):
            grade_id = str(cell["metadata"]["nbgrader"].get("grade_id", ""))
            test = suite_test_for(assignment, grade_id, tests)
            if test is None:
                raise GraderError(f"test cell {grade_id!r} of {assignment} has no hidden-suite "
                                  "test (see autograder/graded_cells.py)")
            mapping[grade_id] = test
    return mapping
