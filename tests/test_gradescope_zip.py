"""The Gradescope autograder zip (``python3 course.py gradescope 01_knn``), built and run for real.

1. The zip holds the scripts, the grader's requirements, the course wheel (autograder and utils
   with this assignment's suite only) and this assignment's reference notebook: nothing else
   of the course (no exercises, lectures, tests, examples, other assignments).
2. It is unpacked into a temporary root laid out like Gradescope's (``source/``,
   ``submission/``, ``results/``; ``AUTOGRADER_ROOT`` points the scripts there), ``setup.sh``
   installs a venv inside that root from the package index (skipped without an index, failed
   when ``CI`` is set, as in ``test_binder_build.py``), and ``run_autograder`` grades: the
   correct sample gets full marks, the untouched release 0, a forced fallback
   (``AUTOGRADER_ISOLATION=none``) a valid results.json with a visible note, a submission
   without a notebook 0 with the reason. Every results.json is checked against Gradescope's
   schema.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from helpers.ci import skip_or_fail
from helpers.loading import module_from_file

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_knn"
CORRECT = ROOT / "autograder" / "examples" / "submitted" / "correct_student" / ASSIGNMENT \
    / f"{ASSIGNMENT}.ipynb"
UNTOUCHED = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def _builder():
    return module_from_file(ROOT / "tools" / "build_gradescope.py")


def _suite_max_score() -> float:
    from autograder.grading import Assignment
    from autograder.runner import load_suite, max_score
    return float(max_score(load_suite(Assignment.find(ASSIGNMENT).suite_dir)))


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "AUTOGRADER_ISOLATION"}}
    env.update(AUTOGRADER_ROOT=str(root), PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    return _builder().build(ASSIGNMENT, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def gradescope_root(built_zip, tmp_path_factory) -> Path:
    """<tmp>/autograder laid out as Gradescope does, with setup.sh run for real."""
    if shutil.which("python3.11") is None:
        skip_or_fail("setup.sh needs python3.11 on PATH (it would apt-get install it)")
    scratch = tmp_path_factory.mktemp("gradescope")
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest",
                            str(scratch / "probe"), "tqdm"], capture_output=True, text=True,
                           timeout=300)
    if probe.returncode != 0:
        skip_or_fail("the package index cannot be reached, so setup.sh cannot install the "
                      f"grader:\n{probe.stderr[-1500:]}")
    root = scratch / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(built_zip) as archive:
        archive.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # zipfile does not restore permissions
        (root / "source" / name).chmod(0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    done = subprocess.run(["bash", "./setup.sh"], cwd=root / "source", env=_env(root),
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"setup.sh failed:\n{(done.stdout + done.stderr)[-4000:]}"
    assert (root / "venv" / "bin" / "python").exists()
    return root


def _grade(root: Path, files: dict[str, Path | bytes], metadata: dict | None = None,
           **env: str) -> tuple[dict, subprocess.CompletedProcess]:
    """Run run_autograder on a fresh submission/ holding ``files``; (results, process)."""
    for name in ("submission", "results"):
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name).mkdir()
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.read_bytes()
        (root / "submission" / name).write_bytes(data)
    meta = root / "submission_metadata.json"
    meta.unlink(missing_ok=True)
    if metadata is not None:
        meta.write_text(json.dumps(metadata))
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=_env(root, **env),
                          capture_output=True, text=True, timeout=600)
    results = root / "results" / "results.json"
    assert results.is_file(), f"no results.json:\n{(done.stdout + done.stderr)[-4000:]}"
    return json.loads(results.read_text()), done


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_schema(results: dict, max_score: float) -> list[dict]:
    """Gradescope's results.json fields; returns the suite's tests (visible entries)."""
    assert _is_number(results["score"]), results["score"]
    assert results["visibility"] in VISIBILITIES
    assert results.get("stdout_visibility", "hidden") in VISIBILITIES
    assert isinstance(results["output"], str)
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"], test
        assert _is_number(test["score"]) and _is_number(test["max_score"]), test
        assert 0 <= test["score"] <= test["max_score"], test
        assert isinstance(test["output"], str), test
        assert test["visibility"] in VISIBILITIES, test
        assert test.get("status", "passed") in {"passed", "failed"}, test
    graded = [t for t in results["tests"] if t["max_score"] > 0]
    assert sum(t["max_score"] for t in graded) == pytest.approx(max_score)
    assert results["score"] == pytest.approx(sum(t["score"] for t in graded))
    assert len(json.dumps(results)) < 1 << 20
    return graded


def test_zip_holds_only_what_the_grader_needs(built_zip):
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
        wheels = [n for n in names if n.startswith("wheels/")]
        assert len(wheels) == 1 and wheels[0].endswith("-py3-none-any.whl"), wheels
        reference = f"course/solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        assert names == {"setup.sh", "run_autograder", "run_gradescope.py", "gradescope.json",
                         "requirements.txt", reference, wheels[0]}, names
        assert archive.read(reference) == \
            (ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
        assert json.loads(archive.read("gradescope.json"))["assignment"] == ASSIGNMENT
        requirements = archive.read("requirements.txt").decode()
        wheel_bytes = archive.read(wheels[0])
    assert "numpy" in requirements and "pytest" in requirements
    assert "nbgrader" not in requirements and "-e" not in requirements
    wheel_path = built_zip.parent / "course.whl"
    wheel_path.write_bytes(wheel_bytes)
    with zipfile.ZipFile(wheel_path) as wheel:
        members = wheel.namelist()
    tops = {m.split("/", 1)[0] for m in members}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"autograder", "utils"}, tops
    suites = {m.split("/")[2] for m in members if m.startswith("autograder/suites/")}
    assert suites == {ASSIGNMENT, "conftest.py"}, suites
    assert any(m.startswith(f"autograder/suites/{ASSIGNMENT}/test_") for m in members)
    assert not [m for m in members if "/examples/" in m or m.endswith(".ipynb")], members
    for name in [*names, *members]:
        parts = set(Path(name).parts)
        assert not parts & {"exercises", "lectures", "tests", "benchmarks", "tools"}, name


def test_correct_sample_gets_full_marks(gradescope_root):
    results, done = _grade(gradescope_root, {f"{ASSIGNMENT}.ipynb": CORRECT})
    assert done.returncode == 0, done.stdout + done.stderr
    max_score = _suite_max_score()
    graded = _check_schema(results, max_score)
    assert results["score"] == pytest.approx(max_score), results
    assert all(t["status"] == "passed" and t["visibility"] == "visible" for t in graded)
    extra = results["extra_data"]
    assert extra["assignment"] == ASSIGNMENT and "grader_error" not in extra
    lost = extra["sandbox_lost"]
    assert ("reduced isolation" in results["output"]) == bool(lost), results["output"]
    assert len(results["tests"]) == len(graded) + (1 if lost else 0)


def test_untouched_release_scores_zero_with_a_seed_per_student(gradescope_root):
    results, done = _grade(gradescope_root, {"my notebook.ipynb": UNTOUCHED},
                           metadata={"users": [{"id": 4711, "email": "s@example.org"}]})
    assert done.returncode == 0, done.stdout + done.stderr
    graded = _check_schema(results, _suite_max_score())
    assert results["score"] == 0
    assert all(t["status"] == "failed" and "NotImplementedError" in t["output"] for t in graded)
    assert results["extra_data"]["student_id"] == "gradescope-4711"
    assert results["extra_data"]["submitted_file"] == "my notebook.ipynb"


def test_fallback_without_namespaces_gives_valid_results_and_a_note(gradescope_root):
    results, done = _grade(gradescope_root, {f"{ASSIGNMENT}.ipynb": CORRECT},
                           AUTOGRADER_ISOLATION="none")
    assert done.returncode == 0, done.stdout + done.stderr
    graded = _check_schema(results, _suite_max_score())
    assert results["score"] == pytest.approx(_suite_max_score())
    assert "protections lost" in done.stdout + done.stderr  # the grader's warning, for logs
    lost = results["extra_data"]["sandbox_lost"]
    assert any(x.startswith("private file-system view") for x in lost), lost
    assert results["visibility"] == "visible"
    assert results["output"].startswith("Note: this grading machine ran the grader's sandbox "
                                        "with reduced isolation"), results["output"]
    hidden = [t for t in results["tests"] if t not in graded]
    assert len(hidden) == 1 and hidden[0]["visibility"] == "hidden", hidden
    assert hidden[0]["score"] == hidden[0]["max_score"] == 0
    assert all(x in hidden[0]["output"] for x in lost), hidden[0]


def test_submission_without_a_notebook_gets_zero_and_the_reason(gradescope_root):
    results, done = _grade(gradescope_root, {"answers.txt": b"I did it all"})
    assert done.returncode == 0, done.stdout + done.stderr
    graded = _check_schema(results, _suite_max_score())
    assert results["score"] == 0
    assert all("no notebook was found" in t["output"] for t in graded), graded
    assert f"{ASSIGNMENT}.ipynb" in results["output"]


def test_a_broken_grader_still_writes_results_and_fails_the_run(gradescope_root):
    reference = gradescope_root / "source" / "course" / "solutions" / ASSIGNMENT \
        / f"{ASSIGNMENT}.ipynb"
    original = reference.read_bytes()
    reference.write_bytes(b"{ not a notebook")
    try:
        results, done = _grade(gradescope_root, {f"{ASSIGNMENT}.ipynb": CORRECT})
    finally:
        reference.write_bytes(original)
    assert done.returncode == 1, done.stdout + done.stderr
    graded = _check_schema(results, _suite_max_score())
    assert results["score"] == 0
    assert "The autograder failed on this submission" in results["output"]
    assert all("tell your instructor" in t["output"] for t in graded)
    assert "grader_error" in results["extra_data"]


def test_unknown_assignment_is_refused_in_words(tmp_path):
    with pytest.raises(SystemExit, match="no assignment '99_nothing'.*known: 01_knn"):
        _builder().build("99_nothing", tmp_path)
    with pytest.raises(SystemExit, match="not an assignment name"):
        _builder().build("../solutions", tmp_path)
    assert not list(tmp_path.iterdir())
