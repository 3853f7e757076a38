"""Pull the graded solution cells out of a notebook, robustly.

The grader never executes a notebook. It reads the JSON (untrusted, possibly broken), takes the
code cells whose nbgrader metadata says ``solution: true`` in notebook order, and hands their
source to a worker. Submissions are matched against the reference notebook's graded cells:
by nbgrader ``grade_id`` first, then by cell ``id`` (students sometimes lose metadata by copying
cells), then by the function and class names the reference cell defines. What cannot be found
is reported in words.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
_MAGIC = re.compile(r"^(\s*)([%!].*)$")


class NotebookProblem(ValueError):
    """The file is not a readable notebook (message for the student)."""


@dataclass(frozen=True)
class GradedCell:
    """One graded code cell: its nbgrader grade_id (may be ""), cell id, and Python source."""

    grade_id: str
    cell_id: str
    source: str

    @property
    def defined_names(self) -> tuple[str, ...]:
        return defined_names(self.source)


@dataclass
class Extraction:
    """The graded cells found in a notebook and the problems met while looking."""

    cells: list[GradedCell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        return "\n\n".join(cell.source for cell in self.cells)


def read_notebook(path: str | Path) -> dict:
    """Read a notebook file as JSON data. Raises NotebookProblem with a message in words."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookProblem(f"the notebook is {size / 2**20:.0f} MB, larger than the "
                                  f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit")
        raw = path.read_bytes()
    except OSError as error:
        raise NotebookProblem(f"the notebook could not be read ({error.strerror})") from None
    return parse_notebook(raw)


def parse_notebook(raw: bytes) -> dict:
    """Parse notebook bytes; refuse anything that is not a JSON object with a cell list."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise NotebookProblem(f"the file is not a valid notebook (invalid JSON: {error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookProblem("the file is not a notebook (no list of cells)")
    return data


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return ""


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def without_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes (``%timeit``, ``!ls``), keeping line numbers."""
    return "\n".join(_MAGIC.sub(r"\1pass  # \2", line) for line in source.split("\n"))


def defined_names(source: str) -> tuple[str, ...]:
    """Top-level function and class names defined by ``source`` (empty if it does not parse)."""
    try:
        tree = ast.parse(without_magics(source))
    except (SyntaxError, ValueError, RecursionError):
        return ()
    return tuple(node.name for node in tree.body
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))


def _graded(cell: dict) -> GradedCell:
    return GradedCell(grade_id=str(_nbgrader(cell).get("grade_id", "")),
                      cell_id=str(cell.get("id", "")),
                      source=without_magics(_text(cell.get("source"))))


def solution_cells(nb: dict) -> list[GradedCell]:
    """Code cells marked ``solution: true`` by nbgrader, in notebook order."""
    return [_graded(c) for c in _code_cells(nb) if _nbgrader(c).get("solution") is True]


def extract(nb: dict, template: list[GradedCell] | None = None) -> Extraction:
    """Find the graded cells of ``nb``.

    Inputs:
    - nb: parsed notebook data (``read_notebook``).
    - template: the reference's graded cells. Without it every solution cell is taken.
    Returns an Extraction with cells in the submission's notebook order and problems in words.
    """
    if template is None:
        return Extraction(cells=solution_cells(nb))
    cells = _code_cells(nb)
    marked = {g.grade_id: i for i, c in enumerate(cells)
              if _nbgrader(c).get("solution") is True and (g := _graded(c)).grade_id}
    by_id = {str(c.get("id")): i for i, c in enumerate(cells) if c.get("id")}
    found: dict[int, GradedCell] = {}
    problems = []
    for wanted in template:
        index = marked.get(wanted.grade_id)
        if index is None:
            index = by_id.get(wanted.cell_id) if wanted.cell_id else None
        if index is None and wanted.defined_names:
            names = set(wanted.defined_names)
            candidates = [i for i, c in enumerate(cells) if i not in found
                          and names & set(defined_names(_text(c.get("source"))))]
            index = candidates[-1] if candidates else None
        if index is None:
            what = ", ".join(f"`{n}`" for n in wanted.defined_names) or wanted.grade_id
            problems.append(f"the graded cell defining {what} (grade id '{wanted.grade_id}') "
                            f"was not found in the submission")
            continue
        if index not in found:
            cell = _graded(cells[index])
            found[index] = GradedCell(wanted.grade_id, cell.cell_id, cell.source)
    return Extraction(cells=[found[i] for i in sorted(found)], problems=problems)


def function_source(cells: list[GradedCell], name: str) -> str | None:
    """Source text of the last top-level definition of ``name`` ("fn" or "Class.method")."""
    top, _, member = name.partition(".")
    result = None
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name != top:
                continue
            if not member:
                result = ast.get_source_segment(cell.source, node)
            elif isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and \
                            sub.name == member:
                        result = ast.get_source_segment(cell.source, sub)
    return result
