"""``python -m autograder grade ... --gradebook``: nbgrader's gradebook and feedback route.

Fast:
- the cell-to-test mapping is the one ``tools/hidden_tests.py`` wrote into the solution
  notebooks (the hidden region of every test cell calls the same suite test), for every
  assignment;
- a SUBMISSIONS folder that is not nbgrader's tree is refused in words.
Slow (a throwaway nbgrader course, real nbgrader API and commands):
- two students collected by nbgrader (timestamp.txt, submission_secret.txt) and one copied
  by hand: every autograded test cell's auto_score equals the grader's score of its test;
  written answers wait for a manual grade; formgrader's autograded/ notebook is written
  (outputs cleared, the submitted timestamp);
- an instructor grades a written answer and overrides an autograded cell; one student
  resubmits; a regrade (from scratch, into a fresh output folder) updates the auto scores
  and the timestamp in place, duplicates no student, submission or grade row and keeps both
  manual scores; ``nbgrader export`` gives autograded + manual as the total;
- ``nbgrader release_feedback`` releases our feedback page to the exchange under the hash
  ``nbgrader fetch_feedback`` looks for, and the page holds no hidden test source, bridge
  call, suite or reference code; the hand-copied submission gets no page and a note;
- the whole route with nbgrader's exchange: release_assignment, the student's submit,
  collect, grade --gradebook, release_feedback, and the student's fetch_feedback receives
  the grader's page.
"""

from __future__ import annotations

import ast
import csv
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, solution_notebooks
from helpers import peer
from helpers.crafting import EXAMPLES

from autograder.errors import GraderError
from autograder.gradebook import cell_tests, course_folder, export

ASSIGNMENT = "01_knn"
COLLECTED = ("correct_student", "partly_wrong_student")  # came through nbgrader collect
BY_HAND = "untouched_release"                             # copied in without nbgrader's files
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def _hidden_test_calls(source: str) -> list[tuple]:
    return [tuple(ast.literal_eval(a) for a in node.args) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hidden_test"]


@pytest.mark.parametrize("path", solution_notebooks(), ids=lambda p: p.stem)
def test_cells_map_to_the_suite_tests_their_hidden_regions_run(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    in_notebook = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            calls = _hidden_test_calls("".join(cell["source"]))
            assert len(calls) == 1, meta["grade_id"]
            in_notebook[meta["grade_id"]] = calls[0][1]
    assert in_notebook, "the notebook has autograded test cells"
    assert cell_tests(path, path.stem) == in_notebook


def test_a_folder_that_is_not_an_nbgrader_tree_is_refused(tmp_path):
    (tmp_path / "ann.ipynb").write_text("{}")
    with pytest.raises(GraderError, match="submitted/"):
        course_folder(tmp_path)
    (tmp_path / "course" / "submitted").mkdir(parents=True)
    assert course_folder(tmp_path / "course") == (tmp_path / "course").resolve()
    assert course_folder(tmp_path / "course" / "submitted") == (tmp_path / "course").resolve()
    with pytest.raises(GraderError, match="no nbgrader gradebook"):  # none is created
        export(tmp_path / "course", None, ASSIGNMENT, ROOT / "solutions" / ASSIGNMENT /
               f"{ASSIGNMENT}.ipynb", [], [])
    assert not (tmp_path / "course" / "gradebook.db").exists()


# ---------------------------------------------------------------- a throwaway nbgrader course


def make_course(workdir: Path) -> Path:
    """An nbgrader course with 01_knn generated and three submissions in submitted/."""
    course = peer.prepare_course(ROOT, workdir, ASSIGNMENT)
    for number, student in enumerate((*COLLECTED, BY_HAND)):
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(EXAMPLES / student / ASSIGNMENT, folder)
        if student in COLLECTED:  # what `nbgrader collect` leaves beside the notebook
            (folder / "timestamp.txt").write_text(f"2026-11-2{number} 10:00:00.000000 UTC")
            # copied byte for byte: nbgrader hashes the file's text as it is
            (folder / "submission_secret.txt").write_text(f"{number}f00d{student}\n")
    return course


def grade_into_gradebook(course: Path, out: Path, relative: bool = False
                         ) -> subprocess.CompletedProcess:
    """The grade command with --gradebook on the course's submitted/ folder (absolute), or
    with ``relative`` on the course folder named relative to the working folder."""
    target, cwd = ("nbgrader_course", course.parent) if relative else (course / "submitted", ROOT)
    return subprocess.run([sys.executable, "-m", "autograder", "grade", target,
                           "--assignment", ASSIGNMENT, "--out", out, "--jobs", "1",
                           "--no-progress", "--gradebook"], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=ENV)


def our_scores(out: Path) -> dict[str, dict[str, float]]:
    """{student: {suite test: score}} from the grader's results.json files (unrounded)."""
    scores = {}
    for path in sorted((out / "students").glob("*/results.json")):
        results = json.loads(path.read_text())
        scores[results["extra_data"]["student_id"]] = {
            t["name"].split("::")[-1]: t["score"] for t in results["tests"]}
    return scores


def gradebook_rows(course: Path) -> dict:
    """Per student: {cell: (auto_score, manual_score, needs_manual_grade)}, and row counts."""
    from nbgrader.api import Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        counts = {kind.__name__: gradebook.db.query(kind).count()
                  for kind in (Student, SubmittedAssignment, SubmittedNotebook, Grade)}
        cells = {}
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            cells[submission.student.id] = {
                grade.cell.name: (grade.auto_score, grade.manual_score, grade.needs_manual_grade)
                for notebook in submission.notebooks for grade in notebook.grades}
    return {"counts": counts, "cells": cells}


def set_manual_score(course: Path, student: str, cell: str, score: float) -> None:
    """What an instructor does in formgrader (nbgrader's API, as formgrader's handler)."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gradebook.db.commit()


def graded_course(workdir: Path) -> tuple[Path, Path]:
    """A course graded with --gradebook, with a written answer and an override graded by
    hand (used by the browser test too). Returns (course, the grader's output folder)."""
    course = make_course(workdir)
    done = grade_into_gradebook(course, workdir / "out1")
    assert done.returncode == 0, done.stderr
    set_manual_score(course, "correct_student", "inline_question_1", 1.0)
    set_manual_score(course, "partly_wrong_student", "test_cross_validate", 1.5)
    return course, workdir / "out1"


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = peer._nbgrader(list(args), course)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_scores_manual_grades_export_and_feedback_through_nbgrader(tmp_path):
    course = make_course(tmp_path)
    mapping = cell_tests(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT)
    done = grade_into_gradebook(course, tmp_path / "out1")
    assert done.returncode == 0, done.stderr
    assert f"{BY_HAND}: no timestamp.txt or submission_secret.txt" in done.stderr
    ours = our_scores(tmp_path / "out1")
    first = gradebook_rows(course)
    assert set(first["cells"]) == {*COLLECTED, BY_HAND}
    written = {"inline_question_1", "inline_question_2", "inline_question_3"}
    for student, cells in first["cells"].items():
        assert set(cells) == set(mapping) | written
        for cell, test in mapping.items():
            assert cells[cell] == (ours[student][test], None, False), (student, cell)
        for cell in written:
            assert cells[cell] == (None, None, True), (student, cell)
    for student in (*COLLECTED, BY_HAND):  # what formgrader opens, never executed
        folder = course / "autograded" / student / ASSIGNMENT
        nb = json.loads((folder / f"{ASSIGNMENT}.ipynb").read_text())
        assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
        stamp = course / "submitted" / student / ASSIGNMENT / "timestamp.txt"
        assert ((folder / "timestamp.txt").read_text() if stamp.exists() else None) == \
            (stamp.read_text() if stamp.exists() else None)
    autograded = {s: sum(ours[s][t] for t in mapping.values()) for s in ours}
    assert autograded["correct_student"] == 14
    assert 0 < autograded["partly_wrong_student"] < 14 and autograded[BY_HAND] == 0
    assert "written; 2 feedback page(s)" in done.stderr
    assert not (course / "feedback" / BY_HAND).exists()
    page = (course / "feedback" / "partly_wrong_student" / ASSIGNMENT / f"{ASSIGNMENT}.html")
    text = page.read_text(encoding="utf-8")
    assert text == (tmp_path / "out1" / "students" / "partly_wrong_student" / "feedback.html"
                    ).read_text()
    assert "a vote tie goes to the smallest label" in text and "expected" in text
    assert_nothing_hidden(text)

    # The instructor grades a written answer and overrides an autograded cell (0 -> 1.5).
    set_manual_score(course, "correct_student", "inline_question_1", 1.0)
    set_manual_score(course, "partly_wrong_student", "test_cross_validate", 1.5)
    assert ours["partly_wrong_student"]["test_cross_validate"] == 0
    # The partly wrong student resubmits a fixed notebook (collected again: a new timestamp).
    resubmitted = course / "submitted" / "partly_wrong_student" / ASSIGNMENT
    shutil.copy(EXAMPLES / "correct_student" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                resubmitted / f"{ASSIGNMENT}.ipynb")
    (resubmitted / "timestamp.txt").write_text("2026-11-29 09:00:00.000000 UTC")
    # A fresh output folder: everything regraded (course named relative to the working folder).
    done = grade_into_gradebook(course, tmp_path / "out2", relative=True)
    assert done.returncode == 0, done.stderr
    assert "graded 3 submission(s)" in done.stderr
    assert "autograded scores of 3 submission(s) written; 2 feedback page(s)" in done.stderr
    again = gradebook_rows(course)
    assert again["counts"] == first["counts"] == {
        "Student": 3, "SubmittedAssignment": 3, "SubmittedNotebook": 3, "Grade": 27}
    assert again["cells"]["correct_student"]["inline_question_1"] == (None, 1.0, False)
    for cell, values in again["cells"]["partly_wrong_student"].items():  # updated in place
        expected_cell = first["cells"]["correct_student"][cell]
        if cell == "test_cross_validate":  # the new auto score, the manual one still wins
            expected_cell = (3.0, 1.5, True)
        assert values == expected_cell, cell
    for student in ("correct_student", BY_HAND):
        for cell, values in again["cells"][student].items():
            if (student, cell) != ("correct_student", "inline_question_1"):
                assert values == first["cells"][student][cell], (student, cell)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        stamp = gradebook.find_submission(ASSIGNMENT, "partly_wrong_student").timestamp
    assert stamp.isoformat() == "2026-11-29T09:00:00"
    autograded_nb = course / "autograded" / "partly_wrong_student" / ASSIGNMENT
    assert (autograded_nb / "timestamp.txt").read_text() == "2026-11-29 09:00:00.000000 UTC"

    _nbgrader(course, "export", "--to", str(tmp_path / "export.csv"))
    with open(tmp_path / "export.csv", newline="") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    expected = {"correct_student": 14 + 1.0,           # autograded + the written answer
                "partly_wrong_student": 14 - 3 + 1.5,  # autograded, one cell overridden
                BY_HAND: 0.0}
    for student, total in expected.items():
        assert float(exported[student]["raw_score"]) == pytest.approx(total, abs=1e-6)
        assert float(exported[student]["max_score"]) == 17  # 14 autograded + 3 written

    # Feedback: nbgrader releases our page under the hash fetch_feedback looks for.
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    _nbgrader(course, "release_feedback", ASSIGNMENT, f"--Exchange.root={exchange}")
    from nbgrader.utils import notebook_hash
    released = sorted((exchange / "dl4cv-basics" / "feedback").iterdir())
    assert len(released) == len(COLLECTED)
    for student in COLLECTED:
        folder = course / "submitted" / student / ASSIGNMENT
        secret = (folder / "submission_secret.txt").read_text()
        page = exchange / "dl4cv-basics" / "feedback" / \
            f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"
        text = page.read_text(encoding="utf-8")
        assert text == (tmp_path / "out2" / "students" / student / "feedback.html").read_text()
        assert f"feedback for {student}" in text
        assert "Score: 14 / 14" in html.unescape(text)
        assert_nothing_hidden(text)


def _code_lines(text: str) -> set[str]:
    """The first line of every statement, when long enough to be recognisable if leaked
    (continuation lines are left out: a call's arguments may be quoted in a message)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    lines = text.splitlines()
    return {lines[node.lineno - 1].strip() for node in ast.walk(tree)
            if isinstance(node, ast.stmt) and len(lines[node.lineno - 1].strip()) >= 20}


def assert_nothing_hidden(page: str) -> None:
    """No hidden test source, bridge call, suite code or reference code on a feedback page."""
    text = html.unescape(page)
    for marker in ("HIDDEN TESTS", "nbgrader_bridge", "hidden_test(", "import ", "def ",
                   "reference."):
        assert marker not in text, marker
    suite = [_code_lines(p.read_text())
             for p in (ROOT / "autograder" / "suites" / ASSIGNMENT).glob("*.py")]
    solution = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    reference = [_code_lines("".join(c["source"])) for c in solution["cells"]
                 if c["cell_type"] == "code"]
    hidden = set().union(*suite, *reference)
    assert len(hidden) > 100, "the check must have hidden code to look for"
    leaked = [line for line in hidden if line in text]
    assert not leaked, leaked


def test_only_nbgrader_layout_rows_without_grader_failures_are_written(tmp_path):
    from autograder.gradebook import rows_to_write
    from autograder.submissions import discover
    submitted = tmp_path / "submitted"
    for name in ("ann", "bob", "a b"):
        (submitted / name / ASSIGNMENT).mkdir(parents=True)
        (submitted / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (submitted / "cy.ipynb").write_text("{}")
    found = discover(submitted, ASSIGNMENT)
    results = [{"extra_data": {"grader_error": "boom"} if s.student_id == "bob" else {}}
               for s in found]
    rows, notes = rows_to_write(ASSIGNMENT, found, results)
    assert [row.student_id for row in rows] == ["ann"]
    assert any(n.startswith("bob: the grader failed") for n in notes)
    assert any(n.startswith("a_b: not in nbgrader's layout") for n in notes)
    assert any(n.startswith("cy: not in nbgrader's layout") for n in notes)


def test_the_leak_check_can_fail():
    suite = (ROOT / "autograder" / "suites" / ASSIGNMENT / "test_knn.py").read_text()
    line = next(iter(_code_lines(suite)))
    with pytest.raises(AssertionError):
        assert_nothing_hidden(f"<p>{html.escape(line)}</p>")


@pytest.mark.slow
def test_a_student_fetches_the_graders_feedback_through_nbgraders_exchange(tmp_path):
    """The whole route: release, student submit, collect, grade --gradebook,
    release_feedback, and the student's fetch_feedback finds the grader's page."""
    import getpass
    course = peer.prepare_course(ROOT, tmp_path, ASSIGNMENT)
    exchange, cache, home = tmp_path / "exchange", tmp_path / "cache", tmp_path / "student"
    for folder in (exchange, cache, home / ASSIGNMENT):
        folder.mkdir(parents=True)
    where = [f"--Exchange.root={exchange}"]
    as_student = [*where, f"--Exchange.cache={cache}", "--course=dl4cv-basics"]
    _nbgrader(course, "release_assignment", ASSIGNMENT, *where)
    shutil.copy(EXAMPLES / "partly_wrong_student" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    _nbgrader(home, "submit", ASSIGNMENT, *as_student)
    _nbgrader(course, "collect", ASSIGNMENT, *where)
    student = getpass.getuser()  # nbgrader names the submission after the user
    done = grade_into_gradebook(course, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "1 feedback page(s)" in done.stderr
    _nbgrader(course, "release_feedback", ASSIGNMENT, *where)
    _nbgrader(home, "fetch_feedback", ASSIGNMENT, *as_student)
    fetched = list((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(fetched) == 1
    text = fetched[0].read_text(encoding="utf-8")
    assert text == (tmp_path / "out" / "students" / student / "feedback.html").read_text()
    assert "a vote tie goes to the smallest label" in text
    assert_nothing_hidden(text)
