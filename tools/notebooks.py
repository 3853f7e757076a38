"""Instructor tooling: build and tidy notebooks with nbgrader metadata (not shipped to students).

The notebooks themselves are the source of truth. These helpers exist so that cells carry
correct nbgrader metadata and stable cell ids, and so that committed notebooks never carry
outputs. Typical use from a scratch script::

    from tools.notebooks import md, code, solution, tests, answer, write_notebook
    write_notebook("solutions/01_knn/01_knn.ipynb", [md("# Title"), solution("def f(): ...", "f")])

Cell kinds (nbgrader 0.9, schema version 3):
- ``md(text)``: read-only instructions (locked).
- ``code(src)``: ordinary code cell (not graded, editable).
- ``solution(src, grade_id)``: autograded answer; put the answer between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` inside a function body followed (in the
  stripped version) by ``raise NotImplementedError`` (nbgrader inserts it).
- ``tests(src, grade_id, points)``: autograder tests (locked); may hold
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.
- ``answer(text, grade_id, points)``: a written answer to an inline question (manually graded).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

SCHEMA = 3


def _cell_id(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:12]


def _meta(grade: bool, solution: bool, locked: bool, grade_id: str, points: float | None = None
          ) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str, grade_id: str | None = None, locked: bool = True) -> nbformat.NotebookNode:
    """A markdown cell; locked (read-only for students) unless ``locked=False``."""
    cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
    if locked:
        cell.metadata.update(_meta(False, False, True, grade_id or "md_" + _cell_id(text)))
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False
    return cell


def code(src: str) -> nbformat.NotebookNode:
    """A plain code cell that students may edit and run."""
    return nbformat.v4.new_code_cell(src.strip("\n"))


def solution(src: str, grade_id: str) -> nbformat.NotebookNode:
    """An autograded answer cell holding BEGIN/END SOLUTION regions."""
    cell = nbformat.v4.new_code_cell(src.strip("\n"))
    cell.metadata.update(_meta(False, True, False, grade_id))
    return cell


def tests(src: str, grade_id: str, points: float) -> nbformat.NotebookNode:
    """A locked autograder test cell worth ``points``."""
    cell = nbformat.v4.new_code_cell(src.strip("\n"))
    cell.metadata.update(_meta(True, False, True, grade_id, points))
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def answer(text: str, grade_id: str, points: float = 1) -> nbformat.NotebookNode:
    """A manually graded written answer (markdown solution + grade cell)."""
    cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
    cell.metadata.update(_meta(True, True, False, grade_id, points))
    return cell


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A notebook with the Python 3 kernel spec, stable cell ids and no outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        cell["id"] = _cell_id(f"{index}:{grade_id}:{cell.source[:200]}")
    return strip_outputs(nb)


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs and execution counts in place; returns the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def write_notebook(path: str | Path, cells: list[nbformat.NotebookNode]) -> Path:
    """Validate and write a notebook built from cells (no outputs). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = notebook(cells)
    nbformat.validate(nb)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path
