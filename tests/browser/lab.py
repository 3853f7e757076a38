"""A real JupyterLab for browser tests, and a driver for one notebook in it.

``start_lab`` runs ``jupyter lab`` on 127.0.0.1 (free port, random token) with every Jupyter
folder isolated under one scratch folder (config, data, runtime, settings, workspaces), the news
and update checks off, and the whole notebook kept in the page (``windowingMode: none``) so that
every cell's output can be inspected. ``window.jupyterapp`` is exposed so the tests can ask the
notebook model for outputs instead of guessing from pixels; everything a student sees (widgets,
figures, the Validate dialog) is checked in the rendered page.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from helpers.notebooks import CellError

# Text a widget shows when it could not be rendered: the Python repr (``IntSlider(value=3, ...)``)
# when the widget manager is missing, or the error box of the manager.
WIDGET_REPR = r"\b[A-Za-z]*(?:Slider|Box|Dropdown|Button|Buttons|Checkbox|Text|Output|Play|Tab|" \
              r"Accordion|Progress|HTML|Label|ToggleButton|interactive)\((?:\)|[a-z_]+=)"
BROKEN_WIDGET_TEXTS = ("Error displaying widget", "Loading widget...")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running ``jupyter lab``; ``url(path)`` gives an authenticated address."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen
    log_path: Path
    config_dir: Path
    env: dict = field(repr=False, default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def status(self, path: str) -> int:
        """HTTP status of an authenticated GET (404 for a handler that is not loaded)."""
        request = urllib.request.Request(f"{self.base}/{path.lstrip('/')}",
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def isolated_jupyter_env(scratch: Path, served_root: Path) -> dict[str, str]:
    """Environment for a Jupyter server whose settings live only under ``scratch``.

    ``JUPYTER_CONFIG_PATH`` puts ``scratch/config`` above the Python environment's config, so
    what the course's postBuild writes there wins, as it does on Binder. ``PYTHONPATH`` makes
    kernels import ``utils`` from the served copy of the course.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    for name in ("config", "data", "runtime", "ipython"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    env.update(JUPYTER_CONFIG_DIR=str(scratch / "config"),
               JUPYTER_CONFIG_PATH=str(scratch / "config"),
               JUPYTER_DATA_DIR=str(scratch / "data"),
               JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
               IPYTHONDIR=str(scratch / "ipython"),
               PYTHONPATH=str(served_root),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MPLBACKEND", None)  # kernels use the inline backend, as for a student
    return env


def write_lab_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def start_lab(served_root: Path, scratch: Path, timeout: float = 120) -> LabServer:
    """Start ``jupyter lab`` serving ``served_root``; returns once its API answers."""
    env = isolated_jupyter_env(scratch, served_root)
    settings, workspaces = scratch / "settings", scratch / "workspaces"
    write_lab_settings(settings)
    workspaces.mkdir(exist_ok=True)
    port, token = free_port(), secrets.token_hex(24)
    log_path = scratch / "jupyterlab.log"
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={served_root}", "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # CI containers run as root
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, cwd=served_root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = LabServer(served_root, port, token, process, log_path, scratch / "config", env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{server.log()}")
        if _port_open(port) and server.status("api/status") == 200:
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{server.log()}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ------------------------------------------------------------------ driving one notebook

_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.model) return w;
  }
  return null;
};
"""


def _with_find_panel(function: str) -> str:
    """A JS function of one argument that can call ``findPanel(path)``."""
    return f"(arg) => {{ {_FIND_PANEL} return ({function.strip()})(arg); }}"


_READY = _with_find_panel("""
(path) => {
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady || !panel.sessionContext.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}
""")

_RUN_FROM = _with_find_panel("""
async ([path, index, limitMs]) => {
  const panel = findPanel(path);
  panel.content.activeCellIndex = index;
  panel.content.deselectAll();
  const run = window.jupyterapp.commands.execute('notebook:run-all-below');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), limitMs));
  return String(await Promise.race([run, timeout]));
}
""")

_SETTLED = _with_find_panel("""
(path) => {
  const panel = findPanel(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const prompts = [...panel.node.querySelectorAll('.jp-InputPrompt')];
  return !prompts.some((p) => p.textContent.includes('*'));
}
""")

_OUTPUTS = _with_find_panel("""
(path) => {
  const panel = findPanel(path);
  const cells = panel.content.model.cells;
  const result = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    result.push({type: cell.type,
                 outputs: cell.type === 'code' ? cell.outputs.toJSON() : [],
                 executed: cell.type === 'code' ? cell.executionCount : null});
  }
  return result;
}
""")

_WIDGET_PROBLEMS = _with_find_panel("""
([path, reprPattern, brokenTexts]) => {
  const panel = findPanel(path);
  const problems = [];
  const repr = new RegExp(reprPattern);
  const cells = panel.content.widgets;
  let widgets = 0;
  cells.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const nodes = [...cell.node.querySelectorAll('.jp-OutputArea-child > .jp-OutputArea-output')];
    outputs.forEach((output, k) => {
      const data = output.data || {};
      const node = nodes[k];
      if (data['application/vnd.jupyter.widget-view+json']) {
        widgets += 1;
        if (!node || !node.querySelector('.jupyter-widgets')) {
          problems.push(`cell ${index}: widget output ${k} is not rendered as a widget: ` +
                        (node ? node.innerText.slice(0, 200) : 'no output node'));
        }
      }
    });
    const text = cell.node.querySelector('.jp-Cell-outputWrapper')?.innerText || '';
    for (const broken of brokenTexts) {
      if (text.includes(broken)) problems.push(`cell ${index}: shows "${broken}"`);
    }
    const match = text.match(repr);
    if (match) problems.push(`cell ${index}: shows a widget as text: ${match[0]}...`);
  });
  return {problems, widgets};
}
""")

_SLIDER_CELLS = _with_find_panel("""
(path) => {
  const panel = findPanel(path);
  const found = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.node.querySelector('.widget-slider .noUi-handle') &&
        cell.node.querySelector('.jp-Cell-outputWrapper img')) found.push(index);
  });
  return found;
}
""")

_CELL_IMAGES = _with_find_panel("""
([path, index]) => {
  const cell = findPanel(path).content.widgets[index];
  return [...cell.node.querySelectorAll('.jp-Cell-outputWrapper img')].map((img) => img.src);
}
""")

_MARK_CELL = _with_find_panel("""
([path, index]) => {
  document.querySelectorAll('[data-course-test]').forEach((n) => n.removeAttribute('data-course-test'));
  findPanel(path).content.widgets[index].node.setAttribute('data-course-test', 'slider-cell');
}
""")

_SHUTDOWN = _with_find_panel("""
async (path) => {
  const panel = findPanel(path);
  if (panel) await panel.sessionContext.shutdown();
}
""")

_SLIDER_VALUE = _with_find_panel("""
([path, index]) => {
  const cell = findPanel(path).content.widgets[index];
  const handle = cell.node.querySelector('.widget-slider .noUi-handle');
  const readout = cell.node.querySelector('.widget-slider .widget-readout');
  return [handle.getAttribute('aria-valuenow'), readout ? readout.textContent : ''];
}
""")


class NotebookPage:
    """One notebook opened in JupyterLab in a Playwright page.

    Inputs:
    - page: a Playwright ``Page``; lab: the ``LabServer``; path: notebook path relative to the
      served root (forward slashes).
    """

    def __init__(self, page, lab: LabServer, path: str):
        self.page, self.lab, self.path = page, lab, path

    def open(self, timeout_s: float = 180) -> NotebookPage:
        # ?reset: start from an empty workspace, so only this notebook is open
        self.page.goto(self.lab.url(f"lab/tree/{self.path}") + "&reset")
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                                    timeout=timeout_s * 1000)
        self.page.wait_for_function(_READY, arg=self.path, timeout=timeout_s * 1000,
                                    polling=500)
        return self

    def run_all(self, continue_after_errors: bool = False, timeout_s: float = 900) -> None:
        """Run every cell from the top, like "Run All", and wait until the kernel is idle.

        JupyterLab stops a run at the first error; with ``continue_after_errors`` the run goes
        on from the cell after each error (what a student does after reading the error), so
        every cell gets executed once.
        """
        start, deadline = 0, time.monotonic() + timeout_s
        while True:
            remaining_ms = max(1000, int(1000 * (deadline - time.monotonic())))
            result = self.page.evaluate(_RUN_FROM, [self.path, start, remaining_ms])
            if result == "timeout":
                raise AssertionError(f"{self.path}: cells still running after {timeout_s} s")
            self.wait_until_settled(max(5.0, deadline - time.monotonic()))
            later = [e for e in self.errors() if e.index >= start]
            if not continue_after_errors or not later:
                return
            start = later[0].index + 1
            if start >= self.cell_count():
                return

    def wait_until_settled(self, timeout_s: float) -> None:
        """Kernel idle and no cell queued or running, twice in a row half a second apart."""
        deadline = time.monotonic() + timeout_s
        calm = 0
        while calm < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.path}: the kernel did not become idle in time")
            calm = calm + 1 if self.page.evaluate(_SETTLED, self.path) else 0
            time.sleep(0.5)

    def cells(self) -> list[dict]:
        return self.page.evaluate(_OUTPUTS, self.path)

    def cell_count(self) -> int:
        return len(self.cells())

    def errors(self) -> list[CellError]:
        found = []
        for index, cell in enumerate(self.cells()):
            for output in cell["outputs"]:
                if output.get("output_type") == "error":
                    found.append(CellError(index, output.get("ename", ""),
                                           output.get("evalue", "")))
        return found

    def unexecuted_code_cells(self) -> list[int]:
        return [i for i, c in enumerate(self.cells()) if c["type"] == "code" and not c["executed"]]

    def printed_text(self) -> str:
        parts = []
        for cell in self.cells():
            for output in cell["outputs"]:
                if output.get("output_type") == "stream":
                    text = output.get("text", "")
                    parts.append("".join(text) if isinstance(text, list) else text)
        return "".join(parts)

    def widget_problems(self) -> tuple[list[str], int]:
        """Problems with rendered widgets, and how many widget outputs there are."""
        result = self.page.evaluate(_WIDGET_PROBLEMS,
                                    [self.path, WIDGET_REPR, list(BROKEN_WIDGET_TEXTS)])
        return result["problems"], result["widgets"]

    def slider_cells(self) -> list[int]:
        """Indices of cells whose output shows a slider and an image (a widget with a figure)."""
        return self.page.evaluate(_SLIDER_CELLS, self.path)

    def images(self, index: int) -> list[str]:
        return self.page.evaluate(_CELL_IMAGES, [self.path, index])

    def move_slider(self, index: int) -> tuple[list[str], list[str]]:
        """Move the first slider of cell ``index`` one step with the keyboard (right, or left
        at the end of its range). Returns the slider value before and after."""
        self.page.evaluate(_MARK_CELL, [self.path, index])
        handle = self.page.locator('[data-course-test="slider-cell"] .widget-slider .noUi-handle') \
            .first
        handle.scroll_into_view_if_needed()
        before = self.page.evaluate(_SLIDER_VALUE, [self.path, index])
        handle.focus()
        for key in ("ArrowRight", "ArrowLeft"):
            handle.press(key)
            self.page.wait_for_timeout(300)
            after = self.page.evaluate(_SLIDER_VALUE, [self.path, index])
            if after != before:
                return before, after
        return before, after

    def wait_for_new_image(self, index: int, old: list[str], timeout_s: float = 30) -> list[str]:
        """Wait until the images of cell ``index`` differ from ``old`` and the kernel is idle."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = self.images(index)
            if now and now != old:
                self.wait_until_settled(max(5.0, deadline - time.monotonic()))
                return self.images(index)
            time.sleep(0.25)
        return self.images(index)

    def validate(self, timeout_s: float = 900) -> tuple[str, str]:
        """Click nbgrader's Validate button; returns the result's CSS class and its text."""
        button = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button")
        button.first.click()
        message = self.page.locator("#validation-message")
        message.wait_for(state="visible", timeout=timeout_s * 1000)
        classes = message.get_attribute("class") or ""
        text = message.inner_text()
        self.page.locator(".jp-Dialog .jp-Dialog-button").last.click()
        return classes, text

    def shut_down_kernel(self) -> None:
        """Stop this notebook's kernel (the server keeps kernels alive after a page closes)."""
        self.page.evaluate(_SHUTDOWN, self.path)

    def screenshot(self, folder: Path, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
