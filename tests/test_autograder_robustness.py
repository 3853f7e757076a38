"""Hostile and broken submissions: each is scored, explained, and leaves the grader, the other
submissions and the files on disk intact."""

from __future__ import annotations

import builtins
import hashlib
import socket
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers.crafting import CORRECT_EXAMPLE, EXAMPLES, craft

from autograder import confine
from autograder.grading import COURSE_ROOT, Assignment, Grader
from autograder.sandbox import SandboxSettings

ONE_LOOP = "test_knn.py::test_compute_distances_one_loop"
TWO_LOOPS = "test_knn.py::test_compute_distances_two_loops"
NO_LOOPS = "test_knn.py::test_compute_distances_no_loops"
PREDICT = "test_knn.py::test_predict_labels"
CLASSIFIER = "test_knn.py::test_knn_classifier"
CROSS_VALIDATE = "test_knn.py::test_cross_validate"

PROTECTED = [*sorted((COURSE_ROOT / "solutions").rglob("*.ipynb")),
             *sorted((COURSE_ROOT / "autograder" / "suites").rglob("*.py")),
             *sorted(EXAMPLES.rglob("*.ipynb"))]


def _hashes() -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in PROTECTED}


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    settings = SandboxSettings.for_course(COURSE_ROOT, out, call_timeout=1.0,
                                          load_timeout=2.0, submission_timeout=8.0,
                                          memory_bytes=256 << 20, isolation="full")
    g = Grader(Assignment.find("01_knn"), settings)
    before = _hashes()
    yield g
    g.close()
    assert _hashes() == before, "a protected file changed during grading"
    deadline = time.monotonic() + 5  # a SIGKILLed process takes a moment to disappear
    while confine.processes_of(g.sandbox.uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert confine.processes_of(g.sandbox.uid) == [], "processes of the sandbox uid survived"


def _grade(grader, raw: bytes, student_id: str = "mallory") -> dict:
    result = grader.grade_bytes(student_id, raw, "crafted")
    # The grader is intact: a correct submission graded right after still gets full marks.
    check = grader.grade_bytes("honest", CORRECT_EXAMPLE.read_bytes(), "example")
    assert check["score"] == check["max_score"] == 14, check["tests"]
    return result


def _by_name(result: dict) -> dict[str, dict]:
    return {t["name"]: t for t in result["tests"]}


def _assert_others_full(result: dict, *affected: str) -> None:
    for name, test in _by_name(result).items():
        if name not in affected:
            assert test["score"] == test["max_score"], (name, test["output"])


def _replace(fn_source: str, grade_id: str) -> bytes:
    return craft(CORRECT_EXAMPLE, replace={grade_id: fn_source})


PREDICT_HEADER = "def predict_labels(dists, y_train, k=1):\n"
CV_HEADER = "def cross_validate(X, y, k_choices, num_folds=5):\n"


def test_correct_example_full_marks(grader):
    result = _grade(grader, CORRECT_EXAMPLE.read_bytes(), "correct")
    assert result["score"] == 14 and result["extra_data"]["sandbox_lost"] == []


@pytest.mark.slow
@pytest.mark.parametrize("body", [
    "    while True:\n        pass\n",
    "    import signal\n    for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT):\n"
    "        signal.signal(s, signal.SIG_IGN)\n    signal.alarm(0)\n    while True:\n"
    "        pass\n",
], ids=["while-true", "ignores-signals"])
def test_hang_is_killed_from_outside(grader, body):
    result = _grade(grader, _replace(CV_HEADER + body, "cross_validate"))
    cv = _by_name(result)[CROSS_VALIDATE]
    assert cv["score"] == 0 and "took longer than the limit" in cv["output"]
    _assert_others_full(result, CROSS_VALIDATE)


@pytest.mark.parametrize("body,words", [
    ("    import os\n    os.abort()\n", "died"),
    ("    import ctypes\n    ctypes.string_at(0)\n", "died"),
    ("    import os\n    os._exit(0)\n", "died"),
    ("    import sys\n    sys.exit(0)\n", "SystemExit"),
], ids=["abort", "segfault", "os-exit", "sys-exit"])
def test_crash_and_exit(grader, body, words):
    result = _grade(grader, _replace(PREDICT_HEADER + body, "predict_labels"))
    tests = _by_name(result)
    assert tests[PREDICT]["score"] == 0 and words in tests[PREDICT]["output"]
    # The worker is restarted for the next test: the distance tests ran before and after.
    _assert_others_full(result, PREDICT, CLASSIFIER, CROSS_VALIDATE)


@pytest.mark.parametrize("body", [
    "    return np.ones(1 << 40)\n",
    "    hog = []\n    while True:\n        hog.append(bytearray(50 << 20))\n",
], ids=["one-huge-array", "gradual"])
def test_memory_bomb(grader, body):
    result = _grade(grader, _replace(PREDICT_HEADER + body, "predict_labels"))
    predict = _by_name(result)[PREDICT]
    assert predict["score"] == 0 and "MemoryError" in predict["output"]
    _assert_others_full(result, PREDICT, CLASSIFIER, CROSS_VALIDATE)


def test_stdout_flood_and_fake_results(grader):
    body = ("    print('ALL TESTS PASSED: 14/14 <b>full marks</b>')\n"
            "    while True:\n        print('x' * 10000)\n")
    result = _grade(grader, _replace(PREDICT_HEADER + body, "predict_labels"))
    predict = _by_name(result)[PREDICT]
    assert predict["score"] == 0 and "File too large" in predict["output"]
    printed = result["extra_data"]["printed"]
    assert printed.startswith("ALL TESTS PASSED") and len(printed) <= 4000
    from autograder.reports import feedback_html
    page = feedback_html(result)
    assert "<b>full marks</b>" not in page and "&lt;b&gt;full marks&lt;/b&gt;" in page


@pytest.mark.parametrize("body", [
    "    import os\n    for _ in range(50):\n        os.fork()\n    return None\n",
    "    import subprocess\n    return subprocess.run(['sleep', '30']).returncode\n",
], ids=["fork-bomb", "subprocess"])
def test_no_new_processes(grader, body):
    result = _grade(grader, _replace(PREDICT_HEADER + body, "predict_labels"))
    predict = _by_name(result)[PREDICT]
    assert predict["score"] == 0
    assert "BlockingIOError" in predict["output"] or "Resource temporarily" in predict["output"]
    _assert_others_full(result, PREDICT, CLASSIFIER, CROSS_VALIDATE)


def test_monkeypatching_numpy_and_builtins_stays_in_the_worker(grader):
    tamper = ("import builtins\n"
              "np.allclose = lambda *a, **k: True\n"
              "np.array_equal = lambda *a, **k: True\n"
              "np.isclose = lambda a, b, **k: np.ones(np.shape(a), dtype=bool)\n"
              "builtins.isinstance = lambda *a: True\n"
              "builtins.abs = lambda x: 0\n\n" + PREDICT_HEADER +
              "    return np.zeros(dists.shape[0], dtype=np.int64)\n")
    allclose, isinstance_, abs_ = np.allclose, builtins.isinstance, builtins.abs
    result = _grade(grader, _replace(tamper, "predict_labels"))
    assert np.allclose is allclose and builtins.isinstance is isinstance_
    assert builtins.abs is abs_
    assert _by_name(result)[PREDICT]["score"] < 2 / 3


LYING_CV = '''
class _LyingFloat(float):
    def __eq__(self, other):
        return True
    def __float__(self):
        return 1.0

def cross_validate(X, y, k_choices, num_folds=5):
    return {k: [_LyingFloat(-1.0)] * num_folds for k in k_choices}
'''


def test_lying_objects_do_not_survive(grader):
    liars = '''
class _Liar:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__

class _LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

def predict_labels(dists, y_train, k=1):
    if k == 1:
        return _Liar()
    return np.full(dists.shape[0], -7, dtype=np.int64).view(_LyingArray)
'''
    raw = craft(CORRECT_EXAMPLE, replace={"predict_labels": liars, "cross_validate": LYING_CV})
    result = _grade(grader, raw)
    tests = _by_name(result)
    assert tests[PREDICT]["score"] == 0
    assert "object of your class `_Liar`" in tests[PREDICT]["output"]
    assert tests[CROSS_VALIDATE]["score"] == 0  # -1.0 travels as -1.0, whatever __eq__ says


def test_cannot_read_solutions_suites_or_other_submissions(grader):
    probe = f'''
def compute_distances_two_loops(X_train, X):
    import os
    secrets = {[str(p) for p in PROTECTED[:3]] + [str(COURSE_ROOT / "solutions"),
                str(EXAMPLES), str(COURSE_ROOT / "autograder" / "suites")]!r}
    for path in secrets:
        try:
            if os.path.isdir(path):
                listing = os.listdir(path)
                if listing:
                    raise RuntimeError("LEAK: listed " + path)
            else:
                open(path).read(10)
                raise RuntimeError("LEAK: read " + path)
        except OSError:
            pass
    return np.sqrt(((X[:, None, :] - X_train[None, :, :]) ** 2).sum(-1))
'''
    result = _grade(grader, _replace(probe, "compute_distances_two_loops"))
    two = _by_name(result)[TWO_LOOPS]
    assert "LEAK" not in two["output"] and two["score"] == two["max_score"], two["output"]


def test_cannot_write_outside_scratch(grader, tmp_path):
    targets = [COURSE_ROOT / "solutions" / "01_knn" / "01_knn.ipynb",
               COURSE_ROOT / "grades.csv", tmp_path / "results.json", Path("/etc/evil"),
               COURSE_ROOT / "autograder" / "suites" / "01_knn" / "test_knn.py"]
    probe = f'''
def compute_distances_one_loop(X_train, X):
    written = []
    for path in {[str(t) for t in targets]!r}:
        try:
            with open(path, "a") as handle:
                handle.write("hacked")
            written.append(path)
        except OSError:
            pass
    with open("results.json", "w") as handle:  # the scratch folder is the one writable place
        handle.write('{{"score": 999}}')
    if written:
        raise RuntimeError("LEAK: wrote " + ", ".join(written))
    return np.sqrt(((X[:, None, :] - X_train[None, :, :]) ** 2).sum(-1))
'''
    result = _grade(grader, _replace(probe, "compute_distances_one_loop"))
    one = _by_name(result)[ONE_LOOP]
    assert one["score"] == one["max_score"], one["output"]
    assert result["score"] == 14
    assert not (tmp_path / "results.json").exists() and not Path("/etc/evil").exists()


def test_no_network(grader):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(1.5)
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: _accept(server, accepted), daemon=True)
    thread.start()
    probe = f'''
def compute_distances_two_loops(X_train, X):
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=0.5).close()
        raise RuntimeError("LEAK: connected")
    except OSError:
        pass
    return np.sqrt(((X[:, None, :] - X_train[None, :, :]) ** 2).sum(-1))
'''
    result = _grade(grader, _replace(probe, "compute_distances_two_loops"))
    thread.join(5)
    server.close()
    assert not accepted
    two = _by_name(result)[TWO_LOOPS]
    assert two["score"] == two["max_score"], two["output"]


def _accept(server, accepted):
    try:
        accepted.append(server.accept())
    except OSError:
        pass


def test_invalid_json_notebook(grader):
    result = _grade(grader, b'{"cells": [ this is not json')
    assert result["score"] == 0
    assert all("not a valid notebook" in t["output"] for t in result["tests"])


def test_missing_cell(grader):
    result = _grade(grader, craft(CORRECT_EXAMPLE, drop={"predict_labels"}))
    tests = _by_name(result)
    assert tests[PREDICT]["score"] == 0
    assert "does not define `predict_labels`" in tests[PREDICT]["output"]
    assert "was not found in the submission" in result["output"]
    assert tests[TWO_LOOPS]["score"] == 2 and tests[NO_LOOPS]["score"] == 3


def test_renamed_function(grader):
    raw = craft(CORRECT_EXAMPLE, rename={"def predict_labels(": "def predict_label("})
    tests = _by_name(_grade(grader, raw))
    assert tests[PREDICT]["score"] == 0
    assert "did you rename it? found `predict_label`" in tests[PREDICT]["output"]


def test_lost_metadata_is_matched_by_cell_id_or_names(grader):
    result = _grade(grader, craft(CORRECT_EXAMPLE, strip_metadata=True))
    assert result["score"] == 14 and result["output"] == ""


def test_top_level_exit_in_a_cell_is_reported(grader):
    raw = craft(CORRECT_EXAMPLE, replace={"cross_validate": "import sys\nsys.exit(3)\n"})
    result = _grade(grader, raw)
    assert "graded cell 6 raised SystemExit" in result["output"]
    assert _by_name(result)[CROSS_VALIDATE]["score"] == 0
    _assert_others_full(result, CROSS_VALIDATE)


def test_forced_fallback_warns_and_still_grades(tmp_path):
    settings = SandboxSettings.for_course(COURSE_ROOT, tmp_path, isolation="none")
    g = Grader(Assignment.find("01_knn"), settings)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = g.grade_bytes("fallback", CORRECT_EXAMPLE.read_bytes(), "example")
        assert result["score"] == 14
        lost = " ".join(result["extra_data"]["sandbox_lost"])
        assert "private file-system view" in lost and "unprivileged user" in lost
        assert any("sandbox weakened" in str(w.message) for w in caught)
    finally:
        g.close()


@pytest.mark.parametrize("body,words", [
    ("    out = []\n    for _ in range(200):\n        out = [out]\n    return out\n",
     "nested too deeply"),
    ("    return np.array(['a', 'b'])\n", "numbers only"),
    ("    return np.ones(12_000_000)\n", ("limit", "more memory")),
    ("    return print\n", "object of your class"),
], ids=["deep-nesting", "string-array", "huge-reply", "function"])
def test_unacceptable_return_values(grader, body, words):
    result = _grade(grader, _replace(PREDICT_HEADER + body, "predict_labels"))
    predict = _by_name(result)[PREDICT]
    words = (words,) if isinstance(words, str) else words
    assert predict["score"] == 0 and any(w in predict["output"] for w in words), \
        predict["output"]
    _assert_others_full(result, PREDICT, CLASSIFIER, CROSS_VALIDATE)


def test_a_slow_but_correct_vectorised_version_keeps_full_marks(grader):
    """Nothing measured in seconds earns or loses points: a correct, loop-free function that
    sleeps still gets every part (speed is judged from the code, never from the clock)."""
    slow = ("def compute_distances_no_loops(X_train, X):\n    import time\n"
            "    time.sleep(0.03)\n"
            "    d = np.sum(X ** 2, 1)[:, None] + np.sum(X_train ** 2, 1) - 2 * X @ X_train.T\n"
            "    return np.sqrt(np.maximum(d, 0))\n")
    result = _grade(grader, _replace(slow, "compute_distances_no_loops"))
    no_loops = _by_name(result)[NO_LOOPS]
    assert no_loops["score"] == no_loops["max_score"], no_loops["output"]


@pytest.mark.slow
def test_a_cell_that_hangs_at_load_time(grader):
    raw = craft(CORRECT_EXAMPLE, replace={"cross_validate": "while True:\n    pass\n"})
    result = _grade(grader, raw)
    assert result["score"] == 0 and "loading" in result["output"]
    assert all("could not be loaded" in t["output"] for t in result["tests"])
