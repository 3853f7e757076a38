"""Learner comforts: what a student sees before and while running a notebook.

What is checked, and how:

- **First cell** of every notebook (lectures, course map, solutions, exercises): a markdown cell
  with a ``#`` title that says what the notebook covers, how long it takes (a number of minutes
  or hours) and what to do (run the cells / Shift+Enter / how to work). Checked by wording, so
  it catches a missing part, not a badly written one.
- **Figures** (slow): every lecture, the course map and every solution notebook is executed
  with a kernel-side hook injected as an extra first cell. The hook wraps
  ``matplotlib.figure.Figure.draw``, which runs for every figure a student actually sees
  (inline plots and every redraw of a widget figure), and records each drawn axes that shows
  something but has no title (its own or the figure's suptitle) or, when its axis is shown,
  no x or y label (its own, a shared sibling's, or the figure's supxlabel/supylabel).
  Colorbars and hidden or empty axes are skipped; an axis with no ticks (``axis("off")``,
  ``set_xticks([])``: pictures, drawn graphs) has no scale, so it needs no label, only a title. Figures that are created but never drawn are not seen by students and not checked.
- **Progress bars**: which cells run long is a matter of wall time, so it is measured by
  ``benchmarks/notebook_cell_times.py`` (never by a test: the suite must pass on a loaded
  machine); its detector, ``helpers.progress_bars.slow_cells_without_progress``, is unit-tested
  in ``tests/test_progress_bar_detector.py``.
- **Error messages** of ``utils/`` (static): every ``raise`` of an exception class carries a
  message of at least four words (a string, an f-string or a variable holding one); a bare
  ``raise SomeError`` or ``raise SomeError()`` is reported.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, exercise_notebooks, lecture_notebooks, solution_notebooks
from helpers.notebooks import run_cells

MARKER = "@@course-figure-problems@@"

DURATION = re.compile(r"\b\d+(?:\s*(?:to|-|–)\s*\d+)?\s*(?:minutes?|mins?|hours?|h)\b", re.I)
COVERS = re.compile(r"\b(?:cover|covers|what you will|you will|"
                    r"this (?:notebook|lecture|exercise|page|course))", re.I)
TO_DO = re.compile(r"\b(?:what to do|how to work|how to use|run the cells|shift\+enter|"
                   r"start here|start with|begin with|what to open|click)", re.I)


def _course_map() -> list[Path]:
    return [p for p in [ROOT / "course_map.ipynb"] if p.exists()]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


ALL_NOTEBOOKS = [*_course_map(), *lecture_notebooks(), *solution_notebooks(),
                 *exercise_notebooks()]
RUN_NOTEBOOKS = [*_course_map(), *lecture_notebooks(), *solution_notebooks()]


# ------------------------------------------------------------------ first cell


def first_cell_problems(source: str) -> list[str]:
    """What the opening markdown is missing (empty list when it has everything)."""
    problems = []
    if not source.lstrip().startswith("# "):
        problems.append("no '# ' title on the first line")
    if not COVERS.search(source):
        problems.append("does not say what it covers ('What this covers', 'What you will do')")
    if not DURATION.search(source):
        problems.append("does not say how long it takes (e.g. 'About 40 minutes')")
    if not TO_DO.search(source):
        problems.append("does not say what to do ('What to do', 'Run the cells ...')")
    return problems


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_id)
def test_notebook_opens_with_what_how_long_and_what_to_do(path):
    cells = nbformat.read(path, as_version=4).cells
    assert cells and cells[0].cell_type == "markdown", "the first cell must be markdown"
    problems = first_cell_problems(cells[0].source)
    assert not problems, f"{_id(path)} first cell: " + "; ".join(problems)


def test_first_cell_check_rejects_an_incomplete_introduction():
    assert first_cell_problems("# Title\n\n**Time.** About 20 minutes.") == [
        "does not say what it covers ('What this covers', 'What you will do')",
        "does not say what to do ('What to do', 'Run the cells ...')"]
    assert not first_cell_problems("# T\nWhat this covers: x.\nTime: 2 to 3 hours.\n"
                                   "What to do: run the cells.")


# ------------------------------------------------------------------ figures and progress bars

FIGURE_HOOK = r'''
import json as _course_json
import matplotlib.figure as _course_mpl_figure


def _course_text(artist):
    return artist.get_text().strip() if artist is not None else ""


def _course_figure_problems(fig):
    problems = []
    suptitle = _course_text(getattr(fig, "_suptitle", None))
    supx = _course_text(getattr(fig, "_supxlabel", None))
    supy = _course_text(getattr(fig, "_supylabel", None))
    for number, ax in enumerate(fig.axes):
        if not ax.get_visible() or ax.get_label() == "<colorbar>" or hasattr(ax, "_colorbar"):
            continue
        if not (ax.lines or ax.collections or ax.images or ax.patches or ax.texts
                or ax.tables or ax.artists):
            continue
        title = " / ".join(t for t in (ax.get_title(loc=loc) for loc in ("left", "center", "right")) if t)
        name = f"axes {number} ({title or suptitle or 'untitled'})"
        if not (title or suptitle):
            problems.append(f"{name}: no title")
        if ax.axison:  # an axis without ticks (a picture, a drawn graph) has no scale to label
            xs = ax.get_shared_x_axes().get_siblings(ax)
            ys = ax.get_shared_y_axes().get_siblings(ax)
            if len(ax.get_xticks()) and not (supx or any(a.get_xlabel().strip() for a in xs)):
                problems.append(f"{name}: no x-axis label")
            if len(ax.get_yticks()) and not (supy or any(a.get_ylabel().strip() for a in ys)):
                problems.append(f"{name}: no y-axis label")
    return problems


_course_seen_problems = set()
_course_original_draw = _course_mpl_figure.Figure.draw
_course_cells_run = [0]  # code cells started after this one: 1 is the next code cell


def _course_count_cell(info):
    _course_cells_run[0] += 1


def _course_checked_draw(self, renderer):
    for problem in _course_figure_problems(self):
        _course_seen_problems.add((_course_cells_run[0], problem))
    return _course_original_draw(self, renderer)


get_ipython().events.register("pre_run_cell", _course_count_cell)
_course_mpl_figure.Figure.draw = _course_checked_draw
'''

REPORT = f'print("{MARKER}" + _course_json.dumps(sorted(_course_seen_problems)))'


@functools.cache
def run_with_hooks(path: Path) -> tuple[nbformat.NotebookNode, list[tuple[int, str]]]:
    """Execute a notebook with the figure hook; returns it and (cell index, problem) pairs."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(FIGURE_HOOK))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    run_cells(nb, path.parent, timeout=1200)
    report = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", [])
                     if o.get("output_type") == "stream")
    assert MARKER in report, f"the figure hook did not report: {nb.cells[-1].get('outputs')}"
    raw = json.loads(report.split(MARKER, 1)[1].strip())
    # The n-th code cell after the hook cell, as its index in the original notebook.
    code_cells = [i - 1 for i, c in enumerate(nb.cells) if c.cell_type == "code" and i > 0]
    return nb, [(code_cells[n - 1], problem) for n, problem in raw]


@pytest.mark.slow
@pytest.mark.parametrize("path", RUN_NOTEBOOKS, ids=_id)
def test_every_drawn_figure_has_a_title_and_axis_labels(path):
    _, problems = run_with_hooks(path)
    assert not problems, f"{_id(path)}: figures without title or axis labels:\n" + \
        "\n".join(f"cell {index}: {problem}" for index, problem in problems)


def test_figure_hook_reports_a_figure_without_labels(tmp_path):
    """The hook must be able to fail: an unlabelled plot is reported, a labelled one is not."""
    path = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Probe"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
                                  "plt.plot([1, 2]); plt.show()"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(); ax.plot([1, 2])\n"
                                  "ax.set(title='t', xlabel='x', ylabel='y'); plt.show()"),
    ]), path)
    run_with_hooks.cache_clear()
    _, problems = run_with_hooks(path)
    assert problems == [(1, "axes 0 (untitled): no title"),
                        (1, "axes 0 (untitled): no x-axis label"),
                        (1, "axes 0 (untitled): no y-axis label")]


# ------------------------------------------------------------------ error messages of utils/


def _message_words(node: ast.expr) -> int | None:
    """Words in a literal message, or None when the message is not a literal (a variable)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return len(node.value.split())
    if isinstance(node, ast.JoinedStr):
        return sum(len(v.value.split()) for v in node.values
                   if isinstance(v, ast.Constant)) + sum(
            1 for v in node.values if isinstance(v, ast.FormattedValue))
    if isinstance(node, ast.BinOp):
        parts = [_message_words(node.left), _message_words(node.right)]
        return None if None in parts else sum(parts)
    return None


def vague_raises(source: str) -> list[int]:
    """Line numbers of ``raise Error`` / ``raise Error()`` / ``raise Error("two words")``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue  # a bare ``raise`` re-raises the error being handled
        exc = node.exc
        if isinstance(exc, ast.Name) and exc.id[:1].isupper():
            lines.append(node.lineno)  # an exception class raised without a message
        elif isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name | ast.Attribute):
            if not exc.args and not exc.keywords:
                lines.append(node.lineno)
            elif exc.args:
                words = _message_words(exc.args[0])
                if words is not None and words < 4:
                    lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", sorted((ROOT / "utils").rglob("*.py")), ids=_id)
def test_utils_errors_say_what_went_wrong(path):
    vague = vague_raises(path.read_text(encoding="utf-8"))
    assert not vague, f"{_id(path)}: errors without a message in words at lines {vague}"


def test_vague_raise_check_can_fail():
    assert vague_raises("def f():\n    raise ValueError\n") == [2]
    assert vague_raises("def f():\n    raise ValueError()\n") == [2]
    assert vague_raises("def f(x):\n    raise ValueError(f'bad {x}')\n") == [2]
    assert vague_raises("def f(x):\n    raise ValueError(f'x must be positive, got {x}.')\n") == []


# ------------------------------------------------------------------ times on the course map

_MAP_LINK = re.compile(r"\]\(((?:lectures|exercises)/[^)]+\.ipynb)\) \(([^)]*)\)")


def _minutes(text: str) -> tuple[float, float]:
    """(low, high) minutes of the first duration in ``text`` ('about 40 minutes', '2 to 3 hours')."""
    match = DURATION.search(text)
    assert match, f"no duration in {text!r}"
    numbers = [float(n) for n in re.findall(r"\d+", match.group(0))]
    scale = 60.0 if re.search(r"hours?|\bh\b", match.group(0), re.I) else 1.0
    return numbers[0] * scale, numbers[-1] * scale


def test_course_map_times_are_the_notebooks_own():
    """Every notebook linked in the course map's table carries the time its own first cell
    states (a lecture that says 60 minutes is not announced as 30 to 45)."""
    source = nbformat.read(ROOT / "course_map.ipynb", as_version=4).cells[2].source
    links = _MAP_LINK.findall(source)
    assert len({path for path, _ in links}) == 10, links  # five lectures, five exercises
    total_low = total_high = 0.0
    for path, stated in links:
        first = nbformat.read(ROOT / path, as_version=4).cells[0].source
        own = _minutes(first.split("**Time.**", 1)[1])
        assert _minutes(stated) == own, f"course map says {stated!r} for {path}; it says {own}"
    for path in {path for path, _ in links}:
        first = nbformat.read(ROOT / path, as_version=4).cells[0].source
        low, high = _minutes(first.split("**Time.**", 1)[1])
        total_low, total_high = total_low + low, total_high + high
    intro = nbformat.read(ROOT / "course_map.ipynb", as_version=4).cells[0].source
    low, high = (float(n) for n in re.search(r"About (\d+) to (\d+) hours in all", intro).groups())
    assert (low, high) == (round(total_low / 60), round(total_high / 60)), (total_low, total_high)
