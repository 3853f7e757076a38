"""Every lecture in a real JupyterLab: runs clean, widgets render as widgets and work with the
keyboard.

For each ``lectures/*.ipynb`` (and the course map): open it, run all cells, wait for the kernel
to go idle, and check that no cell shows an error and that every widget output is rendered as a
widget (not as its text repr, not "Error displaying widget"). Then, for **every** cell of a
lecture that shows a slider next to a figure, use the keyboard only, as a reader who cannot use
a mouse would: start from the slider's description label, press Tab until the slider's handle
has the focus (a few presses at most), press an arrow key, and check that the slider's value
and the figure's image both change. A screenshot of each notebook is saved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .lab import NotebookPage, _with_find_panel

ROOT = Path(__file__).resolve().parent.parent.parent
LECTURES = sorted(p.name for p in ROOT.glob("lectures/*.ipynb"))
MAX_TABS = 6  # from a slider's label to its handle; more means the handle is not in tab order

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_MARK_CELL = _with_find_panel("""
([path, index]) => {
  document.querySelectorAll('[data-course-test]').forEach((n) => n.removeAttribute('data-course-test'));
  findPanel(path).content.widgets[index].node.setAttribute('data-course-test', 'keyboard-cell');
}
""")

_FOCUS_ON_FIRST_HANDLE = """
() => {
  const cell = document.querySelector('[data-course-test="keyboard-cell"]');
  const handle = cell && cell.querySelector('.widget-slider .noUi-handle');
  return !!handle && document.activeElement === handle;
}
"""

_FIRST_SLIDER_VALUE = """
() => {
  const cell = document.querySelector('[data-course-test="keyboard-cell"]');
  const handle = cell.querySelector('.widget-slider .noUi-handle');
  const readout = cell.querySelector('.widget-slider .widget-readout');
  return [handle.getAttribute('aria-valuenow'), readout ? readout.textContent : ''];
}
"""


def _check_runs_clean(notebook: NotebookPage) -> None:
    notebook.run_all()
    errors = notebook.errors()
    assert not errors, f"{notebook.path} shows errors:\n" + "\n".join(map(str, errors))
    skipped = notebook.unexecuted_code_cells()
    assert not skipped, f"{notebook.path}: code cells {skipped} did not run"
    problems, _ = notebook.widget_problems()
    assert not problems, f"{notebook.path}: widgets not rendered:\n" + "\n".join(problems)


def tab_to_first_slider(notebook: NotebookPage, index: int) -> int:
    """Put the keyboard's starting point on the first slider's description label of cell
    ``index`` (a click on text, which cannot take the focus itself), then press Tab until that
    slider's handle has the focus. Returns the number of Tab presses."""
    page = notebook.page
    page.evaluate(_MARK_CELL, [notebook.path, index])
    label = page.locator('[data-course-test="keyboard-cell"] .widget-slider .widget-label').first
    label.scroll_into_view_if_needed()
    label.click()
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate(_FOCUS_ON_FIRST_HANDLE):
            return presses
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML"
                            ".slice(0, 200)")
    raise AssertionError(f"{notebook.path}, cell {index}: {MAX_TABS} presses of Tab from the "
                         f"slider's label never focused its handle; the focus is on {focused}")


def move_with_arrow_keys(notebook: NotebookPage) -> tuple[list[str], list[str]]:
    """With the handle focused, press the right arrow (or the left one, at the end of the
    range). Returns the slider's value before and after."""
    page = notebook.page
    before = page.evaluate(_FIRST_SLIDER_VALUE)
    after = before
    for key in ("ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
        page.wait_for_timeout(300)
        after = page.evaluate(_FIRST_SLIDER_VALUE)
        if after != before:
            break
    return before, after


@pytest.mark.parametrize("name", LECTURES)
def test_lecture_runs_and_its_widgets_work_with_the_keyboard(page, lab, artifacts_dir, name):
    notebook = NotebookPage(page, lab, f"lectures/{name}").open()
    try:
        _check_runs_clean(notebook)
        _, widget_count = notebook.widget_problems()
        assert widget_count, f"{name} shows no widget at all"
        sliders = notebook.slider_cells()
        assert sliders, f"{name}: no cell shows a slider together with a figure"
        for cell in sliders:
            before_images = notebook.images(cell)
            tab_to_first_slider(notebook, cell)
            before, after = move_with_arrow_keys(notebook)
            assert after != before, \
                f"{name}: the arrow keys did not move the slider in cell {cell} ({before})"
            new_images = notebook.wait_for_new_image(cell, before_images)
            assert new_images != before_images, \
                f"{name}: moving the slider in cell {cell} from {before} to {after} with the " \
                "keyboard left the figure unchanged"
        errors = notebook.errors()
        assert not errors, "errors after moving the sliders:\n" + "\n".join(map(str, errors))
        problems, _ = notebook.widget_problems()
        assert not problems, "\n".join(problems)
    finally:
        notebook.screenshot(artifacts_dir, f"lecture-{Path(name).stem}")
        notebook.shut_down_kernel()


@pytest.mark.skipif(not (ROOT / "course_map.ipynb").exists(), reason="no course_map.ipynb yet")
def test_course_map_runs_clean(page, lab, artifacts_dir):
    notebook = NotebookPage(page, lab, "course_map.ipynb").open()
    try:
        _check_runs_clean(notebook)
    finally:
        notebook.screenshot(artifacts_dir, "course_map")
        notebook.shut_down_kernel()
