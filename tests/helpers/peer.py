"""Run the peer, ``nbgrader autograde``, on the same submissions (benchmark and agreement test).

nbgrader grades inside a course folder: this builds a throwaway copy (config + the assignment's
source notebook), generates the release (which records the assignment and its hidden tests in a
fresh gradebook), places the submissions in ``submitted/<student>/<assignment>/``, runs
``nbgrader autograde`` once for all of them, and reads the scores from the gradebook (per
submission, or per test cell with ``read_cell_scores``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: Code cells of 01_knn that only demonstrate (no graded or test content): the image grid, the
#: timing table, cross-validation on all training data and the test accuracy.
DEMO_SOURCES = ("show_image_grid(", "def time_call(", "k_choices = [1, 3, 5, 8",
                "classifier = KNearestNeighbor()")


def lighten(raw: bytes, markers: tuple[str, ...] = DEMO_SOURCES) -> bytes:
    """Notebook bytes without the ungraded code cells whose source holds one of ``markers``
    (nbgrader autograde then spends its time on the graded cells, not on the demos)."""
    nb = json.loads(raw)
    nb["cells"] = [c for c in nb["cells"] if not (
        c.get("cell_type") == "code" and not c.get("metadata", {}).get("nbgrader")
        and any(m in ("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                for m in markers))]
    return json.dumps(nb).encode("utf-8")


def _nbgrader(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MPLBACKEND", None)
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def prepare_course(course_root: Path, workdir: Path, assignment: str,
                   source: Path | None = None) -> Path:
    """A minimal nbgrader course in ``workdir`` with ``assignment`` generated. Returns it.

    ``source``: a notebook to use as the assignment's source notebook instead of
    ``solutions/<assignment>/<assignment>.ipynb`` (e.g. one rewritten by
    tools/hidden_tests.py); the folder's other files are copied either way.
    """
    course = Path(workdir) / "nbgrader_course"
    (course / "solutions").mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(course_root) / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(Path(course_root) / "solutions" / assignment,
                    course / "solutions" / assignment, dirs_exist_ok=True)
    if source is not None:
        shutil.copy(source, course / "solutions" / assignment / f"{assignment}.ipynb")
    done = _nbgrader(["generate_assignment", assignment, "--force"], course)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{done.stderr[-3000:]}")
    return course


def autograde(course: Path, assignment: str, submissions: dict[str, bytes]) -> tuple[
        dict[str, float], float]:
    """Place ``submissions`` (student id -> notebook bytes), run ``nbgrader autograde`` once.

    Returns ({student_id: score}, wall seconds of the autograde command).
    """
    for student_id, raw in submissions.items():
        folder = course / "submitted" / student_id / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment}.ipynb").write_bytes(raw)
    start = time.perf_counter()
    done = _nbgrader(["autograde", assignment, "--create", "--force"], course)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader autograde failed:\n{done.stderr[-3000:]}")
    return read_scores(course, assignment, list(submissions)), seconds


def read_cell_scores(course: Path, assignment: str, students: list[str]
                     ) -> dict[str, dict[str, float | None]]:
    """Per test cell: {student_id: {grade_id: score}} of the autograded code cells in
    nbgrader's gradebook (None where nbgrader gave no automatic score)."""
    from nbgrader.api import Gradebook
    scores: dict[str, dict[str, float | None]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student_id in students:
            submission = gradebook.find_submission(assignment, student_id)
            scores[student_id] = {grade.cell.name: grade.score
                                  for notebook in submission.notebooks
                                  for grade in notebook.grades
                                  if grade.cell.cell_type == "code"}
    return scores


def read_scores(course: Path, assignment: str, students: list[str]) -> dict[str, float]:
    """Autograded scores from nbgrader's gradebook (manually graded answers excluded)."""
    return {student_id: sum(score or 0.0 for score in cells.values())
            for student_id, cells in read_cell_scores(course, assignment, students).items()}
