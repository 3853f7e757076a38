"""Replay the Binder build (repo2docker's Python buildpack) as far as this machine allows.

For two Binder targets, the course repository and the student release:

1. ``runtime.txt`` asks for the Python we run (3.11: nbgrader 0.9.6 needs it);
2. a fresh venv gets ``pip install -r requirements.txt``: a real install from the package
   index, as on Binder (about 40 s with a nearby index). Without a reachable index the test is
   skipped, and fails when ``CI`` is set;
3. ``postBuild`` runs when the target has one (``python`` on PATH is the fresh venv's);
4. the fresh venv's ``jupyter labextension list`` and ``jupyter server extension list`` show
   the widgets and nbgrader extensions enabled (and, in the student release, nbgrader's
   instructor parts disabled);
5. the fresh venv's ``jupyter lab`` starts in the target folder, serves the Binder start page
   ``lab/tree/course_map.ipynb`` with the widgets and nbgrader lab extensions in its page
   config, lists the course's folders, and starts a kernel for the course map that runs in the
   fresh venv and imports the course's ``utils``.

Not replayed: the Docker image itself (base image, apt.txt, the ``jovyan`` user).
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

import pytest
from conftest import ROOT
from helpers.ci import skip_or_fail
from helpers.loading import module_from_file

pytestmark = pytest.mark.slow

WIDGETS_LAB = "@jupyter-widgets/jupyterlab-manager"
NBGRADER_LAB = "@jupyter/nbgrader"
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "dist", "build", "artifacts", "__pycache__",
                                     "*.egg-info", "gradebook.db", ".ruff_cache", ".pytest_cache",
                                     ".ipynb_checkpoints", "grading_output")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _build_release(out: Path) -> Path:
    return module_from_file(ROOT / "tools" / "build_release.py").build(out)


def _target(kind: str, tmp: Path) -> Path:
    if kind == "repository":
        target = tmp / "repository"
        shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
        return target
    return _build_release(tmp / "student")


def _clean_env(venv_dir: Path, scratch: Path) -> dict[str, str]:
    """Environment of a Binder user: the fresh venv first on PATH, empty Jupyter user folders."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JUPYTER") and k not in {"PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND"}}
    for name in ("home-config", "data", "runtime"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    env.update(PATH=f"{venv_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               VIRTUAL_ENV=str(venv_dir), JUPYTER_CONFIG_DIR=str(scratch / "home-config"),
               JUPYTER_DATA_DIR=str(scratch / "data"), JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _run(args: list[str], cwd: Path, env: dict, timeout: float = 900) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    output = ANSI.sub("", result.stdout + result.stderr)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{output[-4000:]}"
    return output


def _require_index(python: Path, scratch: Path, env: dict) -> None:
    probe = subprocess.run([str(python), "-m", "pip", "download", "--no-deps", "--dest",
                            str(scratch / "probe"), "tqdm"], env=env, capture_output=True,
                           text=True, timeout=300)
    if probe.returncode != 0:
        reason = "the package index cannot be reached, so the Binder install cannot be replayed"
        skip_or_fail(reason, f":\n{probe.stderr[-1500:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str, method: str = "GET", body: dict | None = None
         ) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError):
        return 0, ""


def _run_in_kernel(connection_file: Path, code: str, timeout: float = 120) -> str:
    """Run ``code`` in a running kernel through its connection file; returns what it printed."""
    from jupyter_client import BlockingKernelClient

    deadline = time.monotonic() + timeout
    while not connection_file.exists():
        assert time.monotonic() < deadline, f"no kernel connection file {connection_file}"
        time.sleep(0.2)
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        printed = []
        reply = client.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda m: printed.append(m["content"].get("text", ""))
            if m["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(printed)
    finally:
        client.stop_channels()


def _grade_samples_in(python: Path, target: Path, tmp: Path, env: dict) -> None:
    """The README's grading command works in an environment built from requirements.txt
    alone (what ``course.py lab`` and Binder install): the samples are graded with the
    sandbox on, the correct one gets full marks, and no protection is reported lost."""
    out = tmp / "grading"
    _run([str(python), "-m", "autograder", "grade", "autograder/examples/submitted",
          "--assignment", "01_knn", "--out", str(out), "--jobs", "1", "--no-progress"],
         target, env)
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"correct_student", "partly_wrong_student", "untouched_release"}, rows
    assert rows["correct_student"]["score"] == rows["correct_student"]["max_score"], rows
    assert float(rows["untouched_release"]["score"]) == 0.0, rows
    run_info = json.loads((out / "run.json").read_text())
    assert run_info["sandbox_lost"] == [], run_info


@pytest.mark.parametrize("kind", ["repository", "student-release"])
def test_binder_build_replay(kind, tmp_path):
    target = _target(kind, tmp_path)
    runtime = (target / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", \
        f"runtime.txt says {runtime!r}; the course is tested on Python " \
        f"{sys.version_info.major}.{sys.version_info.minor}"

    venv_dir = tmp_path / "binder-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    python = venv_dir / "bin" / "python"
    env = _clean_env(venv_dir, tmp_path)
    _require_index(python, tmp_path, env)

    _run([str(python), "-m", "pip", "install", "-r", "requirements.txt"], target, env, 1800)
    post_build = target / "postBuild"
    if post_build.exists():
        assert os.access(post_build, os.X_OK), "Binder runs postBuild directly: chmod +x it"
        _run([str(post_build)], target, env)
    _run([str(python), "-c", "import utils.checks, utils.widgets, ipywidgets, nbgrader"],
         tmp_path, env)
    if kind == "repository":
        _grade_samples_in(python, target, tmp_path, env)

    jupyter = str(venv_dir / "bin" / "jupyter")
    labext = _run([jupyter, "labextension", "list"], target, env)
    for name in (WIDGETS_LAB, NBGRADER_LAB):
        assert re.search(rf"{re.escape(name)} v\S+ enabled\s+OK", labext), labext
    server = _run([jupyter, "server", "extension", "list"], target, env)
    for name in ("nbgrader.server_extensions.validate_assignment",
                 "nbgrader.server_extensions.assignment_list", "jupyterlab"):
        assert re.search(rf"{re.escape(name)} enabled", server), server
    if kind == "student-release":
        disabled = labext.split("Disabled extensions:", 1)[-1]
        for plugin in ("formgrader", "create-assignment", "course-list"):
            assert f"{NBGRADER_LAB}:{plugin}" in disabled, labext
        for extension in ("formgrader", "course_list"):
            assert re.search(rf"nbgrader.server_extensions.{extension} disabled", server), server

    port, token = _free_port(), secrets.token_hex(16)
    args = [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--port-retries=0", f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log_path = tmp_path / "lab.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(args, cwd=target, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while _get(f"{base}/api/status", token)[0] != 200:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "jupyter lab did not start:\n" + \
                log_path.read_text()
            time.sleep(0.5)
        start_page = "course_map.ipynb" if (target / "course_map.ipynb").exists() else "README.md"
        status, html = _get(f"{base}/lab/tree/{start_page}", token)
        assert status == 200, html[:500]
        page_config = json.loads(re.search(
            r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
            html, re.S).group(1))
        federated = {e["name"] for e in page_config.get("federated_extensions", [])}
        assert {WIDGETS_LAB, NBGRADER_LAB} <= federated, federated
        status, listing = _get(f"{base}/api/contents/", token)
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert {"exercises", "utils", start_page} <= names, names
        if kind == "student-release":
            assert "solutions" not in names and "autograder" not in names
            assert _get(f"{base}/formgrader", token)[0] == 404
        status, body = _get(f"{base}/api/sessions", token, "POST",
                            {"path": start_page, "type": "notebook", "name": start_page,
                             "kernel": {"name": "python3"}})
        assert status == 201, body
        kernel = json.loads(body)["kernel"]
        assert kernel["name"] == "python3", kernel
        printed = _run_in_kernel(tmp_path / "runtime" / f"kernel-{kernel['id']}.json",
                                 "import sys, utils; print(sys.prefix); print(utils.__file__)")
        prefix, utils_file = printed.split()[:2]
        assert Path(prefix) == venv_dir, f"the kernel runs in {prefix}, not the Binder venv"
        assert Path(utils_file).is_relative_to(target), utils_file
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
