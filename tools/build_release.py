"""Build the student release: the course without solutions, hidden tests or instructor tools.

    python3 course.py release [--out DIR]        (default DIR: dist/student)

The release holds exactly what students need and nothing else:

- ``course_map.ipynb`` (when the course has one), ``lectures/*.ipynb`` and ``exercises/<name>/``
  (the notebooks nbgrader generated from ``solutions/``: stubs, visible self-checks only);
- ``utils/`` (the helper package every notebook imports) with a ``pyproject.toml`` that installs
  ``utils`` only;
- ``requirements.txt`` and ``runtime.txt`` (pip and Binder read them), a ``postBuild`` that
  turns nbgrader's instructor extensions off (formgrader, create assignment, course list) and
  keeps the student ones (validate, assignment list), and a student ``README.md``.

Never copied: ``solutions/``, ``autograder/`` (hidden suites, grading engine), ``tools/``,
``tests/``, ``benchmarks/``, ``nbgrader_config.py``, ``gradebook.db``, ``course.py``.
``tests/test_release.py`` scans every file of a fresh release for the code of every solution
cell and hidden test and fails on any hit.
"""

from __future__ import annotations

import argparse
import shutil
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "dist" / "student"
# A file the build writes into every release; the build only ever deletes a folder carrying it.
MARKER = ".student-release"

# What nbgrader 0.9.6 ships (read from nbgrader/labextension/package.json and
# etc/jupyter/jupyter_server_config.d/nbgrader.json): six lab plugins, four server extensions.
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                          "@jupyter/nbgrader:course-list")
STUDENT_LAB_PLUGINS = ("@jupyter/nbgrader:validate-assignment",
                       "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:menu")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.course_list")
STUDENT_SERVER_EXTENSIONS = ("nbgrader.server_extensions.validate_assignment",
                             "nbgrader.server_extensions.assignment_list")

IGNORED_NAMES = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store",
                                       "*.egg-info")

STUDENT_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "dl4cv-course-utils"
version = "0.1.0"
description = "Helpers for the course notebooks: data, plotting, widgets, gradient checks, self-checks."
requires-python = ">=3.11"

[tool.setuptools.packages.find]
include = ["utils*"]
"""

POST_BUILD = """\
#!/bin/bash
# Run once after `pip install -r requirements.txt` (Binder runs it by itself).
# Turns nbgrader's instructor tools off (formgrader, create assignment, course list) and leaves
# the student tools on (the Validate button, the Assignment List). The settings go into the
# Python environment's Jupyter config folder, or into COURSE_JUPYTER_CONFIG_DIR when it is set.
# (`jupyter server extension disable` cannot do it for nbgrader 0.9.6: its extension modules
# are registered through the nbgrader package, so the command fails to validate them.)
set -euo pipefail
python - "${{COURSE_JUPYTER_CONFIG_DIR:-}}" <<'PY'
import json
import sys
from pathlib import Path

target = Path(sys.argv[1]) if sys.argv[1] else Path(sys.prefix, "etc", "jupyter")


def merge(path, update):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {{}}
    for section, values in update.items():
        data.setdefault(section, {{}}).update(values)
    path.write_text(json.dumps(data, indent=2) + "\\n")
    print(f"wrote {{path}}")


merge(target / "labconfig" / "page_config.json",
      {{"disabledExtensions": {{name: True for name in {lab_plugins!r}}}}})
# Sorts after nbgrader.json, which enables every nbgrader server extension, so it wins.
merge(target / "jupyter_server_config.d" / "nbgrader_student.json",
      {{"ServerApp": {{"jpserver_extensions": {{name: False for name in {server_extensions!r}}}}}}})
PY
"""

STUDENT_README = """\
# Machine learning basics, optimization, backpropagation: student edition

Interactive lecture notebooks and programming exercises with self-checks.

| Folder | What is in it |
|---|---|
| `course_map.ipynb` | start here: the order of lectures and exercises and how long each takes |
| `lectures/` | the lecture notebooks, with widgets to play with |
| `exercises/` | the exercises you hand in; each cell marked `# YOUR CODE HERE` is yours |
| `utils/` | helpers the notebooks import (data, plots, widgets, self-checks); no need to edit |

## Start in your browser (nothing to install)
Click the Binder link your instructor gives you. JupyterLab opens on `course_map.ipynb`;
the first start can take a few minutes. **Binder does not keep your work**: download your
notebooks (right-click, *Download*) before you close the tab.

## Start on your computer
You need Python 3.11 or newer.

```bash
python3 -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
bash postBuild                     # optional: hides the instructor-only menus
jupyter lab course_map.ipynb
```

## How to work on an exercise
1. Open the notebook in `exercises/` and run the cells from top to bottom (Shift+Enter).
2. Replace each `raise NotImplementedError()` under `# YOUR CODE HERE` with your code.
3. Run the self-check cell below it. It prints one line per check and `n/n checks passed`
   when your function is right; otherwise it says what was expected, what came back and a
   hint. `not implemented yet` means the function still raises `NotImplementedError`.
4. Before you hand in, click **Validate** in the notebook toolbar: it runs the whole
   notebook from a fresh kernel and tells you whether every check passes.

The grader runs further tests that are not in your notebook, so make your functions correct
in general, not only for the self-check examples. Do not rename functions, do not delete or
reorder cells, and keep the `# YOUR CODE HERE` cells where they are.
"""


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=IGNORED_NAMES)


def _student_requirements(root: Path) -> str:
    """The course's runtime requirements; ``-e .`` now installs the release's ``utils`` only."""
    lines = ["# What the course needs (pip and Binder read this file).",
             "# The last line installs the notebooks' helper package (utils/) from this folder."]
    for raw in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line in {"-e .", "."}:
            continue
        lines.append(line)
    lines.append("-e .")
    return "\n".join(lines) + "\n"


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _prepare_output(out: Path) -> None:
    """Empty ``out`` safely: only a folder that is empty or holds a previous release is removed."""
    if out.exists():
        if not out.is_dir():
            raise SystemExit(f"{out} exists and is not a folder; choose another --out.")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise SystemExit(f"{out} is not empty and is not a student release built by this "
                             "tool; refusing to delete it. Choose an empty or new folder.")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def build(out: Path = DEFAULT_OUT, root: Path = ROOT) -> Path:
    """Write the student release into ``out`` (replacing a previous release there).

    Inputs:
    - out: the release folder; created if missing; must be empty or a previous release.
    - root: the course repository to build from.
    Returns the release folder. Raises SystemExit with a message when the input is unusable.
    """
    out = Path(out).resolve()
    root = Path(root).resolve()
    if out == root or root.is_relative_to(out):
        raise SystemExit(f"--out {out} would overwrite the course itself; choose another folder.")
    exercises = sorted(p for p in (root / "exercises").iterdir() if p.is_dir()) \
        if (root / "exercises").is_dir() else []
    if not exercises:
        raise SystemExit("exercises/ is empty: run `python3 course.py exercises` first.")
    _prepare_output(out)
    (out / MARKER).write_text("Built by tools/build_release.py; safe to delete.\n",
                              encoding="utf-8")

    if (root / "course_map.ipynb").exists():
        shutil.copy2(root / "course_map.ipynb", out / "course_map.ipynb")
    if (root / "lectures").is_dir():
        _copy_tree(root / "lectures", out / "lectures")
    for folder in exercises:
        _copy_tree(folder, out / "exercises" / folder.name)
    _copy_tree(root / "utils", out / "utils")

    (out / "pyproject.toml").write_text(STUDENT_PYPROJECT, encoding="utf-8")
    (out / "requirements.txt").write_text(_student_requirements(root), encoding="utf-8")
    shutil.copy2(root / "runtime.txt", out / "runtime.txt")
    _write_executable(out / "postBuild", POST_BUILD.format(
        lab_plugins=list(INSTRUCTOR_LAB_PLUGINS),
        server_extensions=list(INSTRUCTOR_SERVER_EXTENSIONS)))
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="release folder (default: dist/student)")
    args = parser.parse_args(argv)
    out = build(args.out)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"student release written to {out} ({files} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
