"""Build the Gradescope autograder zip of one assignment.

    python3 course.py gradescope 01_knn [--out DIR] [--seed S]   (default DIR: dist/gradescope)

writes ``DIR/01_knn.zip``. Upload it as the assignment's autograder ("Configure Autograder",
Ubuntu base image); students submit their notebook ``01_knn.ipynb``. Gradescope unpacks the
zip into ``/autograder/source/``:

    setup.sh                 run once by Gradescope: Python 3.11, a venv in /autograder/venv,
                             the grader's pinned requirements, the course wheel
    run_autograder           run per submission (Gradescope copies it to /autograder/)
    run_gradescope.py        what run_autograder runs: picks the notebook, grades it with
                             ``python -m autograder grade``, writes results/results.json
    gradescope.json          the assignment's name and the grading seed
    requirements.txt         the grader's runtime requirements, pinned as in the course's
                             requirements.txt (numpy, pytest, tqdm, matplotlib; no nbgrader)
    wheels/dl4cv_course-<version>-py3-none-any.whl
                             the ``autograder`` and ``utils`` packages, built from this
                             repository with ``pip wheel --no-deps``, holding this
                             assignment's hidden suite only (no other suite, no examples)
    course/solutions/<a>/<a>.ipynb
                             the reference solution, under the grader's ``--course-root``
                             (kept apart from the venv: the sandbox hides the course root)

Nothing else of the course is copied (no exercises, lectures, other solutions or tests).
The scripts use ``AUTOGRADER_ROOT`` (default ``/autograder``) as Gradescope's root folder;
``tests/test_gradescope_zip.py`` runs them for real in a temporary root.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "dist" / "gradescope"
TEMPLATES = Path(__file__).resolve().parent / "gradescope"
# What ``python -m autograder grade`` imports beyond the standard library (summary.html uses
# matplotlib, the progress bar tqdm). Versions come from the course's requirements.txt.
GRADER_REQUIREMENTS = ("numpy", "pytest", "tqdm", "matplotlib")
SCRIPTS = {"setup.sh": 0o755, "run_autograder": 0o755, "run_gradescope.py": 0o644}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store",
                                 "*.egg-info")
WHEEL_README = ("# dl4cv-course (grader build)\n\nThe course's `autograder` and `utils` "
                "packages with one assignment's hidden suite, for Gradescope.\n")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed: the same inputs give the same zip


def grader_requirements(root: Path = ROOT) -> str:
    """The lines of the course's requirements.txt that the grader needs, as written there.

    Returns requirements.txt text. Raises SystemExit when one of ``GRADER_REQUIREMENTS`` is
    missing from the course's file (the pins must come from one place)."""
    found: dict[str, str] = {}
    for raw in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower()
        if name in GRADER_REQUIREMENTS:
            found[name] = line
    missing = [n for n in GRADER_REQUIREMENTS if n not in found]
    if missing:
        raise SystemExit(f"requirements.txt does not name {', '.join(missing)}; the grader "
                         "needs them")
    return ("# What the grader needs at run time (pins from the course's requirements.txt).\n"
            + "\n".join(found[n] for n in GRADER_REQUIREMENTS) + "\n")


def _check_assignment(assignment: str, root: Path) -> Path:
    """The reference notebook of ``assignment``; SystemExit with a message when unusable."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", assignment):
        raise SystemExit(f"{assignment!r} is not an assignment name (letters, digits, _)")
    reference = root / "solutions" / assignment / f"{assignment}.ipynb"
    suite = root / "autograder" / "suites" / assignment
    if not reference.is_file() or not suite.is_dir():
        known = sorted(p.name for p in (root / "autograder" / "suites").iterdir() if p.is_dir()
                       and not p.name.startswith("_"))
        raise SystemExit(f"no assignment {assignment!r} (it needs {reference.relative_to(root)} "
                         f"and {suite.relative_to(root)}/); known: {', '.join(known)}")
    return reference


def _stage_package(assignment: str, root: Path, stage: Path) -> None:
    """A copy of the project to build the wheel from: utils/, autograder/ with only this
    assignment's suite (and the suites' conftest.py), no examples."""
    stage.mkdir(parents=True)
    shutil.copy2(root / "pyproject.toml", stage / "pyproject.toml")
    (stage / "README.md").write_text(WHEEL_README, encoding="utf-8")
    shutil.copytree(root / "utils", stage / "utils", ignore=IGNORED)
    shutil.copytree(root / "autograder", stage / "autograder",
                    ignore=shutil.ignore_patterns("suites", "examples", "__pycache__", "*.pyc"))
    suites = stage / "autograder" / "suites"
    suites.mkdir()
    for item in (root / "autograder" / "suites").iterdir():
        if item.is_file() and item.suffix == ".py":
            shutil.copy2(item, suites / item.name)
    shutil.copytree(root / "autograder" / "suites" / assignment, suites / assignment,
                    ignore=IGNORED)


def _can_build_offline() -> bool:
    """Whether this Python has setuptools >= 77 (pyproject's build requirement), so the
    wheel builds without fetching it from the index."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version
    major = version("setuptools").split(".", 1)[0]
    return major.isdigit() and int(major) >= 77


def build_wheel(stage: Path, wheels: Path) -> Path:
    """``pip wheel <stage> --no-deps``; returns the wheel file."""
    args = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
            "-q", "-w", str(wheels), str(stage)]
    if _can_build_offline():
        args.insert(4, "--no-build-isolation")
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"pip wheel failed:\n{(done.stdout + done.stderr)[-3000:]}")
    built = sorted(wheels.glob("*.whl"))
    if len(built) != 1:
        raise SystemExit(f"pip wheel made {len(built)} wheels, expected one")
    return built[0]


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    archive.writestr(info, data)


def build(assignment: str, out: Path = DEFAULT_OUT, root: Path = ROOT, seed: int = 0) -> Path:
    """Write ``out/<assignment>.zip`` (replacing an older one) and return its path.

    Inputs: the assignment's name (``solutions/<a>/<a>.ipynb`` and ``autograder/suites/<a>/``
    must exist), the output folder, the course repository, the global grading seed.
    Raises SystemExit with a message when the input is unusable or the wheel cannot be built.
    """
    root = Path(root).resolve()
    reference = _check_assignment(assignment, root)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{assignment}.zip"
    config = {"assignment": assignment, "seed": int(seed)}
    with tempfile.TemporaryDirectory(prefix="gradescope-build-") as tmp:
        stage = Path(tmp) / "package"
        _stage_package(assignment, root, stage)
        wheel = build_wheel(stage, Path(tmp) / "wheels")
        partial = Path(tmp) / target.name
        with zipfile.ZipFile(partial, "w") as archive:
            for name, mode in SCRIPTS.items():
                _add(archive, name, (TEMPLATES / name).read_bytes(), mode)
            _add(archive, "gradescope.json", json.dumps(config, indent=1).encode() + b"\n")
            _add(archive, "requirements.txt", grader_requirements(root).encode())
            _add(archive, f"wheels/{wheel.name}", wheel.read_bytes())
            _add(archive, f"course/solutions/{assignment}/{assignment}.ipynb",
                 reference.read_bytes())
        shutil.move(partial, target)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py gradescope", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="assignment name, e.g. 01_knn")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: dist/gradescope)")
    parser.add_argument("--seed", type=int, default=0,
                        help="global grading seed; each student's seed is a hash of (seed, "
                             "Gradescope user id) (default 0)")
    args = parser.parse_args(argv)
    target = build(args.assignment, args.out, seed=args.seed)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    print(f"Gradescope autograder written to {target} ({len(names)} files: "
          f"{', '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
