"""Fixtures for the browser tests: a student release served by a real JupyterLab, and Chromium.

The served folder is a fresh student release (tools/build_release.py) in a scratch folder, with
the release's own ``postBuild`` applied to the scratch Jupyter config, so the browser sees what
a student on Binder sees: no solutions, instructor extensions off, Validate on.

Chromium is Debian's ``/usr/bin/chromium`` (or ``$CHROMIUM``); Playwright never downloads a
browser here. Without Chromium or Playwright the tests are skipped with the reason, except
under CI (``CI`` set to anything but ``false``/``0``/empty), where they fail.
Screenshots go to ``$ARTIFACTS_DIR/screenshots`` or ``artifacts/screenshots``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.ci import skip_or_fail
from helpers.loading import module_from_file

from .lab import CHROMIUM_ARGS, start_lab

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def _unavailable(reason: str) -> None:
    skip_or_fail(reason, " (CI is set, so the browser tests must run: install it)")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    base = Path(os.environ["ARTIFACTS_DIR"]) if os.environ.get("ARTIFACTS_DIR") \
        else ROOT / "artifacts"
    folder = base / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def served_course(tmp_path_factory) -> Path:
    """A fresh student release in a scratch folder (the browser may write into it)."""
    return module_from_file(ROOT / "tools" / "build_release.py").build(tmp_path_factory.mktemp("served") / "student")


@pytest.fixture(scope="session")
def lab(served_course, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("jupyter")
    (scratch / "config").mkdir()
    env = dict(os.environ, COURSE_JUPYTER_CONFIG_DIR=str(scratch / "config"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(["bash", str(served_course / "postBuild")], env=env, check=True,
                   capture_output=True, text=True)
    server = start_lab(served_course, scratch)
    yield server
    server.stop()
    log = scratch / "jupyterlab.log"
    if os.environ.get("ARTIFACTS_DIR") and log.exists():
        shutil.copy(log, Path(os.environ["ARTIFACTS_DIR"]) / "jupyterlab.log")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (requirements-dev.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    messages: list[str] = []
    page.on("pageerror", lambda error: messages.append(str(error)))
    page.page_errors = messages
    yield page
    context.close()
