"""The course's source rules: clean notebooks, generated exercises, proper nbgrader metadata."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT, all_committed_notebooks, exercise_notebooks, solution_notebooks

ASSIGNMENTS = ["01_knn", "02_linear_regression", "03_linear_classifiers", "04_optimizers",
               "05_backprop"]


def _id(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", all_committed_notebooks(), ids=_id)
def test_committed_notebook_has_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"cells {dirty} carry outputs or execution counts; strip them " \
                      "(tools.notebooks.strip_outputs) before committing"


def test_assignment_names_follow_the_layout():
    found = sorted(p.parent.name for p in solution_notebooks())
    assert found, "no solution notebooks found"
    for name in found:
        assert name in ASSIGNMENTS, f"unexpected assignment {name}"
        assert (ROOT / "solutions" / name / f"{name}.ipynb").exists()
        assert (ROOT / "exercises" / name / f"{name}.ipynb").exists(), \
            f"exercises/{name} missing: run `python3 course.py exercises {name}`"


@pytest.mark.parametrize("path", solution_notebooks(), ids=_id)
def test_solution_notebook_has_proper_nbgrader_cells(path):
    from nbgrader.nbgraderformat import MetadataValidator

    nb = nbformat.read(path, as_version=4)
    MetadataValidator().validate_nb(nb)  # raises on corrupt metadata or duplicate grade ids
    meta = [(c, c.metadata.get("nbgrader", {})) for c in nb.cells]
    solutions = [c for c, m in meta if m.get("solution") and c.cell_type == "code"]
    graded = [(c, m) for c, m in meta if m.get("grade") and c.cell_type == "code"]
    locked_md = [c for c, m in meta if m.get("locked") and c.cell_type == "markdown"]
    assert solutions and graded and locked_md
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    for _, m in graded:
        assert m.get("locked") and float(m["points"]) > 0, f"test cell {m['grade_id']}"
    assert any("### BEGIN HIDDEN TESTS" in c.source for c, _ in graded), \
        "no test cell holds hidden tests"


def _generate_into(tmp_path, names):
    """Copy the nbgrader inputs to tmp_path and generate the exercises there (no gradebook)."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "tools", tmp_path / "tools")
    subprocess.run([sys.executable, "-m", "tools.generate_exercises", "--no-db", *names],
                   cwd=tmp_path, check=True, capture_output=True, text=True)
    return tmp_path / "exercises"


@pytest.mark.slow
def test_committed_exercises_equal_a_fresh_generation(tmp_path):
    names = [p.parent.name for p in solution_notebooks()]
    fresh = _generate_into(tmp_path, names)
    for name in names:
        committed = nbformat.reads((ROOT / "exercises" / name / f"{name}.ipynb").read_text(),
                                   as_version=4)
        generated = nbformat.reads((fresh / name / f"{name}.ipynb").read_text(), as_version=4)
        assert committed == generated, (
            f"exercises/{name} differs from a fresh generation from solutions/{name}: "
            "run `python3 course.py exercises` and commit the result")
        committed_files = sorted(p.name for p in (ROOT / "exercises" / name).iterdir())
        generated_files = sorted(p.name for p in (fresh / name).iterdir())
        assert committed_files == generated_files


@pytest.mark.parametrize("path", exercise_notebooks(), ids=_id)
def test_exercise_notebook_holds_no_solution_or_hidden_test(path):
    text = path.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    assert re.search(r"raise NotImplementedError", text)


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.parent.name for p in solution_notebooks()])
def test_nbgrader_validator_passes_solution_and_fails_exercise(name):
    """`nbgrader validate` exits 0 even on failure, so use its Validator from Python."""
    from nbgrader.validator import Validator

    solution = Validator().validate(str(ROOT / "solutions" / name / f"{name}.ipynb"))
    assert not solution.get("failed") and not solution.get("changed"), solution
    exercise = Validator().validate(str(ROOT / "exercises" / name / f"{name}.ipynb"))
    assert exercise.get("failed"), "the untouched exercise should fail nbgrader's validation"
    unanswered = "You did not provide a response."  # written answers left blank
    for failure in exercise["failed"]:
        error = failure.get("error", "")
        assert "NotImplementedError" in error or "NotImplementedYet" in error or \
            error == unanswered, failure


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
