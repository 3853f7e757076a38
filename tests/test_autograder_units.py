"""Unit tests: safe codec, expect helpers, extraction, runner collection, seeds, discovery."""

from __future__ import annotations

import base64
import collections
import json
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from helpers.crafting import CORRECT_EXAMPLE

from autograder import codec
from autograder.codec import CodecError, Handle
from autograder.errors import GraderError, StudentError
from autograder.expect import (
    python_loops,
    raises_student_error,
    same_array,
    same_as_one_of,
    same_number,
    same_value,
)
from autograder.extract import (
    NotebookProblem,
    extract,
    function_source,
    parse_notebook,
    read_notebook,
)
from autograder.fixtures import Partial, student_seed, test_rng
from autograder.intake import notebook_from_zip
from autograder.reports import grades_csv, safe_dirname, write_atomic
from autograder.runner import load_suite, run_test
from autograder.submissions import discover

# ------------------------------------------------------------------------------ codec


def test_round_trip_keeps_exact_types():
    value = {1: [1.5, float("nan"), float("-inf")], "a": (None, True, "s"),
             (1, 2): np.arange(6, dtype=np.int32).reshape(2, 3),
             "scalars": [np.float32(2.5), np.int64(-3), np.bool_(True), np.complex128(1 + 2j)]}
    back = codec.round_trip(value)
    assert back[1][0] == 1.5 and np.isnan(back[1][1]) and back[1][2] == float("-inf")
    assert back["a"] == (None, True, "s") and type(back["a"]) is tuple
    assert back[(1, 2)].dtype == np.int32 and back[(1, 2)].shape == (2, 3)
    assert [type(v) for v in back["scalars"]] == [np.float32, np.int64, np.bool_,
                                                   np.complex128]


def test_subclasses_travel_as_plain_data():
    class LyingFloat(float):
        def __eq__(self, other):
            return True

        def __float__(self):
            return 99.0

    class LyingArray(np.ndarray):
        def __eq__(self, other):
            return True

    assert type(codec.round_trip(LyingFloat(2.0))) is float
    assert codec.round_trip(LyingFloat(2.0)) == 2.0
    arr = codec.round_trip(np.zeros(3).view(LyingArray))
    assert type(arr) is np.ndarray and not (arr == 1).any()
    d = collections.defaultdict(list)
    d[3].append(1.0)
    assert type(codec.round_trip(d)) is dict


def test_objects_need_a_handle_and_strings_arrays_are_refused():
    with pytest.raises(CodecError):
        codec.dumps(object())
    with pytest.raises(CodecError, match="numbers only"):
        codec.dumps(np.array(["a"]))
    with pytest.raises(CodecError):
        codec.dumps(np.array([object()], dtype=object))
    back = codec.round_trip(object(), lambda obj: (7, "Thing"), lambda i, t: Handle(i, t))
    assert isinstance(back, Handle) and back.type_name == "Thing" and back != back.type_name


@pytest.mark.parametrize("raw", [
    b'{"$a": "AAAA", "dtype": "<f8", "shape": [3]}',            # bytes do not match shape
    b'{"$a": "AAAAAAAAAAA=", "dtype": "|O", "shape": [1]}',      # object dtype
    b'{"$a": "AAAAAAAAAAA=", "dtype": "<f8", "shape": [-1]}',    # negative shape
    b'{"$h": 1, "type": "X"}',                                  # handle not allowed here
    b'{"__reduce__": "os.system"}',                             # unknown tag
    b'{"$f": "1e999"}', b"NaN", b"[1, 2", b"\xff\xfe",
    b'{"$s": "3", "dtype": "<i8"}', b'{"$d": [[[1], 2]]}',       # bad scalar, unhashable key
])
def test_decoder_refuses_malformed_or_unsafe_replies(raw):
    with pytest.raises(CodecError):
        codec.loads(raw)


def test_decoded_arrays_are_writable_copies():
    data = np.arange(4.0)
    raw = json.dumps({"$a": base64.b64encode(data.tobytes()).decode(), "dtype": "<f8",
                      "shape": [2, 2]}).encode()
    back = codec.loads(raw)
    back[0, 0] = 5.0
    assert back.flags.writeable and back.dtype == np.float64


# ------------------------------------------------------------------------------ expect


def test_same_array_messages():
    same_array(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    with pytest.raises(AssertionError, match=r"expected shape \(2,\), got shape \(3,\)"):
        same_array(np.zeros(3), np.zeros(2))
    with pytest.raises(AssertionError, match="expected a numpy array"):
        same_array([1.0, 2.0], np.zeros(2))
    with pytest.raises(AssertionError, match="signed integer or unsigned integer"):
        same_array(np.zeros(2), np.zeros(2, dtype=int))
    with pytest.raises(AssertionError, match=r"first at \[1\]: expected 2.0, got 3.0"):
        same_array(np.array([1.0, 3.0]), np.array([1.0, 2.0]))


def test_same_number_and_value():
    same_number(np.float64(0.5), 0.5)
    with pytest.raises(AssertionError, match="expected a number"):
        same_number(True, 1)
    with pytest.raises(AssertionError, match="expected a number"):
        same_number(np.array([0.5]), 0.5)
    same_value({1: [0.5, 0.25]}, {1: [0.5, 0.25]})
    with pytest.raises(AssertionError, match="expected a list"):
        same_value({1: 0.5}, {1: [0.5]})
    with pytest.raises(AssertionError, match="wrong keys"):
        same_value({2: [0.5]}, {1: [0.5]})
    with pytest.raises(AssertionError, match="your class `Liar`"):
        same_value(Handle(1, "Liar"), [0.5])


def test_same_as_one_of_accepts_any_option_and_explains_the_first():
    same_as_one_of(np.array([1, 2]), [np.array([1, 3]), np.array([1, 2])], what="labels")
    same_as_one_of(0.5, [0.25, 0.5 + 1e-9])
    with pytest.raises(AssertionError, match=r"labels: 1 of 2 entries differ; first at \[1\]: "
                                             r"expected 3, got 4"):
        same_as_one_of(np.array([1, 4]), [np.array([1, 3]), np.array([1, 2])], what="labels")
    with pytest.raises(AssertionError, match="expected a number"):
        same_as_one_of("0.5", [0.5, 0.25])
    with pytest.raises(TypeError, match="non-empty list"):
        same_as_one_of(1, [])


def test_python_loops_reads_the_ast():
    assert python_loops("def f(x):\n    return x @ x.T\n") == []
    found = python_loops("def f(x):\n    s = [v for v in x]\n    while s:\n        s.pop()\n"
                         "    return np.vectorize(abs)(x)\n")
    assert any("list comprehension" in f for f in found) and any("while" in f for f in found)
    assert any("np.vectorize" in f for f in found)
    assert python_loops(None) == ["no source code was found"]
    assert "does not parse" in python_loops("def f(:\n")[0]


def test_raises_student_error():
    with raises_student_error("ValueError"):
        raise StudentError("ValueError", "bad")
    with pytest.raises(AssertionError, match="expected ValueError, got TypeError"):
        with raises_student_error("ValueError"):
            raise StudentError("TypeError", "bad")
    with pytest.raises(AssertionError, match="nothing was raised"):
        with raises_student_error("ValueError"):
            pass


# ------------------------------------------------------------------------------ extraction


def test_extraction_of_reference_and_lost_metadata(root):
    reference = extract(read_notebook(root / "solutions/01_knn/01_knn.ipynb"))
    assert [c.grade_id for c in reference.cells][:2] == ["compute_distances_two_loops",
                                                         "compute_distances_one_loop"]
    nb = json.loads(CORRECT_EXAMPLE.read_text())
    for cell in nb["cells"]:
        cell["metadata"] = {}
        cell.pop("id", None)  # matched by the names the cells define
    found = extract(nb, reference.cells)
    assert not found.problems and len(found.cells) == len(reference.cells)
    assert function_source(found.cells, "KNearestNeighbor.train").startswith("def train")


def test_broken_notebooks_get_words(tmp_path):
    with pytest.raises(NotebookProblem, match="invalid JSON"):
        parse_notebook(b"{nope")
    with pytest.raises(NotebookProblem, match="no list of cells"):
        parse_notebook(b'{"cells": 3}')
    with pytest.raises(NotebookProblem, match="could not be read"):
        read_notebook(tmp_path / "missing.ipynb")


def test_magics_are_neutralised():
    nb = {"cells": [{"cell_type": "code", "source": "%timeit f()\ndef f():\n    return 1\n",
                     "metadata": {"nbgrader": {"solution": True, "grade_id": "f"}}}]}
    source = extract(nb).cells[0].source
    compile(source, "x", "exec")
    assert source.splitlines()[0].strip().startswith("pass")


# ------------------------------------------------------------------------------ runner etc.


def _suite(tmp_path, source: str):
    suite = tmp_path / "demo"
    suite.mkdir(parents=True, exist_ok=True)
    (suite / "test_demo.py").write_text("import pytest\n" + source)
    return suite


def test_runner_collects_plain_tests_with_points(tmp_path):
    tests = load_suite(_suite(tmp_path, (
        "@pytest.mark.points(2)\ndef test_p(student, partial):\n    pass\n"
        "@pytest.mark.points(n=0.5)\ndef test_q(rng, reference):\n    pass\n"
        "def helper(student):\n    pass\n")))
    assert [(t.name, t.points, t.arguments) for t in tests] == [
        ("test_demo.py::test_p", 2.0, ("student", "partial")),
        ("test_demo.py::test_q", 0.5, ("rng", "reference"))]
    outcome = run_test(tests[0], student=None, reference=None, seed=0)
    assert outcome.status == "passed" and outcome.score == 2.0


@pytest.mark.parametrize("source, complaint", [
    ("@pytest.mark.points(1)\n@pytest.mark.parametrize('k', [1, 2])\n"
     "def test_p(student, k):\n    pass\n", "only @pytest.mark.points is supported"),
    ("@pytest.fixture\ndef data(rng):\n    return 1\n"
     "@pytest.mark.points(1)\ndef test_p(data):\n    pass\n", "argument 'data' is not one"),
    ("@pytest.mark.points(1)\ndef test_p(student, k=3):\n    pass\n", "argument 'k'"),
    ("@pytest.mark.points(1)\ndef test_p(*args):\n    pass\n", "argument 'args'"),
    ("def test_p(student):\n    pass\n", "exactly one @pytest.mark.points"),
    ("@pytest.mark.points(0)\ndef test_p(student):\n    pass\n", "one positive number"),
    ("@pytest.mark.points('2')\ndef test_p(student):\n    pass\n", "one positive number"),
    ("@pytest.mark.points(1)\n@pytest.mark.skip\ndef test_p(student):\n    pass\n",
     "@pytest.mark.skip"),
    ("pytestmark = pytest.mark.points(1)\ndef test_p(student):\n    pass\n",
     "module-level pytestmark"),
    ("class TestThings:\n    def test_p(self):\n        pass\n", "test classes"),
    ("import nonexistent_module_xyz\n", "failed to import"),
    ("x = 1\n", "no test_* functions"),
])
def test_runner_refuses_what_it_would_run_differently_from_pytest(tmp_path, source, complaint):
    with pytest.raises(GraderError, match=re.escape(complaint)):
        load_suite(_suite(tmp_path, source))


def test_pytest_refuses_the_same_suites_through_the_conftest(tmp_path, root):
    suites = tmp_path / "suites"
    suite = _suite(suites, "@pytest.mark.points(1)\n@pytest.mark.parametrize('k', [1])\n"
                           "def test_p(student, k):\n    pass\n")
    shutil.copy(root / "autograder" / "suites" / "conftest.py", suites / "conftest.py")
    run = subprocess.run([sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:xdist",
                          "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode != 0
    assert "would not run in the grader" in run.stdout + run.stderr
    assert "only @pytest.mark.points is supported" in run.stdout + run.stderr


def test_partial_credit_counts_parts():
    partial = Partial()
    with partial.part("a"):
        pass
    with partial.part("b"):
        raise AssertionError("wrong")
    with partial.part("c"):
        raise StudentError("Timeout", "too slow")
    assert partial.fraction() == pytest.approx(1 / 3)
    assert [p.message for p in partial.failures()] == ["wrong", "too slow"]


def test_seeds_are_stable_and_distinct():
    assert student_seed(0, "alice") == student_seed(0, "alice")
    assert student_seed(0, "alice") != student_seed(0, "bob")
    assert student_seed(1, "alice") != student_seed(0, "alice")
    a, b = test_rng(5, "t::x").random(3), test_rng(5, "t::x").random(3)
    assert (a == b).all() and not (a == test_rng(5, "t::y").random(3)).all()


def test_discovery_layouts(tmp_path):
    nb = CORRECT_EXAMPLE.read_bytes()
    tree = tmp_path / "course" / "submitted"
    for student in ("s1", "s2"):
        (tree / student / "01_knn").mkdir(parents=True)
        (tree / student / "01_knn" / "01_knn.ipynb").write_bytes(nb)
    assert [s.student_id for s in discover(tmp_path / "course", "01_knn")] == ["s1", "s2"]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "ann.ipynb").write_bytes(nb)
    with zipfile.ZipFile(flat / "ben.zip", "w") as archive:
        archive.writestr("work/01_knn.ipynb", nb)
    (flat / "cy.zip").write_bytes(b"not a zip")
    found = {s.student_id: s for s in discover(flat, "01_knn")}
    assert set(found) == {"ann", "ben", "cy"}
    assert found["ann"].read_raw() == nb and found["ben"].kind == "zip"
    assert notebook_from_zip(found["ben"].read_raw(), "01_knn") == nb
    with pytest.raises(NotebookProblem, match="zip file could not be read"):
        notebook_from_zip(found["cy"].read_raw(), "01_knn")
    with pytest.raises(ValueError, match="no submissions"):
        discover(tmp_path / "course" / "submitted" / "s1" / "01_knn" / "..", "other")


def test_safe_names_and_atomic_writes(tmp_path):
    assert safe_dirname("../../etc") == "_.._.._etc" and "/" not in safe_dirname("a/b")
    assert safe_dirname("ann~2") == "ann~2" and safe_dirname("a~b") == "a_b"
    write_atomic(tmp_path / "x" / "f.txt", "hello")
    assert (tmp_path / "x" / "f.txt").read_text() == "hello"
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["f.txt"]
    result = {"score": 1.0, "max_score": 2.0, "extra_data": {"student_id": "z"},
              "tests": [{"name": "f.py::t", "score": 1.0}]}
    assert grades_csv([result], ["f.py::t"]).splitlines() == ["student_id,score,max_score,t",
                                                              "z,1,2,1"]
