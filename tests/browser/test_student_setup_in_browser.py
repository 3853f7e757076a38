"""The student release in JupyterLab: student nbgrader tools on, instructor tools off."""

from __future__ import annotations

import pytest

from .lab import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_server_loads_student_extensions_only(lab):
    assert lab.status("nbgrader_version?version=0.9.6") == 200, "validate extension missing"
    assert lab.status("formgrader") == 404, "formgrader must be off in the student release"
    assert lab.status("api/status") == 200


def test_lab_shows_validate_and_assignment_list_but_no_instructor_tools(page, lab,
                                                                       artifacts_dir):
    exercise = sorted(lab.root.glob("exercises/*/*.ipynb"))[0].relative_to(lab.root)
    notebook = NotebookPage(page, lab, exercise.as_posix()).open()
    page.locator(".jp-NotebookPanel .validate-button").first.wait_for(state="visible")
    commands = page.evaluate("() => window.jupyterapp.commands.listCommands()")
    assert "nbgrader:open-assignment-list" in commands
    for instructor in ("nbgrader:open-formgrader", "nbgrader:open-create-assignment",
                       "nbgrader:open-course-list"):
        assert instructor not in commands, f"{instructor} must be off for students"
    page.get_by_role("menuitem", name="Nbgrader").click()
    menu = page.locator(".lm-Menu").last
    menu.wait_for(state="visible")
    items = menu.inner_text()
    assert "Assignment List" in items and "Formgrader" not in items, items
    page.keyboard.press("Escape")
    assert not page.get_by_text("Create Assignment", exact=True).count()
    widgets = page.evaluate("() => [...window.jupyterapp.shell.widgets('right')].map(w => w.id)")
    assert not [w for w in widgets if "create" in w.lower()], widgets
    notebook.screenshot(artifacts_dir, "student-setup")
    notebook.shut_down_kernel()
