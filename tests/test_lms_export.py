"""`python -m autograder export`: Canvas and Moodle grade files driven by a roster."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from helpers.crafting import EXAMPLES

from autograder import lms

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}

ROSTER = """\
nbgrader_id,name,email,lms_id,sis_user_id,sis_login_id,section
correct_student,"Doe, Alice",alice@uni.example,4711,S-001,adoe,Group A
partly_wrong_student,=HYPERLINK("http://x"),+bob@uni.example,4712,,,@B
ghost,Nobody,ghost@uni.example,99,S-099,,
"""
LATE_TOML = """\
due = 2026-12-01T23:59:00+01:00
policy = "per_day"
percent_per_day = 10
max_percent = 30
"""


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=ENV)


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A grading run of the examples (nbgrader tree, one student 1 day 11 h late: -20%)."""
    base = tmp_path_factory.mktemp("lms")
    shutil.copytree(EXAMPLES, base / "course" / "submitted")
    (base / "course" / "submitted" / "partly_wrong_student" / "01_knn" /
     "timestamp.txt").write_text("2026-12-03 10:00:00.500000 UTC\n")
    (base / "late.toml").write_text(LATE_TOML)
    done = run("grade", base / "course", "--assignment", "01_knn", "--out", base / "out",
               "--jobs", 1, "--no-progress", "--late", base / "late.toml")
    assert done.returncode == 0, done.stderr
    return base / "out"


@pytest.fixture()
def out(graded, tmp_path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(graded, copy)
    return copy


def final_score(out: Path, student: str) -> float:
    return json.loads((out / "students" / student / "results.json").read_text())["score"]


def test_export_writes_canvas_and_moodle_files(out, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    done = run("export", out, "--roster", roster, "--canvas-assignment-id", 123)
    assert done.returncode == 0, done.stderr
    wrong = lms.score_text(final_score(out, "partly_wrong_student"))
    assert 0 < float(wrong) < 14 * 0.8 + 1e-9  # the late penalty is in the exported score

    canvas = read_csv(out / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "01_knn (123)"]
    assert canvas[1] == ["    Points Possible", "", "", "", "", "14"]
    assert canvas[2:] == [["Doe, Alice", "4711", "S-001", "adoe", "Group A", "14"],
                          ["'=HYPERLINK(\"http://x\")", "4712", "", "", "'@B", wrong]]

    moodle = read_csv(out / "moodle.csv")
    assert moodle == [["ID number", "Email address", "Full name", "01_knn"],
                      ["S-001", "alice@uni.example", "Doe, Alice", "14"],
                      ["", "'+bob@uni.example", "'=HYPERLINK(\"http://x\")", wrong]]

    # Nobody is dropped silently: the unmapped and the absent are on stderr and in run.json.
    assert "untouched_release" in done.stderr and "ghost" in done.stderr
    report = json.loads((out / "run.json").read_text())["lms export"]
    assert report["not in the roster (in neither file)"] == ["untouched_release"]
    assert report["in the roster without a submission (in neither file)"] == ["ghost"]
    assert report["rows"] == 2 and report["canvas assignment"] == "01_knn (123)"
    assert json.loads((out / "run.json").read_text())["seed"] == 0  # the run's record kept


def test_identities_each_lms_needs_and_item_name(out, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeffnbgrader_id,email,sis_login_id\n"
                      "correct_student,,adoe\n"
                      "partly_wrong_student,bob@uni.example,\n"
                      "untouched_release,,\n", encoding="utf-8")
    done = run("export", out, "--roster", roster, "--canvas-assignment-id", "77",
               "--moodle-item", "Assignment 1: k-NN")
    assert done.returncode == 0, done.stderr
    canvas = read_csv(out / "canvas.csv")
    assert canvas[0][-1] == "01_knn (77)"
    assert [row[3] for row in canvas[2:]] == ["adoe"]
    moodle = read_csv(out / "moodle.csv")
    assert moodle[0] == ["ID number", "Email address", "Full name", "Assignment 1: k-NN"]
    assert [row[1] for row in moodle[1:]] == ["bob@uni.example"]
    report = json.loads((out / "run.json").read_text())["lms export"]
    canvas_missing = report["without lms_id, sis_user_id or sis_login_id (not in canvas.csv)"]
    moodle_missing = report["without email or sis_user_id (not in moodle.csv)"]
    assert canvas_missing == ["partly_wrong_student", "untouched_release"]
    assert moodle_missing == ["correct_student", "untouched_release"]
    assert "not in canvas.csv" in done.stderr and "not in moodle.csv" in done.stderr


@pytest.mark.parametrize("text, needle", [
    ("student,email\nann,a@x\n", "no `nbgrader_id` column"),
    ("nbgrader_id,mail\nann,a@x\n", "unknown column"),
    ("nbgrader_id,email\nann,a@x\nann,b@x\n", "appears twice"),
    ("nbgrader_id,email\n,a@x\n", "has no nbgrader_id"),
    ("nbgrader_id,email\nann,a@x,extra\n", "more cells than columns"),
])
def test_bad_rosters_are_refused_in_words(tmp_path, text, needle):
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=needle):
        lms.load_roster(roster)


def test_bad_arguments_exit_2(out, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(b"nbgrader_id\n\xff\n")
    bad_roster = run("export", out, "--roster", roster, "--canvas-assignment-id", "1")
    assert bad_roster.returncode == 2 and "not UTF-8" in bad_roster.stderr
    roster.write_text("nbgrader_id\ncorrect_student\n")
    bad_id = run("export", out, "--roster", roster, "--canvas-assignment-id", "=1")
    assert bad_id.returncode == 2 and "assignment's number" in bad_id.stderr
    empty = run("export", tmp_path / "nothing", "--roster", roster,
                "--canvas-assignment-id", "1")
    assert empty.returncode == 2 and "no results" in empty.stderr
    assert not (out / "canvas.csv").exists()


def test_roster_ids_match_sanitised_and_original_names():
    roster = {"ann b": lms.RosterEntry("ann b", email="ann@x"),
              "cy": lms.RosterEntry("cy", lms_id="3")}
    results = [{"score": 1, "extra_data": {"student_id": "ann_b", "original_name": "ann b"}},
               {"score": 2, "extra_data": {"student_id": "cy~2", "original_name": "cy"}},
               {"score": 3, "extra_data": {"student_id": "dee", "original_name": "dee"}}]
    matched = lms.match(results, roster)
    assert [(e.nbgrader_id, r["score"]) for e, r in matched.rows] == [("ann b", 1), ("cy", 2)]
    assert matched.not_in_roster == ["dee"] and matched.no_submission == []
    assert matched.no_canvas == ["ann_b"] and matched.no_moodle == ["cy~2"]


def test_score_text():
    assert [lms.score_text(x) for x in (14, 8.257142857, 0.0, -0.0, 1e-7, 2.5)] == \
        ["14", "8.2571", "0", "0", "0", "2.5"]
