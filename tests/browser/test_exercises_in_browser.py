"""Every exercise in a real JupyterLab, as handed out and with the reference solution filled in.

As handed out: run all (going on after each error, as a student would) and see only
NotImplementedError; nbgrader's Validate button reports the failure. With the reference
solution written into the solution cells (the notebook file is built from the exercise by
replacing each solution cell with the solution notebook's cell of the same grade id, minus the
BEGIN/END SOLUTION lines): every cell runs, every self-check prints "checks passed", and
Validate reports success.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from .lab import NotebookPage

ROOT = Path(__file__).resolve().parent.parent.parent
EXERCISES = sorted(p.parent.name for p in ROOT.glob("exercises/*/*.ipynb")
                   if (ROOT / "solutions" / p.parent.name / p.name).exists())
STUB_ERRORS = {"NotImplementedError", "NotImplementedYet"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def solved_exercise(exercise: Path, solution: Path) -> nbformat.NotebookNode:
    """The exercise notebook with every solution cell replaced by the reference solution."""
    nb = nbformat.read(exercise, as_version=4)
    reference = {c.metadata["nbgrader"]["grade_id"]: c
                 for c in nbformat.read(solution, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    replaced = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            source = reference[meta["grade_id"]].source
            cell.source = "\n".join(line for line in source.splitlines()
                                    if "BEGIN SOLUTION" not in line
                                    and "END SOLUTION" not in line)
            replaced += 1
    assert replaced, f"{exercise} has no solution cell"
    return nb


def _graded_cells(nb_path: Path) -> list[int]:
    cells = nbformat.read(nb_path, as_version=4).cells
    return [i for i, c in enumerate(cells) if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_as_handed_out_fails_only_with_not_implemented(page, lab, artifacts_dir, name):
    path = f"exercises/{name}/{name}.ipynb"
    notebook = NotebookPage(page, lab, path).open()
    try:
        notebook.run_all(continue_after_errors=True)
        errors = notebook.errors()
        assert errors, f"{name}: no NotImplementedError at all; were the solutions stripped?"
        others = [e for e in errors if e.ename not in STUB_ERRORS]
        assert not others, "errors other than NotImplementedError:\n" + "\n".join(map(str, others))
        skipped = notebook.unexecuted_code_cells()
        assert not skipped, f"code cells {skipped} never ran"
        problems, _ = notebook.widget_problems()
        assert not problems, "\n".join(problems)
        assert "not implemented yet" in notebook.printed_text()
        classes, text = notebook.validate()
        assert "validation-failed" in classes, f"Validate did not report the stubs: {text[:500]}"
        assert "NotImplementedError" in text or "NotImplementedYet" in text, text[:1000]
    finally:
        notebook.screenshot(artifacts_dir, f"exercise-{name}-as-handed-out")
        notebook.shut_down_kernel()


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_with_reference_solution_passes_its_self_checks(page, lab, artifacts_dir,
                                                                 name):
    folder = lab.root / "exercises" / name
    solved = solved_exercise(folder / f"{name}.ipynb",
                             ROOT / "solutions" / name / f"{name}.ipynb")
    target = folder / f"{name}_reference.ipynb"
    nbformat.write(solved, target)
    notebook = NotebookPage(page, lab, f"exercises/{name}/{target.name}").open()
    try:
        notebook.run_all()
        errors = notebook.errors()
        assert not errors, "the reference solution fails:\n" + "\n".join(map(str, errors))
        assert not notebook.unexecuted_code_cells()
        problems, _ = notebook.widget_problems()
        assert not problems, "\n".join(problems)
        printed = notebook.printed_text()
        assert "checks passed" in printed and "not implemented yet" not in printed
        cells = notebook.cells()
        for index in _graded_cells(target):
            text = "".join("".join(o.get("text", "")) for o in cells[index]["outputs"]
                           if o.get("output_type") == "stream")
            if text:
                assert "checks passed" in text.splitlines()[-1], \
                    f"cell {index} does not end with a passing summary: {text[-300:]}"
        classes, text = notebook.validate()
        assert "validation-success" in classes, f"Validate did not pass: {text[:1000]}"
        assert "Success" in text
    finally:
        notebook.screenshot(artifacts_dir, f"exercise-{name}-solved")
        notebook.shut_down_kernel()
