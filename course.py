#!/usr/bin/env python3
"""One entry point for the course: set up, open, test, regenerate, release.

    python3 course.py lab        install what is needed (once) and open the course in JupyterLab
    python3 course.py test       install what is needed (once) and run the whole test suite
    python3 course.py exercises  regenerate exercises/ from solutions/ (nbgrader generate_assignment)
    python3 course.py release    build the student release in dist/student/
    python3 course.py gradescope 01_knn   build the Gradescope autograder dist/gradescope/01_knn.zip

Everything is installed into ``.venv/`` beside this file; only Python 3.11+ and pip are needed.
Extra arguments after ``test`` go to pytest (for example ``-m "not browser"``); tests run on
all cores (pytest-xdist ``-n auto``) unless you pass ``-n``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def ensure_environment(requirement_files: list[str]) -> None:
    """Create .venv if missing and install the requirement files when they changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - users may run an older python3
        sys.exit(f"Python 3.11 or newer is needed (nbgrader 0.9 requires it); this is "
                 f"{sys.version.split()[0]}. Run this script with python3.11.")
    if not PYTHON.exists():
        _say(f"creating a virtual environment in {VENV} ...")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for name in requirement_files + ["pyproject.toml"]:
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / ("installed-" + "-".join(Path(n).stem for n in requirement_files))
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    _say(f"installing {', '.join(requirement_files)} (first run takes a few minutes) ...")
    args = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    for name in requirement_files:
        args += ["-r", name]
    subprocess.run(args, cwd=ROOT, check=True)
    stamp.write_text(digest.hexdigest())


def venv_env() -> dict[str, str]:
    """The environment for commands run inside .venv (its bin first on PATH: nbgrader needs alembic)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("MPLBACKEND", "agg")
    return env


def run(args: list[str]) -> int:
    return subprocess.run(args, cwd=ROOT, env=venv_env()).returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command == "lab":
        ensure_environment(["requirements.txt"])
        env = venv_env()
        env.pop("MPLBACKEND", None)
        os.chdir(ROOT)
        as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        args = [str(BIN / "jupyter"), "lab", "course_map.ipynb", *as_root, *rest]
        os.execve(args[0], args, env)
    if command == "test":
        ensure_environment(["requirements.txt", "requirements-dev.txt"])
        parallel = [] if any(a.startswith("-n") for a in rest) else ["-n", "auto"]
        return run([str(PYTHON), "-m", "pytest", *parallel, *rest])
    if command == "exercises":
        ensure_environment(["requirements.txt"])
        return run([str(PYTHON), "-m", "tools.generate_exercises", *rest])
    if command == "release":
        ensure_environment(["requirements.txt"])
        return run([str(PYTHON), "-m", "tools.build_release", *rest])
    if command == "gradescope":
        ensure_environment(["requirements.txt"])
        return run([str(PYTHON), "-m", "tools.build_gradescope", *rest])
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
