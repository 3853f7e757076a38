"""nbgrader side by side: the test cells run the hidden suite (autograder/nbgrader_bridge.py).

Fast:
- every solution notebook's test cells, rewritten by tools/hidden_tests.py, name exactly one
  hidden-suite test each, with equal points, and every suite test has its cell;
- the rewrite keeps what students see (nbgrader's own ClearHiddenTests output, which never
  holds the bridge), cell ids and metadata, publishes the score before the visible
  self-check, and is idempotent;
- grading in process (the bridge) equals grading in the sandbox, per test and word for word
  (01_knn samples and crafted submissions; every assignment's solution and exercise);
- the bridge grades nbgrader's submitted file under the student's id, prints the test's
  outcome and writes nothing to stderr; a hanging call is stopped and its worker replaced.
Slow:
- on the sample submissions and crafted ones with partial scores, ``nbgrader autograde`` (a
  throwaway course whose source is the rewritten solution notebook) and
  ``python -m autograder grade`` give the same score PER TEST, and the release generated
  there does not contain the bridge; the throughput benchmark runs.

The notebooks are rewritten into tmp from solutions/ by the tests themselves, so they hold
before and after the rewrite is applied to solutions/.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, solution_notebooks
from helpers import peer
from helpers.crafting import CORRECT_EXAMPLE, EXAMPLES, craft
from helpers.loading import module_from_file

from autograder.errors import StudentTimeout
from autograder.extract import GradedCell
from autograder.grading import Assignment, Grader
from autograder.nbgrader_bridge import (
    CappedOutput,
    InProcessSession,
    hidden_test,
    in_process_grader,
)
from autograder.proxy import StudentProxy
from autograder.runner import load_suite
from autograder.sandbox import SandboxSettings
from autograder.submissions import discover

tool = module_from_file(ROOT / "tools" / "hidden_tests.py")


def _id(path):
    return str(path.relative_to(ROOT))


def _rewritten(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    tool.rewrite(nb, path.stem, tool.suite_tests(path.stem))
    return nb


def _test_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"
            and c["metadata"].get("nbgrader", {}).get("grade")
            and not c["metadata"]["nbgrader"].get("solution")]


def _bridge_calls(source: str) -> list[tuple]:
    """The (assignment, test) of every ``hidden_test(...)`` call in a cell's source."""
    return [tuple(ast.literal_eval(a) for a in node.args) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hidden_test"]


def _suite_points(assignment: str) -> dict[str, float]:
    points: dict[str, float] = {}
    for test in load_suite(ROOT / "autograder" / "suites" / assignment):
        points[test.function.__name__] = points.get(test.function.__name__, 0) + test.points
    return points


def _test_of_cell(nb: dict) -> dict[str, str]:
    """grade_id -> the suite test function its hidden region runs."""
    return {c["metadata"]["nbgrader"]["grade_id"]: _bridge_calls(tool.source_text(c))[0][1]
            for c in _test_cells(nb)}


# ---------------------------------------------------------------- the mapping and the rewrite


@pytest.mark.parametrize("path", solution_notebooks(), ids=_id)
def test_every_test_cell_runs_exactly_one_suite_test_with_equal_points(path):
    assignment = path.stem
    nb = _rewritten(path)
    points = _suite_points(assignment)
    named = []
    for cell in _test_cells(nb):
        grade_id = cell["metadata"]["nbgrader"]["grade_id"]
        calls = _bridge_calls(tool.source_text(cell))
        assert len(calls) == 1, f"{grade_id}: {len(calls)} hidden_test calls"
        called_assignment, test = calls[0]
        assert called_assignment == assignment
        assert test in points, f"{grade_id} runs {test}, which the suite does not define"
        assert float(cell["metadata"]["nbgrader"]["points"]) == points[test], grade_id
        named.append(test)
    assert sorted(named) == sorted(points), "each suite test must have exactly one test cell"


def _student_view(nb: dict) -> list[str]:
    """Every cell's source as nbgrader's generate_assignment leaves it (hidden tests cleared)."""
    from nbgrader.preprocessors import ClearHiddenTests
    node = nbformat.from_dict(copy.deepcopy(nb))
    node, _ = ClearHiddenTests().preprocess(node, {})
    return [c.source.strip("\n") for c in node.cells]


@pytest.mark.parametrize("path", solution_notebooks(), ids=_id)
def test_rewrite_keeps_what_students_see_ids_and_metadata(path):
    original = json.loads(path.read_text(encoding="utf-8"))
    nb = _rewritten(path)
    assert _student_view(nb) == _student_view(original)
    assert not any("nbgrader_bridge" in s or "hidden_test" in s for s in _student_view(nb))
    assert len(nb["cells"]) == len(original["cells"])
    tests = {id(c) for c in _test_cells(nb)}
    for before, after in zip(original["cells"], nb["cells"], strict=True):
        assert {k: v for k, v in before.items() if k != "source"} == \
            {k: v for k, v in after.items() if k != "source"}
        if id(after) not in tests:
            assert before == after
    for cell in _test_cells(nb):
        source = tool.source_text(cell)
        # One hidden region, first: the score is published before the visible self-check.
        assert source.startswith(tool.BEGIN) and source.count(tool.BEGIN) == 1
        assert not tool.visible_part(source).rstrip().endswith(";")
    again = copy.deepcopy(nb)
    assert tool.rewrite(again, path.stem, tool.suite_tests(path.stem)) == [] and again == nb


def _fake_notebook(cells: list[tuple[str, float]]) -> dict:
    return {"cells": [{"cell_type": "code", "source": "check(f)\n### BEGIN HIDDEN TESTS\nx\n"
                       "### END HIDDEN TESTS", "metadata": {"nbgrader": {
                           "grade": True, "solution": False, "grade_id": g, "points": p}}}
                      for g, p in cells]}


def test_the_mapping_rule_and_its_refusals():
    tests = {"test_predict_labels": 2.0, "test_linear_classifier": 4.0,
             "test_knn_classifier": 2.0}
    assert tool.suite_test_for("01_knn", "test_predict_labels", tests) == "test_predict_labels"
    assert tool.suite_test_for("x", "test_LinearClassifier", tests) == "test_linear_classifier"
    assert tool.suite_test_for("01_knn", "test_KNearestNeighbor", tests) == \
        "test_knn_classifier"  # from ALIASES
    assert tool.suite_test_for("x", "test_KNearestNeighbor", tests) is None
    good = _fake_notebook([("test_predict_labels", 2)])
    assert tool.rewrite(good, "a", {"test_predict_labels": 2.0}) == ["test_predict_labels"]
    assert tool.source_text(good["cells"][0]).endswith("\ncheck(f)")
    for cells, suite, why in [
            ([("test_predict_labels", 3)], {"test_predict_labels": 2.0}, "worth 3"),
            ([("test_predict_labels", 2)], {"test_predict_labels": 2.0, "test_x": 1.0},
             "test_x has no test cell"),
            ([("test_other", 2)], {"test_predict_labels": 2.0}, "no hidden-suite test"),
            ([("test_x", 1), ("test_X", 1)], {"test_x": 1.0}, "both map to test_x")]:
        nb = _fake_notebook(cells)
        with pytest.raises(tool.HiddenTestsError, match=why):
            tool.rewrite(nb, "a", suite)
        assert nb == _fake_notebook(cells), "nothing may change when the rewrite is refused"


# ---------------------------------------------------------------- crafted submissions (01_knn)

STDERR_NO_SQRT = '''import sys
import warnings


def compute_distances_two_loops(X_train, X):
    """Squared distances (no square root), with debugging output on stderr."""
    print("two loops called", file=sys.stderr)
    warnings.warn("a warning from the student's code")
    _ = np.ones(1) / 0.0  # numpy's RuntimeWarning: divide by zero
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sum((X[i] - X_train[j]) ** 2)
    return dists
'''
HELPER_ONE_LOOP = '''def compute_distances_one_loop(X_train, X):
    """One loop, through a helper defined in an ungraded cell (which the grader never runs)."""
    dists = np.zeros((X.shape[0], X_train.shape[0]))
    for i in range(X.shape[0]):
        dists[i] = _row_distances(X_train, X[i])
    return dists
'''
HELPER_CELL = '''def _row_distances(X_train, x):
    return np.sqrt(np.sum((X_train - x) ** 2, axis=1))
'''
TIES_LARGEST = '''def predict_labels(dists, y_train, k=1):
    """Majority vote; ties go to the LARGEST label (the wrong rule)."""
    y_pred = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        closest_y = y_train[np.argsort(dists[i], kind="stable")[:k]]
        labels, counts = np.unique(closest_y, return_counts=True)
        y_pred[i] = labels[len(labels) - 1 - np.argmax(counts[::-1])]
    return y_pred
'''
FOLDS_INCLUDED = '''def cross_validate(X, y, k_choices, num_folds=5):
    """Wrong: trains on every point, the validation fold included."""
    X_folds = np.array_split(X, num_folds)
    y_folds = np.array_split(y, num_folds)
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for fold in range(num_folds):
            model = KNearestNeighbor()
            model.train(X, y)
            predicted = model.predict(X_folds[fold], k=k)
            k_to_accuracies[k].append(np.mean(predicted == y_folds[fold]))
    return k_to_accuracies
'''


def _with_ungraded_cell_before(raw: bytes, grade_id: str, source: str) -> bytes:
    nb = json.loads(raw)
    at = next(i for i, c in enumerate(nb["cells"])
              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    nb["cells"].insert(at, {"cell_type": "code", "execution_count": None, "id": "own-helper",
                            "metadata": {}, "outputs": [], "source": source})
    return json.dumps(nb).encode("utf-8")


def crafted_submissions() -> dict[str, bytes]:
    """Student id -> notebook bytes: mistakes that earn partial credit in several tests."""
    return {
        "stderr_and_folds": craft(CORRECT_EXAMPLE, replace={
            "compute_distances_two_loops": STDERR_NO_SQRT, "cross_validate": FOLDS_INCLUDED}),
        "helper_outside_and_ties": _with_ungraded_cell_before(
            craft(CORRECT_EXAMPLE, replace={"compute_distances_one_loop": HELPER_ONE_LOOP,
                                            "predict_labels": TIES_LARGEST}),
            "compute_distances_one_loop", HELPER_CELL),
    }


def all_submissions() -> dict[str, bytes]:
    samples = {p.parents[1].name: p.read_bytes()
               for p in sorted(EXAMPLES.glob("*/01_knn/01_knn.ipynb"))}
    return {**samples, **crafted_submissions()}


# ---------------------------------------------------------------- in process = in the sandbox


def test_grading_in_process_equals_grading_in_the_sandbox(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for student_id, raw in all_submissions().items():
        (folder / f"{student_id}.ipynb").write_bytes(raw)
    submissions = discover(folder, "01_knn")
    ours = in_process_grader("01_knn")
    sandboxed = Grader(Assignment.find("01_knn"), SandboxSettings.for_course(ROOT, tmp_path))
    try:
        for submission in submissions:
            here, there = ours.grade(submission), sandboxed.grade(submission)
            fields = ("name", "score", "max_score", "status", "output")
            assert [{k: t[k] for k in fields} for t in here["tests"]] == \
                [{k: t[k] for k in fields} for t in there["tests"]], submission.student_id
            assert here["score"] == there["score"]
    finally:
        sandboxed.close()


@pytest.mark.parametrize("path", solution_notebooks(), ids=_id)
def test_every_assignment_grades_the_same_in_process_and_in_the_sandbox(path, tmp_path):
    """The solution (full marks) and its untouched exercise (zero), both ways."""
    assignment = path.stem
    exercise = ROOT / "exercises" / assignment / path.name
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "solution.ipynb").write_bytes(path.read_bytes())
    (folder / "exercise.ipynb").write_bytes(exercise.read_bytes())
    ours = in_process_grader(assignment)
    sandboxed = Grader(Assignment.find(assignment), SandboxSettings.for_course(ROOT, tmp_path))
    try:
        for submission in discover(folder, assignment):
            here, there = ours.grade(submission), sandboxed.grade(submission)
            assert [(t["name"], t["score"], t["output"]) for t in here["tests"]] == \
                [(t["name"], t["score"], t["output"]) for t in there["tests"]]
    finally:
        sandboxed.close()


def test_student_output_and_warnings_never_reach_stderr(tmp_path, capfd):
    (tmp_path / "stderr_and_folds.ipynb").write_bytes(crafted_submissions()["stderr_and_folds"])
    result = in_process_grader("01_knn").grade(discover(tmp_path, "01_knn")[0])
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert "two loops called" in result["extra_data"]["printed"]
    assert "a warning from the student's code" in result["extra_data"]["printed"]


def _nbgrader_layout(tmp_path: Path, submitted: bytes | None, autograded: bytes) -> Path:
    """<course>/autograded/alice/01_knn/ (returned) and, if given, the submitted file."""
    work = tmp_path / "course" / "autograded" / "alice" / "01_knn"
    work.mkdir(parents=True)
    (work / "01_knn.ipynb").write_bytes(autograded)
    if submitted is not None:
        folder = tmp_path / "course" / "submitted" / "alice" / "01_knn"
        folder.mkdir(parents=True)
        (folder / "01_knn.ipynb").write_bytes(submitted)
    return work


def _sandboxed_score(tmp_path: Path, raw: bytes, student_id: str, test: str) -> float:
    path = tmp_path / "expected" / f"{student_id}.ipynb"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(raw)
    grader = Grader(Assignment.find("01_knn"), SandboxSettings.for_course(ROOT, tmp_path))
    try:
        result = grader.grade(discover(path, "01_knn")[0], 0)
    finally:
        grader.close()
    return sum(t["score"] for t in result["tests"] if t["name"].endswith(f"::{test}"))


def _printed_score(text: str, test: str) -> float:
    return float(re.search(rf"::{test}: ([0-9.]+) / [0-9.]+ points", text).group(1))


def test_hidden_test_grades_the_submitted_file_of_the_student_folder(tmp_path, monkeypatch,
                                                                       capfd):
    wrong = crafted_submissions()["helper_outside_and_ties"]
    work = _nbgrader_layout(tmp_path, submitted=wrong, autograded=CORRECT_EXAMPLE.read_bytes())
    monkeypatch.chdir(work)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("AUTOGRADER_SEED", raising=False)
    hidden_test("01_knn", "test_predict_labels")
    captured = capfd.readouterr()
    assert captured.err == ""
    assert "Hidden tests" in captured.out
    expected = _sandboxed_score(tmp_path, wrong, "alice", "test_predict_labels")
    assert 0 < expected < 2
    assert _printed_score(captured.out, "test_predict_labels") == pytest.approx(expected)


def test_hidden_test_falls_back_to_the_notebook_it_runs_in(tmp_path, monkeypatch, capfd):
    wrong = crafted_submissions()["helper_outside_and_ties"]
    work = _nbgrader_layout(tmp_path, submitted=None, autograded=wrong)
    monkeypatch.chdir(work)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("AUTOGRADER_SEED", raising=False)
    hidden_test("01_knn", "test_predict_labels")
    expected = _sandboxed_score(tmp_path, wrong, "alice", "test_predict_labels")
    assert _printed_score(capfd.readouterr().out, "test_predict_labels") == \
        pytest.approx(expected)
    monkeypatch.delenv("NBGRADER_EXECUTION")  # validating or running the notebook itself
    hidden_test("01_knn", "test_predict_labels")
    expected = _sandboxed_score(tmp_path, wrong, "01_knn", "test_predict_labels")
    assert _printed_score(capfd.readouterr().out, "test_predict_labels") == \
        pytest.approx(expected)


def test_a_hanging_call_is_stopped_and_its_worker_replaced():
    cells = [GradedCell("a", "a", "def hang():\n    while True:\n        pass\n"),
             GradedCell("b", "b", "def one():\n    return 1\n")]
    settings = SandboxSettings(call_timeout=1.0, submission_timeout=30.0)
    session = InProcessSession(settings, [c.source for c in cells])
    try:
        student = StudentProxy(session, cells)
        with pytest.raises(StudentTimeout):
            student.hang()
        assert student.one() == 1
        assert session.generation == 2
        assert any("time-out" in event for event in session.events)
    finally:
        session.close()


def test_output_past_the_cap_fails_like_the_sandboxs_full_output_file():
    sink = CappedOutput(max_bytes=10)
    sink.write("0123456789")
    with pytest.raises(OSError, match="File too large"):
        sink.write("x")
    assert sink.text() == "0123456789"


# ---------------------------------------------------------------- nbgrader autograde itself


def _decisive_output(cell: dict) -> dict | None:
    """The output nbgrader's determine_grade decides on: the first error, stderr or result."""
    for output in cell.get("outputs", []):
        if output["output_type"] in ("error", "execute_result") or (
                output["output_type"] == "stream" and output["name"] == "stderr"):
            return output
    return None


def _our_scores(out: Path) -> dict[str, dict[str, float]]:
    """Per student and suite test function, the scores in the grade command's results.json."""
    scores: dict[str, dict[str, float]] = {}
    for path in out.rglob("results.json"):
        result = json.loads(path.read_text())
        per_test = scores.setdefault(result["extra_data"]["student_id"], {})
        for test in result["tests"]:
            name = test["name"].split("::")[-1].split("[")[0]
            per_test[name] = per_test.get(name, 0.0) + test["score"]
    return scores


@pytest.mark.slow
def test_nbgrader_and_this_grader_give_the_same_score_per_test(tmp_path):
    source = tmp_path / "source" / "01_knn.ipynb"
    tool.rewrite_notebook(ROOT / "solutions" / "01_knn" / "01_knn.ipynb", out=source)
    test_of = _test_of_cell(json.loads(source.read_text()))
    course = peer.prepare_course(ROOT, tmp_path, "01_knn", source=source)
    release = (course / "exercises" / "01_knn" / "01_knn.ipynb").read_text()
    assert "nbgrader_bridge" not in release and "hidden_test" not in release
    submissions = {s: peer.lighten(raw) for s, raw in all_submissions().items()}
    peer.autograde(course, "01_knn", submissions)
    theirs = peer.read_cell_scores(course, "01_knn", list(submissions))
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(course),
                           "--assignment", "01_knn", "--out", str(tmp_path / "ours"),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ours = _our_scores(tmp_path / "ours")
    assert sorted(ours) == sorted(submissions)

    table = [(s, gid, theirs[s][gid], ours[s][test])
             for s in submissions for gid, test in test_of.items()]
    differ = [row for row in table if row[2] is None or abs(row[2] - row[3]) > 1e-9]
    assert not differ, "nbgrader vs this grader (student, cell, nbgrader, ours):\n" + \
        "\n".join(map(str, differ))
    assert sum(ours["correct_student"].values()) == 14
    assert sum(theirs["untouched_release"].values()) == 0
    points = _suite_points("01_knn")
    partial = [row for row in table if 0 < row[3] < points[test_of[row[1]]]]
    assert len({row[0] for row in partial}) >= 2, "too few partial scores were compared"

    for student_id in submissions:
        nb = json.loads((course / "autograded" / student_id / "01_knn" / "01_knn.ipynb")
                        .read_text())
        for cell in _test_cells(nb):
            decisive = _decisive_output(cell)
            assert decisive is not None and decisive["output_type"] == "execute_result", \
                (student_id, cell["metadata"]["nbgrader"]["grade_id"], decisive)
    # The visible self-check of this student writes to stderr (after the score): no effect.
    nb = json.loads((course / "autograded" / "stderr_and_folds" / "01_knn" / "01_knn.ipynb")
                    .read_text())
    cell = next(c for c in _test_cells(nb)
                if c["metadata"]["nbgrader"]["grade_id"] == "test_compute_distances_two_loops")
    assert any(o["output_type"] == "stream" and o["name"] == "stderr" for o in cell["outputs"])


@pytest.mark.slow
def test_benchmark_quick_mode_runs():
    done = subprocess.run([sys.executable, "benchmarks/grading_throughput.py", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("N="))
    assert re.search(r"ratio +[0-9.]+x", line) and "agree on full marks and zeros" in line
