"""Run a command as a throw-away unprivileged user (the sandbox tests for a normal instructor).

    with temporary_user() as user:
        completed = run_as(user, [PYTHON, "-m", "autograder", "grade", ...], home=folder)

Needs root: ``temporary_user`` creates a system user without a home (``useradd``) and removes
it afterwards (``userdel``). The repository and its venv are world-readable, but the venv's
base Python may live in a folder others cannot enter (pyenv under ``/root``, mode 0700): the
command then runs in a private mount namespace of its own where that folder is replaced by an
empty read-only tmpfs holding a read-only bind of the Python installation only. Nothing on the
host changes; other processes still see the real folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PYTHON = Path(sys.executable)


def can_create_users() -> bool:
    return os.geteuid() == 0 and all(
        subprocess.run(["which", tool], capture_output=True).returncode == 0
        for tool in ("useradd", "userdel", "runuser", "unshare", "mount"))


@contextlib.contextmanager
def temporary_user() -> Iterator[str]:
    """A new system user ``ag-test-<random>`` (no home, no login shell), removed after."""
    name = f"ag-test-{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def closed_ancestor(path: Path) -> Path | None:
    """The outermost folder above ``path`` that other users cannot enter (None if none)."""
    for folder in reversed(Path(path).resolve().parents):
        if folder != Path("/") and not os.stat(folder).st_mode & 0o001:
            return folder
    return None


def _shown_through(closed: Path, needed: list[Path], stage: Path) -> list[str]:
    """Shell lines (run as root in a private mount namespace) that cover ``closed`` with an
    empty tmpfs and bind the ``needed`` folders (inside it) back, read-only."""
    q = shlex.quote
    lines = []
    for index, path in enumerate(needed):
        lines += [f"mkdir -p {q(str(stage / str(index)))}",
                  f"mount --bind {q(str(path))} {q(str(stage / str(index)))}"]
    lines.append(f"mount -t tmpfs -o mode=0755,size=1m none {q(str(closed))}")
    for index, path in enumerate(needed):
        lines += [f"mkdir -p {q(str(path))}",
                  f"mount --bind {q(str(stage / str(index)))} {q(str(path))}",
                  f"mount -o remount,ro,bind {q(str(path))}"]
    return lines


def run_as(user: str, command: list[str], home: Path, cwd: Path, timeout: float,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``command`` as ``user`` with a minimal environment (HOME and MPLCONFIGDIR =
    ``home``, which must be writable by the user). Returns the completed process (text)."""
    variables = {"HOME": str(home), "MPLCONFIGDIR": str(home), "PATH": "/usr/bin:/bin",
                 "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    lines = ["set -e"]
    closed: dict[Path, list[Path]] = {}
    for needed in {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}:
        ancestor = closed_ancestor(needed)
        if ancestor is not None:
            closed.setdefault(ancestor, []).append(needed)
    for ancestor, needed in closed.items():
        stage = home.parent / f".stage-{secrets.token_hex(4)}"
        stage.mkdir(mode=0o700)
        lines += _shown_through(ancestor, sorted(needed), stage)
    inner = ["runuser", "-u", user, "--", "env", "-i",
             *[f"{k}={v}" for k, v in variables.items()], *command]
    lines.append(f"cd {shlex.quote(str(cwd))}")
    lines.append("exec " + " ".join(shlex.quote(part) for part in inner))
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           "\n".join(lines)], capture_output=True, text=True, timeout=timeout)
