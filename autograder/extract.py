"""Pull the graded solution cells out of a notebook, robustly.

The grader never executes a notebook. It reads the JSON (untrusted, possibly broken), takes the
code cells whose nbgrader metadata says ``solution: true`` in notebook order, and hands their
source to a worker. Submissions are matched against the reference notebook's graded cells:
by nbgrader ``grade_id`` first, then by cell ``id`` (students sometimes lose metadata by copying
cells), then by the function and class names the reference cell defines. What cannot be found
is reported in words.

Bounds (``autograder.limits``, the same for submissions and the reference): the file's size,
the number of cells considered (``MAX_CELLS``), one graded cell's source (``MAX_CELL_CHARS``;
larger cells are neither graded nor parsed) and all graded sources together
(``MAX_GRADED_CHARS``). Each cell is parsed at most once, and only when a reference cell
must be matched by name and the cell's text names that function or class; untrusted
submissions are read in a limited helper process (``autograder.intake``).
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder import limits
from autograder.safe_files import read_regular_file

MAX_NOTEBOOK_BYTES = limits.MAX_FILE_BYTES
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
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
    try:
        raw = read_regular_file(path, MAX_NOTEBOOK_BYTES)
    except ValueError as error:
        raise NotebookProblem(f"the notebook could not be read: {error}") from None
    return parse_notebook(raw)


def parse_notebook(raw: bytes) -> dict:
    """Parse notebook bytes; refuse anything that is not a JSON object with a cell list."""
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise NotebookProblem(f"the notebook is {len(raw) / 2**20:.0f} MB, larger than the "
                              f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise NotebookProblem(f"the file is not a valid notebook (invalid JSON: "
                              f"{str(error)[:200]})") from None
    except MemoryError:
        raise NotebookProblem("reading the notebook's JSON needed more memory than "
                              "allowed") from None
    except (ValueError, OverflowError) as error:
        raise NotebookProblem(f"the file is not a valid notebook ({type(error).__name__} "
                              "while reading the JSON)") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookProblem("the file is not a notebook (no list of cells)")
    return data


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return ""


def _code_cells(nb: dict) -> tuple[list[dict], list[str]]:
    """The code cells among the first ``MAX_CELLS`` cells, and a note if some were ignored."""
    cells = nb["cells"]
    notes = []
    if len(cells) > limits.MAX_CELLS:
        notes.append(f"the notebook has {len(cells)} cells; only the first "
                     f"{limits.MAX_CELLS} were read")
        cells = cells[:limits.MAX_CELLS]
    return [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"], notes


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def without_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes (``%timeit``, ``!ls``), keeping line numbers."""
    return "\n".join(_MAGIC.sub(r"\1pass  # \2", line) for line in source.split("\n"))


def _parse(source: str) -> ast.Module | None:
    """The AST of ``source`` (None if it does not parse or is over the per-cell limit)."""
    if len(source) > limits.MAX_CELL_CHARS:
        return None
    try:
        return ast.parse(source)
    except _PARSE_ERRORS:
        return None


@functools.lru_cache(maxsize=256)
def defined_names(source: str) -> tuple[str, ...]:
    """Top-level function and class names defined by ``source`` (empty if it does not parse
    or is larger than ``limits.MAX_CELL_CHARS``)."""
    tree = _parse(without_magics(source))
    if tree is None:
        return ()
    return tuple(node.name for node in tree.body
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))


def _grade_id(cell: dict) -> str:
    value = _nbgrader(cell).get("grade_id", "")
    return value[:200] if isinstance(value, str) else ""


def _cell_id(cell: dict) -> str:
    value = cell.get("id", "")
    return value[:200] if isinstance(value, str) else ""


def _graded(cell: dict) -> GradedCell:
    return GradedCell(grade_id=_grade_id(cell), cell_id=_cell_id(cell),
                      source=without_magics(_text(cell.get("source"))))


def _kib(chars: int) -> str:
    return f"{chars / 1024:.0f} KB"


class _Budget:
    """Per-cell and total caps on graded sources; refusals become problems in words."""

    def __init__(self):
        self.used = 0
        self.problems: list[str] = []

    def admit(self, cell: GradedCell, label: str) -> bool:
        size = len(cell.source)
        if size > limits.MAX_CELL_CHARS:
            self.problems.append(f"{label} has {_kib(size)} of source, more than the "
                                 f"{_kib(limits.MAX_CELL_CHARS)} allowed for one graded cell; "
                                 "it was not graded")
            return False
        if self.used + size > limits.MAX_GRADED_CHARS:
            self.problems.append(f"{label} was not graded: the graded cells together exceed "
                                 f"{_kib(limits.MAX_GRADED_CHARS)} of source")
            return False
        self.used += size
        return True


def _label(cell: GradedCell) -> str:
    names = ", ".join(f"`{n}`" for n in defined_names(cell.source)[:5])
    if names:
        return f"the graded cell defining {names}"
    return f"the graded cell '{cell.grade_id or cell.cell_id}'"


def solution_cells(nb: dict) -> list[GradedCell]:
    """Code cells marked ``solution: true`` by nbgrader, in notebook order (no caps)."""
    cells, _ = _code_cells(nb)
    return [_graded(c) for c in cells if _nbgrader(c).get("solution") is True]


def _might_define(text: str, names: set[str]) -> bool:
    """A cheap test before parsing: does the text contain ``def name`` or ``class name``?"""
    return any(re.search(rf"\b(?:def|class)\s+{re.escape(n)}\b", text) for n in names)


def extract(nb: dict, template: list[GradedCell] | None = None) -> Extraction:
    """Find the graded cells of ``nb``.

    Inputs:
    - nb: parsed notebook data (``read_notebook``).
    - template: the reference's graded cells. Without it every solution cell is taken.
    Returns an Extraction with cells in the submission's notebook order and problems in words
    (including cells refused by the size limits). Linear in the number of cells: each cell
    is parsed at most once.
    """
    cells, notes = _code_cells(nb)
    budget = _Budget()
    budget.problems += notes
    if template is None:
        found = [cell for cell in map(_graded, (c for c in cells
                                                if _nbgrader(c).get("solution") is True))
                 if budget.admit(cell, _label(cell))]
        return Extraction(cells=found, problems=budget.problems)
    marked: dict[str, int] = {}
    by_id: dict[str, int] = {}
    for i, c in enumerate(cells):
        grade_id = _grade_id(c)
        if grade_id and _nbgrader(c).get("solution") is True:
            marked.setdefault(grade_id, i)
        if _cell_id(c):
            by_id.setdefault(_cell_id(c), i)
    texts: dict[int, str] = {}
    found: dict[int, GradedCell] = {}
    for wanted in template:
        index = marked.get(wanted.grade_id)
        if index is None:
            index = by_id.get(wanted.cell_id) if wanted.cell_id else None
        if index is None and wanted.defined_names:
            names = set(wanted.defined_names)
            candidates = []
            for i, c in enumerate(cells):
                if i in found:
                    continue
                text = texts.setdefault(i, _text(c.get("source")))
                if _might_define(text, names) and names & set(defined_names(text)):
                    candidates.append(i)
            index = candidates[-1] if candidates else None
        if index is None:
            what = ", ".join(f"`{n}`" for n in wanted.defined_names) or wanted.grade_id
            budget.problems.append(f"the graded cell defining {what} (grade id "
                                   f"'{wanted.grade_id}') was not found in the submission")
            continue
        if index not in found:
            cell = _graded(cells[index])
            cell = GradedCell(wanted.grade_id, cell.cell_id, cell.source)
            what = ", ".join(f"`{n}`" for n in wanted.defined_names) or wanted.grade_id
            if budget.admit(cell, f"the graded cell defining {what}"):
                found[index] = cell
    return Extraction(cells=[found[i] for i in sorted(found)], problems=budget.problems)


@functools.lru_cache(maxsize=2)
def _trees(cells: tuple[GradedCell, ...]) -> tuple[ast.Module | None, ...]:
    """The parsed graded cells of one submission (cached: suites ask many times; only the
    last two submissions' trees are kept, so the memory held is bounded by the source caps)."""
    return tuple(_parse(cell.source) for cell in cells)


def function_source(cells: list[GradedCell], name: str) -> str | None:
    """Source text of the last top-level definition of ``name`` ("fn" or "Class.method")."""
    top, _, member = name.partition(".")
    result = None
    for cell, tree in zip(cells, _trees(tuple(cells)), strict=True):
        if tree is None:
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
