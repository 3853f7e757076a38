"""Formgrader in Chromium shows the autograder's scores next to answers graded by hand.

A throwaway nbgrader course is graded with ``python -m autograder grade ... --gradebook``
(no ``nbgrader autograde``); an instructor then grades a written answer and overrides an
autograded cell (``tests/test_gradebook_export.py::graded_course``). A real ``jupyter lab``
with nbgrader's formgrader serves the course; the pages are read as the instructor sees them:
the student's overview (overall, code and written scores) and the submission's grading page
(the autograded cell's score and the hand-graded answer's score).
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from test_gradebook_export import graded_course

from .lab import start_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fmt(value: float) -> str:
    """Formgrader's number format (at most two decimals, no trailing zeros)."""
    return f"{round(value, 2):g}"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("formgrader")
    course, out = graded_course(workdir)
    scores = {}
    for path in (out / "students").glob("*/results.json"):
        results = json.loads(path.read_text())
        scores[results["extra_data"]["student_id"]] = {
            t["name"].split("::")[-1]: t["score"] for t in results["tests"]}
    server = start_lab(course, workdir / "jupyter")
    yield server, scores
    server.stop()


@pytest.fixture
def instructor(browser, course):
    server, _ = course
    context = browser.new_context(viewport={"width": 1400, "height": 1400},
                                  extra_http_headers={"Authorization": f"token {server.token}"})
    page = context.new_page()
    yield page
    context.close()


def _overview(page, server, student: str) -> dict[str, str]:
    """The student's row on formgrader's manage-students page: {column class: text}."""
    page.goto(server.url(f"formgrader/manage_students/{student}/01_knn"))
    row = page.locator("#main-table tr").first
    row.locator("td.score").wait_for()
    page.wait_for_function("() => !document.body.innerText.includes('Loading, please wait')")
    return {name: row.locator(f"td.{name}").inner_text().strip()
            for name in ("score", "code-score", "written-score")}


def test_formgrader_shows_autograded_and_hand_graded_scores(instructor, course, artifacts_dir):
    server, scores = course
    ours = {s: sum(v.values()) for s, v in scores.items()}
    assert ours["correct_student"] == 14 and 0 < ours["partly_wrong_student"] < 14
    correct = _overview(instructor, server, "correct_student")
    assert correct == {"score": f"{_fmt(ours['correct_student'] + 1)} / 17",
                       "code-score": f"{_fmt(ours['correct_student'])} / 14",
                       "written-score": "1 / 3"}
    # test_cross_validate scored 0 by the grader, overridden by hand with 1.5.
    assert scores["partly_wrong_student"]["test_cross_validate"] == 0
    partly = _overview(instructor, server, "partly_wrong_student")
    code = ours["partly_wrong_student"] + 1.5
    assert partly == {"score": f"{_fmt(code)} / 17", "code-score": f"{_fmt(code)} / 14",
                      "written-score": "0 / 3"}
    instructor.screenshot(path=str(artifacts_dir / "formgrader_overview.png"))


def test_the_grading_page_shows_each_cells_scores(instructor, course, artifacts_dir):
    server, scores = course
    _overview(instructor, server, "correct_student")
    instructor.locator("#main-table a").first.click()
    instructor.wait_for_url(re.compile(r"/formgrader/submissions/"))
    written = instructor.locator("input#inline_question_1")
    # formgrader fills the score boxes by script after the page loads: wait for them
    # (however long a loaded machine takes) before reading the rest.
    expect(written).to_have_value("1", timeout=120_000)  # the manual score
    assert instructor.locator("input#inline_question_2").input_value() == ""  # not graded yet
    for cell, test in (("test_predict_labels", "test_predict_labels"),
                       ("test_KNearestNeighbor", "test_knn_classifier")):
        box = instructor.locator(f"input#{cell}")
        assert box.input_value() == ""  # no manual override
        expect(box).to_have_attribute("placeholder", _fmt(scores["correct_student"][test]))
    written.scroll_into_view_if_needed()
    instructor.screenshot(path=str(artifacts_dir / "formgrader_submission.png"))
