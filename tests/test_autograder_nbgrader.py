"""Side by side with nbgrader: both graders agree on the sample submissions; the throughput
benchmark runs (quick mode)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT
from helpers import peer
from helpers.crafting import EXAMPLES

from autograder.grading import Assignment, Grader
from autograder.sandbox import SandboxSettings
from autograder.submissions import discover

pytestmark = pytest.mark.slow


def test_nbgrader_and_this_grader_agree_on_full_marks_and_zeros(tmp_path):
    submissions = discover(EXAMPLES, "01_knn")
    course = peer.prepare_course(ROOT, tmp_path, "01_knn")
    theirs, _ = peer.autograde(course, "01_knn",
                               {s.student_id: s.read_bytes() for s in submissions})
    grader = Grader(Assignment.find("01_knn"), SandboxSettings.for_course(ROOT, tmp_path))
    try:
        ours = {s.student_id: grader.grade(s)["score"] for s in submissions}
    finally:
        grader.close()
    assert ours["correct_student"] == theirs["correct_student"] == 14
    assert ours["untouched_release"] == theirs["untouched_release"] == 0
    assert 0 < ours["partly_wrong_student"] < 14 and 0 < theirs["partly_wrong_student"] < 14


def test_benchmark_quick_mode_runs():
    done = subprocess.run([sys.executable, "benchmarks/grading_throughput.py", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("N="))
    assert re.search(r"ratio +[0-9.]+x", line) and "agree on full marks and zeros" in line
