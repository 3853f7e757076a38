"""Every hidden suite keeps the contract: its maximum equals the notebook's autograded points,
the reference notebook scores full marks and the generated exercise scores zero, both through
the grader's runner and through plain pytest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from autograder.grading import Assignment, Grader
from autograder.runner import load_suite, max_score
from autograder.sandbox import SandboxSettings
from autograder.submissions import Submission

SUITES = sorted(p.name for p in (ROOT / "autograder" / "suites").iterdir()
                if p.is_dir() and any(p.glob("test_*.py")))


def notebook_points(path) -> float:
    """Sum of points of the autograded *code* test cells (written answers are manual)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return sum(float(c["metadata"]["nbgrader"].get("points", 0)) for c in nb["cells"]
               if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {})
               .get("grade") is True)


def test_there_is_a_suite_for_01_knn():
    assert "01_knn" in SUITES


@pytest.mark.parametrize("name", SUITES)
def test_suite_maximum_equals_notebook_points(name):
    assignment = Assignment.find(name)
    tests = load_suite(assignment.suite_dir)
    assert max_score(tests) == notebook_points(assignment.reference_notebook)


@pytest.mark.parametrize("name", SUITES)
def test_reference_full_marks_and_exercise_zero(name, tmp_path):
    assignment = Assignment.find(name)
    grader = Grader(assignment, SandboxSettings.for_course(ROOT, tmp_path))
    try:
        solution = grader.grade(Submission("reference", assignment.reference_notebook))
        failed = [(t["name"], t["output"]) for t in solution["tests"] if t["status"] != "passed"]
        assert solution["score"] == grader.max_score, failed
        exercise = ROOT / "exercises" / name / f"{name}.ipynb"
        if exercise.exists():
            stub = grader.grade(Submission("stub", exercise))
            passed = [t["name"] for t in stub["tests"] if t["score"] > 0]
            assert stub["score"] == 0, f"the untouched exercise earns points in {passed}"
    finally:
        grader.close()


def test_01_knn_suite_runs_under_plain_pytest():
    """The instructor's debugging path: pytest + the suites conftest, reference and stub."""
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            str(ROOT / "autograder" / "suites" / "01_knn")]
    ok = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout[-2000:]
    stub = subprocess.run([*base, "--submission", str(ROOT / "exercises/01_knn/01_knn.ipynb")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert stub.returncode == 1 and "6 failed" in stub.stdout, stub.stdout[-2000:]
