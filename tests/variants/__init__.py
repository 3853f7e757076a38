"""The variant library: realistic student mistakes per assignment, each with its exact score.

Every assignment ``a`` has a module ``tests/variants/<module>.py`` with

    ASSIGNMENT = "01_knn"
    VARIANTS: list[Variant] = [...]
    # optional:
    TESTS_OF = {"KNearestNeighbor": ("test_knn_classifier",)}   # grade_id -> its suite tests
    TRIVIAL_EXEMPT = {("grade_id", "kind"): "why that trivial body is genuinely correct"}

A submission for a variant is the solution notebook ``solutions/<a>/<a>.ipynb`` with the
variant's graded cells swapped in (``notebook_bytes``). ``tests/test_grading_fairness.py``
grades every variant of every module found here and checks its scores.

``trivial_variants`` builds, from the syntax tree of the solution's graded cells, the
submissions that must earn nothing on their cell's tests: every function (and every method of
every class) of one cell given the body ``raise NotImplementedError``, ``return 0``,
``return None``, "return the first argument unchanged", or (cells without classes) "return
the right answer's structure, shapes and dtypes filled with zeros" (``zeros``) or "... with
ones" (``ones``, a constant of the right shape).
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from autograder.graded_cells import (
    visible_part as visible_part,  # what students see of a test cell (re-exported)
)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Variant:
    name: str                    # snake_case, unique within the assignment
    description: str             # the mistake, in words
    replace: dict[str, str]      # grade_id of a graded SOLUTION cell -> its full new source
    scores: dict[str, float]     # short test name ("test_cross_validate") -> expected score;
                                 # every test not listed must get full marks
    selfcheck_fails: tuple[str, ...] = ()  # grade_ids of TEST cells whose visible self-check
                                 # must fail for this variant (rule-breaking variants list theirs)


# ------------------------------------------------------------------------- discovery
def module_names() -> list[str]:
    """Every variant module in this folder (``knn``, ``optimizers``, ...), sorted."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem != "__init__")


def load_module(name: str) -> ModuleType:
    """Import ``variants.<name>`` and check its shape; raises with a message in words."""
    module = importlib.import_module(f"{__name__}.{name}")
    assignment = getattr(module, "ASSIGNMENT", None)
    if not isinstance(assignment, str) or not solution_notebook(assignment).is_file():
        raise ValueError(f"variants/{name}.py: ASSIGNMENT must name an assignment with a "
                         f"solution notebook, got {assignment!r}")
    variants = getattr(module, "VARIANTS", None)
    if not isinstance(variants, list) or not all(isinstance(v, Variant) for v in variants):
        raise ValueError(f"variants/{name}.py: VARIANTS must be a list of Variant")
    names = [v.name for v in variants]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"variants/{name}.py: duplicate variant names {duplicated}")
    cells = solution_cells(assignment)
    tests = set(test_cells(assignment))
    for v in variants:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v.name):
            raise ValueError(f"variants/{name}.py: variant name {v.name!r} is not snake_case")
        unknown = set(v.replace) - set(cells)
        if unknown:
            raise ValueError(f"variant {v.name}: no graded solution cell {sorted(unknown)} in "
                             f"{assignment} (cells: {sorted(cells)})")
        if not v.replace:
            raise ValueError(f"variant {v.name}: replaces no cell")
        unknown = set(v.selfcheck_fails) - tests
        if unknown:
            raise ValueError(f"variant {v.name}: no graded test cell {sorted(unknown)}")
    return module


# ------------------------------------------------------------------------- notebooks
def solution_notebook(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


@functools.cache
def _cells(assignment: str) -> list[dict]:
    """The solution notebook's cells, parsed once per test session (read-only for callers)."""
    return json.loads(solution_notebook(assignment).read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(assignment: str) -> dict[str, str]:
    """grade_id -> source of every graded solution code cell, in notebook order."""
    return {_nbgrader(c)["grade_id"]: _source(c) for c in _cells(assignment)
            if c["cell_type"] == "code" and _nbgrader(c).get("solution")}


def edited_cell(assignment: str, grade_id: str, *pairs: tuple[str, str]) -> str:
    """The solution cell ``grade_id`` with each (old, new) text replaced; every old text must
    occur exactly once (a variant never edits by accident)."""
    source = solution_cells(assignment)[grade_id]
    for old, new in pairs:
        if source.count(old) != 1:
            raise ValueError(f"variant text {old!r} occurs {source.count(old)} times in the "
                             f"solution cell {grade_id!r}")
        source = source.replace(old, new)
    return source


def part_score(points: float, parts: int, failed: int) -> float:
    """The score of a test of ``points`` with ``parts`` equal parts, ``failed`` of them failed."""
    return points * (parts - failed) / parts


def test_cells(assignment: str) -> dict[str, str]:
    """grade_id -> source of every autograded test code cell, in notebook order."""
    return {_nbgrader(c)["grade_id"]: _source(c) for c in _cells(assignment)
            if c["cell_type"] == "code" and _nbgrader(c).get("grade")}


test_cells.__test__ = False  # a helper, not a pytest test


def selfcheck_imports(assignment: str) -> str:
    """The notebook's ``from utils.selfchecks... import ...`` statements (from any code cell)."""
    lines = []
    for cell in _cells(assignment):
        if cell["cell_type"] != "code" or _nbgrader(cell).get("solution"):
            continue
        try:
            tree = ast.parse(re.sub(r"(?m)^\s*[%!].*$", "", _source(cell)))
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, ast.ImportFrom)
                  and (node.module or "").startswith("utils.selfchecks")]
    return "\n".join(lines)


def graded_sources(assignment: str, replace: dict[str, str]) -> dict[str, str]:
    """The solution's graded cells with ``replace`` (grade_id -> new source) swapped in."""
    cells = solution_cells(assignment)
    unknown = set(replace) - set(cells)
    if unknown:
        raise KeyError(f"{assignment} has no graded solution cell {sorted(unknown)}")
    return {grade_id: replace.get(grade_id, source) for grade_id, source in cells.items()}


def notebook_bytes(assignment: str, replace: dict[str, str]) -> bytes:
    """The solution notebook with the graded cells in ``replace`` swapped in (as a student
    would submit it: same cell ids and nbgrader metadata)."""
    nb = json.loads(solution_notebook(assignment).read_text(encoding="utf-8"))
    unknown = set(replace) - set(solution_cells(assignment))
    if unknown:
        raise KeyError(f"{assignment} has no graded solution cell {sorted(unknown)}")
    for cell in nb["cells"]:
        grade_id = _nbgrader(cell).get("grade_id")
        if cell["cell_type"] == "code" and _nbgrader(cell).get("solution") and grade_id in replace:
            cell["source"] = replace[grade_id]
    return json.dumps(nb).encode("utf-8")


# ------------------------------------------------------------------------- tests of a cell
def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def tests_of_cell(assignment: str, grade_id: str, suite_tests: list[str],
                  overrides: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """The suite tests (short names) that grade the solution cell ``grade_id``.

    Default: the suite test named like the cell's test cell (``test_<grade_id>``, compared
    without case and underscores: ``test_LinearClassifier`` ~ ``test_linear_classifier``).
    A module's ``TESTS_OF`` overrides it. Raises when no test is found.
    """
    if overrides and grade_id in overrides:
        found = tuple(overrides[grade_id])
        missing = set(found) - set(suite_tests)
        if missing:
            raise ValueError(f"TESTS_OF[{grade_id!r}] names unknown tests {sorted(missing)}")
        return found
    wanted = _squash(f"test_{grade_id}")
    found = tuple(t for t in suite_tests if _squash(t.split("[")[0]) == wanted)
    if not found:
        raise ValueError(f"no suite test grades the cell {grade_id!r} of {assignment} (looked "
                         f"for test_{grade_id}); add it to the module's TESTS_OF")
    return found


# ------------------------------------------------------------------------- trivial bodies
TRIVIAL_KINDS = ("raise", "return_0", "return_none", "echo_first_argument", "zeros", "ones")
#: Kinds that wrap the right answer: the result keeps its structure, shapes and dtypes, and
#: every number is replaced by this constant.
_FILLED_KINDS = {"zeros": 0, "ones": 1}

_FILL_HELPER = '''
def _trivial_filled_like(value, fill):
    """``value`` with every number replaced by ``fill`` (arrays, numbers, containers)."""
    if isinstance(value, np.ndarray):
        return np.full_like(value, fill)
    if isinstance(value, (bool, np.bool_)):
        return bool(fill)
    if isinstance(value, (int, float, complex, np.number)):
        return type(value)(fill)
    if isinstance(value, (tuple, list)):
        return type(value)(_trivial_filled_like(v, fill) for v in value)
    if isinstance(value, dict):
        return {k: _trivial_filled_like(v, fill) for k, v in value.items()}
    return None
'''


@dataclass(frozen=True)
class TrivialVariant:
    grade_id: str                # the solution cell whose code was made trivial
    kind: str                    # one of TRIVIAL_KINDS
    replace: dict[str, str]      # grade_id -> the trivial cell source
    tests: tuple[str, ...]       # short names of the tests that must score 0

    @property
    def name(self) -> str:
        return f"{self.grade_id}-{self.kind}"


def _first_argument(fn: ast.FunctionDef, is_method: bool) -> str | None:
    positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    if is_method and not any(isinstance(d, ast.Name) and d.id == "staticmethod"
                             for d in fn.decorator_list):
        positional = positional[1:]
    return positional[0] if positional else None


def _trivial_statement(kind: str, fn: ast.FunctionDef, is_method: bool) -> ast.stmt:
    if kind == "raise":
        return ast.parse("raise NotImplementedError").body[0]
    if fn.name == "__init__" or kind == "return_none":
        return ast.parse("return None").body[0]
    if kind == "return_0":
        return ast.parse("return 0").body[0]
    if kind == "echo_first_argument":
        first = _first_argument(fn, is_method)
        return ast.parse(f"return {first}" if first else "return None").body[0]
    raise ValueError(f"no plain trivial statement for kind {kind!r}")


def _with_body(fn: ast.FunctionDef, statement: ast.stmt) -> ast.FunctionDef:
    fn = copy.deepcopy(fn)
    docstring = fn.body[:1] if ast.get_docstring(fn) is not None else []
    fn.body = [*docstring, statement]
    return fn


def trivial_cell(source: str, kind: str) -> str | None:
    """The cell ``source`` with every function and method body made trivial (other
    statements kept), or None when the kind does not apply (``zeros``/``ones`` for cells that
    define classes, any kind for cells that define nothing)."""
    tree = ast.parse(source)
    definitions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    if not definitions:
        return None
    if kind in _FILLED_KINDS:
        if any(isinstance(n, ast.ClassDef) for n in definitions):
            return None
        out = [_FILL_HELPER.strip()]
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                out.append(ast.unparse(node))
                continue
            original = copy.deepcopy(node)
            original.name = f"_trivial_original_{node.name}"
            out.append(ast.unparse(original))
            out.append(f"def {node.name}(*args, **kwargs):\n"
                       f"    return _trivial_filled_like(_trivial_original_{node.name}"
                       f"(*args, **kwargs), {_FILLED_KINDS[kind]})")
        return "\n\n\n".join(out) + "\n"
    body = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            node = _with_body(node, _trivial_statement(kind, node, False))
        elif isinstance(node, ast.ClassDef):
            node = copy.deepcopy(node)
            node.body = [_with_body(m, _trivial_statement(kind, m, True))
                         if isinstance(m, ast.FunctionDef) else m for m in node.body]
        body.append(node)
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n"


def trivial_variants(assignment: str, suite_tests: list[str],
                     overrides: dict[str, tuple[str, ...]] | None = None,
                     exempt: dict[tuple[str, str], str] | None = None
                     ) -> list[TrivialVariant]:
    """Every (graded cell, trivial kind) submission of ``assignment`` that must score 0 on
    the cell's tests, minus the exempted (grade_id, kind) pairs."""
    exempt = exempt or {}
    unknown = {key for key in exempt if key[0] not in solution_cells(assignment)
               or key[1] not in TRIVIAL_KINDS}
    if unknown:
        raise ValueError(f"TRIVIAL_EXEMPT names unknown (grade_id, kind) pairs {sorted(unknown)}")
    out = []
    for grade_id, source in solution_cells(assignment).items():
        tests = tests_of_cell(assignment, grade_id, suite_tests, overrides)
        for kind in TRIVIAL_KINDS:
            if (grade_id, kind) in exempt:
                continue
            cell = trivial_cell(source, kind)
            if cell is not None:
                out.append(TrivialVariant(grade_id, kind, {grade_id: cell}, tests))
    return out
