"""Every notebook runs: solutions pass all checks, exercises fail only with NotImplementedError,
lectures run clean."""

from __future__ import annotations

import pytest
from conftest import ROOT, exercise_notebooks, lecture_notebooks, solution_notebooks
from helpers.notebooks import execute, stream_text

pytestmark = pytest.mark.slow


def _id(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", solution_notebooks(), ids=_id)
def test_solution_notebook_passes_every_check(path):
    nb, errors = execute(path)
    assert not errors, "the solution notebook raised:\n" + "\n".join(map(str, errors))
    printed = stream_text(nb)
    assert "checks passed" in printed, "no self-check summary was printed"
    assert "not implemented yet" not in printed


@pytest.mark.parametrize("path", exercise_notebooks(), ids=_id)
def test_exercise_notebook_fails_only_with_not_implemented(path):
    _, errors = execute(path)
    assert errors, "an exercise with nothing to implement: were the solutions stripped?"
    others = [e for e in errors if e.ename not in {"NotImplementedError", "NotImplementedYet"}]
    assert not others, "errors other than NotImplementedError:\n" + "\n".join(map(str, others))


@pytest.mark.parametrize("path", [*lecture_notebooks(), ROOT / "course_map.ipynb"], ids=_id)
def test_lecture_notebook_runs_clean(path):
    _, errors = execute(path)
    assert not errors, "the lecture raised:\n" + "\n".join(map(str, errors))
