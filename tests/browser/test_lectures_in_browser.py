"""Every lecture in a real JupyterLab: runs clean, widgets render as widgets, a slider redraws.

For each ``lectures/*.ipynb`` (and the course map): open it, run all cells, wait for the kernel
to go idle, and check that no cell shows an error, that every widget output is rendered as a
widget (not as its text repr, not "Error displaying widget"), and, for lectures, that moving
one slider next to a figure changes the figure's image. A screenshot of each notebook is saved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .lab import NotebookPage

ROOT = Path(__file__).resolve().parent.parent.parent
LECTURES = sorted(p.name for p in ROOT.glob("lectures/*.ipynb"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _check_runs_clean(notebook: NotebookPage) -> None:
    notebook.run_all()
    errors = notebook.errors()
    assert not errors, f"{notebook.path} shows errors:\n" + "\n".join(map(str, errors))
    skipped = notebook.unexecuted_code_cells()
    assert not skipped, f"{notebook.path}: code cells {skipped} did not run"
    problems, _ = notebook.widget_problems()
    assert not problems, f"{notebook.path}: widgets not rendered:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", LECTURES)
def test_lecture_runs_and_its_widgets_work(page, lab, artifacts_dir, name):
    notebook = NotebookPage(page, lab, f"lectures/{name}").open()
    try:
        _check_runs_clean(notebook)
        _, widget_count = notebook.widget_problems()
        assert widget_count, f"{name} shows no widget at all"
        sliders = notebook.slider_cells()
        assert sliders, f"{name}: no cell shows a slider together with a figure"
        cell = sliders[0]
        before_images = notebook.images(cell)
        before, after = notebook.move_slider(cell)
        assert after != before, f"{name}: the slider in cell {cell} did not move ({before})"
        new_images = notebook.wait_for_new_image(cell, before_images)
        assert new_images != before_images, \
            f"{name}: moving the slider in cell {cell} from {before} to {after} left the " \
            "figure unchanged"
        errors = notebook.errors()
        assert not errors, "errors after moving the slider:\n" + "\n".join(map(str, errors))
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
