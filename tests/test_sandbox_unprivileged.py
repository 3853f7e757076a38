"""The whole grade command, run as root and as a normal user, against the same attacks.

A normal instructor (a JupyterHub server, a laptop) gets the same sandbox as root where the
kernel allows unprivileged user namespaces: the child sees only the system and the Python
installation, has no network, cannot signal any other process, cannot create a namespace of
its own, and the limits hold. ``run.json`` must report no lost protection either way.

As root the test creates a throw-away system user (``helpers.unprivileged``) and runs
``python -m autograder grade`` as that user on a folder of submissions: two honest students
and one student per attack. Needs root (to create the user); slow (two full runs).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from helpers.crafting import CORRECT_EXAMPLE, EXAMPLES, craft
from helpers.sandbox_attacks import (
    FALLOCATE_STDOUT,
    IPC_BYTES,
    MANY_FILES,
    OUTPUT_BYTES,
    PREDICT_HEADER,
    SCRATCH_INODES,
    SHARED_MEMORY,
    USER_NAMESPACE_TMPFS,
    VIEW_PROBE,
    ZEROS,
)
from helpers.unprivileged import can_create_users, run_as, temporary_user

from autograder import view
from autograder.grading import COURSE_ROOT
from autograder.reports import results_path

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not can_create_users(), reason="needs root to create a user")]

NETWORK_AND_SIGNALS = PREDICT_HEADER + '''\
    import os, socket
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
        print("NETWORK connected", flush=True)
    except OSError as error:
        print("NETWORK refused:", error.strerror or error, flush=True)
    may_signal = []
    for pid in range(1, 65536):  # signal 0: "may I signal this process?"
        if pid != os.getpid():
            try:
                os.kill(pid, 0)
                may_signal.append(pid)
            except OSError:
                pass
    print("SIGNALS", len(may_signal), flush=True)
    try:
        os.fork()
        print("FORK allowed", flush=True)
    except OSError as error:
        print("FORK refused:", error.strerror, flush=True)
''' + ZEROS


def _listening_server() -> tuple[socket.socket, list, threading.Thread]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(1.0)
    accepted: list = []

    def accept() -> None:
        while server.fileno() >= 0:
            try:
                accepted.append(server.accept())
            except OSError:
                if server.fileno() < 0:
                    return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return server, accepted, thread


def _submissions(folder: Path, other_checkout: Path, port: int, out: Path) -> None:
    """One notebook per student: two honest ones (graded first and last) and the attacks."""
    secrets_ = [str(other_checkout / "solutions" / "01_knn" / "01_knn.ipynb"),
                str(COURSE_ROOT / "solutions"), str(COURSE_ROOT / "autograder" / "suites"),
                str(folder), str(folder / "a_honest.ipynb"), str(out), str(EXAMPLES),
                "/home", "/etc/passwd", "/proc/self/environ", "/work", "/tmp", "/opt"]
    shown = [*view.python_dirs(), "/usr/lib", "/dev/null"]
    probe = (f"SECRETS = {secrets_!r}\nSHOWN = {shown!r}\n\n" + VIEW_PROBE)
    attacks = {"a_honest": None, "b_view": probe, "c_shared_memory": SHARED_MEMORY,
               "d_user_namespace": USER_NAMESPACE_TMPFS, "e_fallocate": FALLOCATE_STDOUT,
               "f_files": MANY_FILES,
               "g_network": NETWORK_AND_SIGNALS.replace("PORT", str(port)),
               "h_memory": PREDICT_HEADER + "    hog = []\n    while True:\n"
                           "        hog.append(bytearray(50 << 20))\n",
               "z_honest": None}
    for student, source in attacks.items():
        raw = CORRECT_EXAMPLE.read_bytes() if source is None else \
            craft(CORRECT_EXAMPLE, replace={"predict_labels": source})
        (folder / f"{student}.ipynb").write_bytes(raw)
        (folder / f"{student}.ipynb").chmod(0o644)


@pytest.fixture()
def workspace():
    """A world-readable folder (pytest's own tmp folders are private to root) and a second
    checkout of the course under /opt that every local user can read."""
    base = Path(tempfile.mkdtemp(prefix="ag-sandbox-", dir="/tmp"))
    other = Path("/opt") / f"ag-sandbox-test-{secrets.token_hex(4)}" / "course"
    try:
        base.chmod(0o755)
        for relative in ("solutions/01_knn/01_knn.ipynb", "autograder/suites/01_knn/test_knn.py"):
            (other / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(COURSE_ROOT / relative, other / relative)
        for folder in [other.parent, *other.parent.rglob("*")]:
            folder.chmod(0o755 if folder.is_dir() else 0o644)
        yield base, other
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(other.parent, ignore_errors=True)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _grade(who: str, base: Path, other: Path
           ) -> tuple[subprocess.CompletedProcess, Path, dict[str, str]]:
    """Write the submissions, grade them as ``who``; returns (the finished command, the
    output folder, sha256 of every submission file before grading)."""
    submissions, out, home = base / "submissions", base / "out", base / "home"
    for folder in (submissions, out, home):
        folder.mkdir(mode=0o755)
    server, accepted, thread = _listening_server()
    try:
        _submissions(submissions, other, server.getsockname()[1], out)
        submitted = _hashes(submissions)
        command = [sys.executable, "-m", "autograder", "grade", str(submissions),
                   "--assignment", "01_knn", "--out", str(out), "--jobs", "1",
                   "--call-timeout", "3", "--submission-timeout", "30", "--memory-mb", "256",
                   "--no-progress"]
        if who == "root":
            env = {"HOME": str(home), "MPLCONFIGDIR": str(home), "PATH": "/usr/bin:/bin",
                   "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
            completed = subprocess.run(command, capture_output=True, text=True, timeout=600,
                                       cwd=base, env=env)
        else:
            with temporary_user() as user:
                shutil.chown(out, user)
                shutil.chown(home, user)
                completed = run_as(user, command, home=home, cwd=base, timeout=600)
    finally:
        server.close()
        thread.join(3)
    assert not accepted, "a child reached the network"
    return completed, out, submitted


def _result(out: Path, student: str) -> dict:
    return json.loads(results_path(out, student).read_text())


def _printed(out: Path, student: str, tag: str) -> list[str]:
    printed = _result(out, student)["extra_data"]["printed"]
    return re.findall(rf"^{tag} (.*)$", printed, re.MULTILINE)


@pytest.mark.parametrize("who", ["root", "user"])
def test_the_same_protections_hold_for_root_and_a_normal_user(workspace, who):
    base, other = workspace
    checkout = _hashes(other.parent)
    completed, out, submitted = _grade(who, base, other)
    assert completed.returncode == 0, completed.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["sandbox_lost"] == [], run
    assert "weakened" not in completed.stderr

    honest = [_result(out, s) for s in ("a_honest", "z_honest")]
    assert all(r["score"] == r["max_score"] == 14 for r in honest)
    assert [(t["name"], t["score"], t["output"]) for t in honest[0]["tests"]] == \
        [(t["name"], t["score"], t["output"]) for t in honest[1]["tests"]]
    for student in ("b_view", "c_shared_memory", "d_user_namespace", "e_fallocate",
                    "f_files", "g_network", "h_memory"):
        predict = {t["name"]: t for t in _result(out, student)["tests"]}[
            "test_knn.py::test_predict_labels"]
        assert predict["score"] < predict["max_score"], (student, predict)

    assert set(_printed(out, "b_view", "LEAKS")) == {"[]"}, _printed(out, "b_view", "LEAKS")
    shown = _printed(out, "b_view", "SHOWN")
    assert shown and all(a == b for a, _, b in (s.split() for s in shown)), shown
    assert max(int(r.split()[0]) for r in _printed(out, "c_shared_memory", "SHARED-MEMORY")) \
        <= IPC_BYTES
    assert any("USER-NAMESPACE refused" in line for line in
               _result(out, "d_user_namespace")["extra_data"]["printed"].splitlines())
    for report in _printed(out, "e_fallocate", "FALLOCATE"):
        assert "allowed" not in report and all(
            int(n) <= OUTPUT_BYTES for n in re.findall(r"(\d+):", report)), report
    assert 0 < max(int(r.split()[0]) for r in _printed(out, "f_files", "FILES")) \
        < SCRATCH_INODES
    assert _printed(out, "g_network", "NETWORK") and \
        all(r.startswith("refused") for r in _printed(out, "g_network", "NETWORK"))
    assert set(_printed(out, "g_network", "SIGNALS")) == {"0"}
    assert all(r.startswith("refused") for r in _printed(out, "g_network", "FORK"))
    memory = {t["name"]: t for t in _result(out, "h_memory")["tests"]}
    assert "MemoryError" in memory["test_knn.py::test_predict_labels"]["output"]
    assert _hashes(base / "submissions") == submitted and _hashes(other.parent) == checkout


def test_a_kernel_that_refuses_namespaces_is_reported(workspace):
    """Where the kernel refuses user namespaces (here: a user namespace whose limit is 0),
    the grader still grades, and says in run.json and on stderr what protection is lost."""
    base, _ = workspace
    submissions, out = base / "submissions", base / "out"
    submissions.mkdir()
    (submissions / "honest.ipynb").write_bytes(CORRECT_EXAMPLE.read_bytes())
    grade = " ".join([sys.executable, "-m", "autograder", "grade", str(submissions),
                      "--assignment", "01_knn", "--out", str(out), "--jobs", "1",
                      "--no-progress"])
    script = f"echo 0 > /proc/sys/user/max_user_namespaces && exec {grade}"
    env = {"HOME": str(base), "MPLCONFIGDIR": str(base), "PATH": "/usr/bin:/bin",
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c", script],
                               capture_output=True, text=True, timeout=600, env=env, cwd=base)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lost = " ".join(json.loads((out / "run.json").read_text())["sandbox_lost"])
    for protection in ("private file-system view", "no network", "unprivileged user"):
        assert protection in lost, lost
    assert "the sandbox was weakened" in completed.stderr
    assert _result(out, "honest")["score"] == 14
