"""Regenerate exercises/ from solutions/ with nbgrader generate_assignment.

    python3 course.py exercises [--no-db] [ASSIGNMENT ...]

With no names, every folder in solutions/ is regenerated. The gradebook (gradebook.db, not
committed) records the assignments so that `nbgrader autograde` works afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assignments(root: Path = ROOT) -> list[str]:
    """The assignment names: one folder per assignment under solutions/."""
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def generate(root: Path = ROOT, names: list[str] | None = None, use_db: bool = True) -> None:
    """Run `nbgrader generate_assignment NAME --force` in ``root`` for each assignment.

    nbgrader calls alembic for a fresh gradebook, so the interpreter's bin folder goes first
    on PATH. Raises CalledProcessError (with nbgrader's log) when generation fails.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in names or assignments(root):
        args = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"]
        if not use_db:
            args.append("--no-db")
        result = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, args, result.stdout,
                                                result.stderr)
        print(f"generated exercises/{name}/ from solutions/{name}/")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    use_db = "--no-db" not in arguments
    names = [a for a in arguments if a != "--no-db"]
    try:
        generate(Path.cwd(), names=names or None, use_db=use_db)
    except subprocess.CalledProcessError as error:
        sys.exit(f"nbgrader generate_assignment failed:\n{error.stderr}")
