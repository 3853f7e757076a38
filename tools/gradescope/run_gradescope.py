"""Grade one Gradescope submission with the course's sandboxed grader (run by run_autograder).

Layout (Gradescope's; ``AUTOGRADER_ROOT`` moves all of it, default ``/autograder``):

    source/                     the autograder zip: this script, gradescope.json, course/solutions/...
    submission/                 what the student uploaded (trusted: nothing; read, never modified)
    submission_metadata.json    Gradescope's metadata (the student's id makes the seed)
    results/results.json        written here, in Gradescope's schema
    grading/                    the grader's working folder (root only), replaced every run

Steps: pick the notebook (``<assignment>.ipynb`` wins; otherwise the only notebook; otherwise
the only zip), copy its bytes (regular files only, no link followed, size-capped) to
``grading/in/<student id>.ipynb``, run ``python -m autograder grade`` on that folder with
``--course-root source/course``, and copy the student's results.json to results/ with
Gradescope's fields (``score``, ``output``, ``visibility``, ``tests[]`` with ``name, score,
max_score, status, output, visibility``; the grader's own data under ``extra_data``). When
protections of the sandbox were lost (Docker refusing namespaces, AUTOGRADER_ISOLATION=none)
the results' ``output`` starts with a short note (visible) and a zero-point entry visible to
instructors only names them.

Exit code 0 when the submission got its results (whatever the score, also "no notebook
found"), 1 when the grader itself failed (results.json then says so, with score 0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import limits
from autograder.grading import Assignment, build_results, failed_outcomes
from autograder.reports import load_results, results_path, write_atomic
from autograder.runner import load_suite
from autograder.safe_files import read_regular_file
from autograder.safe_text import clean, readable_name, safe_id

SKIPPED_FOLDERS = {"__MACOSX", ".ipynb_checkpoints", ".git"}
MAX_FILES_SEEN = 1000  # files looked at in submission/ (a zip bomb of names is not read)
MAX_DEPTH = 4
GRADER_TIMEOUT = 1800  # seconds; the grader's own per-submission budget is far below this
SANDBOX_NOTE = ("Note: this grading machine ran the grader's sandbox with reduced isolation "
                "(details for your instructor in the results). Your score is computed exactly "
                "as with the full sandbox.")
# A zero-point entry only instructors see (Gradescope's "hidden" visibility): the protections
# lost, in the grader's words; students are not told which walls are missing.
LOST_TEST_NAME = "sandbox: protections lost on this grading machine (instructors only)"
GRADER_FAILED = ("The autograder failed on this submission (not your code's fault: {reason}). "
                 "Please tell your instructor; they can re-run the autograder.")


def _candidates(folder: Path) -> list[Path]:
    """Regular files (no links) below ``folder`` ending in .ipynb or .zip, shallow first."""
    found: list[Path] = []
    seen = 0
    for current, dirs, files in os.walk(folder, followlinks=False):
        depth = len(Path(current).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS and depth < MAX_DEPTH)
        for name in sorted(files):
            seen += 1
            if seen > MAX_FILES_SEEN:
                return found
            path = Path(current, name)
            if path.suffix.lower() in {".ipynb", ".zip"} and not path.is_symlink() \
                    and path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def choose_submission(folder: Path, assignment: str) -> tuple[Path | None, str]:
    """(the file to grade, "") or (None, the reason in words)."""
    if not folder.is_dir():
        return None, "no submission folder was found"
    found = _candidates(folder)
    named = [p for p in found if p.name == f"{assignment}.ipynb"]
    notebooks = [p for p in found if p.suffix.lower() == ".ipynb"]
    zips = [p for p in found if p.suffix.lower() == ".zip"]
    if named:
        return named[0], ""
    if len(notebooks) == 1:
        return notebooks[0], ""
    if notebooks:
        names = ", ".join(readable_name(p.name) for p in notebooks[:5])
        return None, (f"{len(notebooks)} notebooks were submitted ({names}); submit only "
                      f"{assignment}.ipynb")
    if len(zips) == 1:
        return zips[0], ""
    return None, f"no notebook was found in the submission: submit {assignment}.ipynb"


def student_id(metadata_file: Path) -> str:
    """A stable id for the student (it makes the seed): Gradescope's user id, or "submission"."""
    try:
        metadata = json.loads(read_regular_file(metadata_file, 1 << 20))
        user = metadata["users"][0]["id"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return "submission"
    return safe_id(f"gradescope-{user}")


def gradescope_results(result: dict, submitted: str) -> dict:
    """Gradescope's results.json from the grader's: the documented fields, the rest kept
    under ``extra_data``; a note on top of ``output`` when the sandbox was weakened."""
    extra = dict(result.get("extra_data", {}))
    lost = [str(x) for x in extra.get("sandbox_lost", [])]
    notes = [SANDBOX_NOTE] if lost else []
    if result.get("output"):
        notes.append(str(result["output"]))
    extra.update(max_score=result.get("max_score"), submitted_file=submitted)
    tests = [{"name": str(t["name"]), "score": float(t["score"]),
              "max_score": float(t["max_score"]),
              "status": "passed" if t["score"] == t["max_score"] else "failed",
              "output": str(t.get("output", "")), "visibility": "visible"}
             for t in result["tests"]]
    if lost:
        tests.append({"name": LOST_TEST_NAME, "score": 0.0, "max_score": 0.0, "status": "failed",
                      "output": "The sandbox was weakened; protections lost:\n- "
                                + "\n- ".join(lost), "visibility": "hidden"})
    return {
        "score": float(result["score"]),
        "execution_time": float(result.get("execution_time", 0.0)),
        "output": "\n".join(notes),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": extra,
    }


def _failed(assignment: str, student: str, message: str, extra: dict) -> dict:
    """Every test failed with ``message`` (nothing graded), in the grader's own format."""
    tests = load_suite(Assignment.find(assignment, _course_root()).suite_dir)
    return build_results(student, assignment, failed_outcomes(tests, message), [message],
                         {"sandbox_lost": [], **extra})


def _root() -> Path:
    return Path(os.environ.get("AUTOGRADER_ROOT") or "/autograder")


def _course_root() -> Path:
    return _root() / "source" / "course"


def _grade(file: Path, student: str, config: dict, work: Path) -> tuple[dict | None, str]:
    """Run the grader on the staged copy; (its results.json data or None, its messages)."""
    inbox = work / "in"
    inbox.mkdir()
    suffix = ".zip" if file.suffix.lower() == ".zip" else ".ipynb"
    (inbox / f"{student}{suffix}").write_bytes(read_regular_file(file, limits.MAX_FILE_BYTES))
    out = work / "out"
    args = [sys.executable, "-I", "-m", "autograder", "grade", str(inbox),
            "--assignment", config["assignment"], "--out", str(out),
            "--course-root", str(_course_root()), "--seed", str(int(config.get("seed", 0))),
            "--jobs", "1", "--no-progress"]
    try:
        done = subprocess.run(args, cwd=work, capture_output=True, text=True,
                              timeout=GRADER_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, f"the grader did not finish within {GRADER_TIMEOUT} s"
    messages = (done.stdout + done.stderr).strip()
    print(messages)
    if done.returncode != 0:
        return None, f"the grader exited with code {done.returncode}"
    return load_results(results_path(out, student)), messages


def main() -> int:
    root = _root()
    config = json.loads((root / "source" / "gradescope.json").read_text(encoding="utf-8"))
    assignment = config["assignment"]
    student = student_id(root / "submission_metadata.json")
    results_file = root / "results" / "results.json"
    work = root / "grading"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700, parents=True)

    file, problem = choose_submission(root / "submission", assignment)
    submitted = clean(str(file.relative_to(root / "submission")), 300) if file else ""
    status = 0
    if file is None:
        result = _failed(assignment, student, f"your submission could not be graded: {problem}",
                         {"global_seed": config.get("seed", 0)})
    else:
        try:
            result, reason = _grade(file, student, config, work)
        except (OSError, ValueError) as error:  # the file could not be read: the student's row
            result, reason = _failed(assignment, student, f"your submission could not be read: "
                                     f"{clean(error, 500)}", {}), ""
        if result is None or result.get("extra_data", {}).get("grader_error"):
            why = reason if result is None else result["extra_data"]["grader_error"]
            result = _failed(assignment, student, GRADER_FAILED.format(reason=clean(why, 500)),
                             {"grader_error": clean(why, 500)})
            status = 1
    write_atomic(results_file, json.dumps(gradescope_results(result, submitted), indent=1))
    print(f"run_gradescope: {assignment}: score {result['score']} of {result['max_score']} "
          f"written to {results_file}")
    return status


if __name__ == "__main__":
    sys.exit(main())
