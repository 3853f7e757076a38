"""The reference solutions and the hidden suites, as the project's tests use them.

- ``load_graded_cells``: execute a notebook's graded solution cells (nbgrader ``solution: true``)
  in order, in a namespace holding ``np``, as the grader does; optionally with a deliberate
  bug put in, to show that a check or a suite catches it.
- ``grade_with_pytest``: run a hidden suite with plain pytest against one notebook.
- ``mutated_notebook``: a copy of a notebook with one graded cell changed.
- ``suite_points`` / ``notebook_points``: the two totals that must agree.
"""

from __future__ import annotations

import json
import linecache
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def graded_sources(path: Path) -> dict[str, str]:
    """grade_id -> source of every graded solution cell, in notebook order."""
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def load_graded_cells(path: Path, replace: dict[str, tuple[str, str]] | None = None) -> dict:
    """Execute the graded cells of the notebook at ``path`` in a namespace holding ``np``.

    ``replace`` maps grade_id -> (old, new) to build a deliberately broken variant (the old
    text must occur). Each cell's source is registered with ``linecache`` so that
    ``inspect.getsource`` works on what it defines (source checks read it).
    """
    namespace: dict = {"np": np, "__name__": f"graded_{path.stem}"}
    for grade_id, source in graded_sources(path).items():
        if replace and grade_id in replace:
            old, new = replace[grade_id]
            assert old in source, f"mutation target {old!r} not in cell {grade_id}"
            source = source.replace(old, new)
        filename = f"<{path.stem}:{grade_id}:{hash(source) & 0xFFFFFFFF:08x}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace


def notebook_points(path: Path) -> float:
    """Sum of the points of the notebook's autograded test cells."""
    nb = nbformat.read(path, as_version=4)
    return sum(c.metadata["nbgrader"]["points"] for c in nb.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))


def suite_points(suite: Path) -> int:
    """Sum of the ``@pytest.mark.points(n)`` markers of a hidden suite's test files."""
    return sum(int(p) for path in suite.glob("test_*.py")
               for p in re.findall(r"@pytest\.mark\.points\((\d+)\)", path.read_text()))


def grade_with_pytest(suite: Path, submission: Path) -> dict[str, str]:
    """Run the hidden suite with plain pytest on one notebook: test name -> PASSED/FAILED."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
         "--submission", str(submission), "-rA", "--tb=no"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    outcomes = {name: outcome for outcome, name in
                re.findall(r"^(PASSED|FAILED) \S+::(\w+)", result.stdout, re.M)}
    if not outcomes:
        pytest.fail(f"no results from the suite:\n{result.stdout}\n{result.stderr}")
    return outcomes


def mutated_notebook(notebook: Path, tmp_path: Path, grade_id: str, old: str, new: str) -> Path:
    """Write a copy of ``notebook`` whose cell ``grade_id`` has ``old`` replaced by ``new``."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            source = "".join(cell["source"])
            assert old in source
            cell["source"] = source.replace(old, new)
    path = tmp_path / "submission.ipynb"
    path.write_text(json.dumps(nb))
    return path
