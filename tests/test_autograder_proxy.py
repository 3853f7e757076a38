"""The ``student`` and ``reference`` proxies: read-only calls, loop and call checks read from the
notebook's text, the reference composed with the student's helpers, and bounded suggestions.

The sandboxed side runs in a real sandbox slot; the same requests go to both sides and must
give the same verdicts.
"""

from __future__ import annotations

import base64
import difflib
import json

import numpy as np
import pytest
from conftest import ROOT

from autograder import proxy as proxy_module
from autograder.errors import GraderError, MissingDefinition, StudentError
from autograder.expect import same_value
from autograder.extract import GradedCell, extract, read_notebook
from autograder.proxy import ReferenceProxy, StudentProxy
from autograder.sandbox import Sandbox, SandboxSettings
from autograder.worker import Worker
from utils.rules import READ_ONLY_MESSAGE

CELL = '''
def honest(x, config=None):
    config = dict(config or {})
    config["t"] = config.get("t", 0) + 1
    return x + 1, config

def in_place(x):
    x += 1
    return x

def writes_config(x, config):
    config["t"] = 1
    return x

def grows_history(grad, history):
    history.append(grad)
    return grad

def reshapes(x):
    x.shape = (-1, 1)
    return 0.0

def fakes(x):
    """Tries every pure-Python way to make its input writeable, then writes."""
    import sys
    for unlock in (lambda: setattr(x.flags, "writeable", True),
                   lambda: x.setflags(write=True),
                   lambda: x.base.setflags(write=True),
                   lambda: sys._getframe(2).f_locals.update(read_only=False)):
        try:
            unlock()
        except Exception:
            pass
    np.copyto(x, 0.0)
    return x
'''

DECOY = '''
def slow(X):
    out = np.empty(len(X))
    for i, row in enumerate(X):
        out[i] = row.sum()
    return out

def row_sums(X):
    return X.sum(axis=1)

row_sums = slow

def solver(A, b):
    return _invert(A) @ b

def _invert(A):
    return np.linalg.inv(A)
'''


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    sandbox = Sandbox(SandboxSettings.for_course(ROOT, tmp_path_factory.mktemp("out")), slot=2)
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture(scope="module")
def sides(sandbox):
    cells = [GradedCell("a", "a", CELL), GradedCell("b", "b", DECOY)]
    session = sandbox.open([c.source for c in cells], b"{}")
    try:
        yield StudentProxy(session, cells), ReferenceProxy(cells)
    finally:
        session.close()


# ------------------------------------------------------------------------------ read-only calls

def test_honest_code_passes_a_read_only_call_on_both_sides(sides):
    x, config = np.arange(3.0), {"lr": 0.5}
    for side in sides:
        result = side.call_read_only("honest", x, config=config)
        same_value(result, (x + 1, {"lr": 0.5, "t": 1}), what=side.side)
        assert type(result[0]) is np.ndarray and result[0].flags.writeable
    assert np.array_equal(x, np.arange(3.0)) and config == {"lr": 0.5}


@pytest.mark.parametrize("name, args, detail", [
    ("in_place", (np.arange(3.0),), "x += 1"),
    ("writes_config", (np.arange(3.0), {"lr": 0.5}), "argument 2 was changed in place"),
    ("grows_history", (np.ones(2), [np.zeros(2)]), "argument 2 was changed in place"),
    ("reshapes", (np.arange(4.0),), "argument 1 was changed in place"),
    ("fakes", (np.arange(3.0),), "np.copyto(x, 0.0)"),
])
def test_a_write_to_an_input_fails_the_same_way_on_both_sides(sides, name, args, detail):
    student, reference = sides
    errors = []
    for side in (student, reference):
        with pytest.raises(StudentError) as caught:
            side.call_read_only(name, *args)
        errors.append(caught.value)
    for error in errors:
        assert error.type_name == "ValueError"
        assert error.message.startswith(READ_ONLY_MESSAGE)
    assert detail in errors[0].message  # the student's line, or which argument changed
    # ordinary calls still hand over writable copies: nothing is read-only by default
    assert student.in_place(np.arange(3.0)).tolist() == [1.0, 2.0, 3.0]


def test_removed_apis_are_gone(sides):
    student, reference = sides
    for side in sides:
        for removed in ("timed", "call_reporting_inputs"):
            with pytest.raises(MissingDefinition):
                getattr(side, removed)


def test_the_worker_request_carries_no_flag_for_ordinary_calls(sides, monkeypatch):
    student, _ = sides
    sent = []
    original = student._session.request

    def spy(request, what="running your code"):
        sent.append(request)
        return original(request, what)

    monkeypatch.setattr(student._session, "request", spy)
    student.honest(np.ones(2))
    student.call_read_only("honest", np.ones(2))
    assert [r["read_only"] for r in sent] == [False, True]
    assert all("report_inputs" not in r for r in sent)


# ------------------------------------------------------------------------------ reading code

def test_loops_and_calls_follow_the_final_binding_and_helpers(sides):
    for side in sides:  # read from the text in the grading process, the same on both sides
        assert side.loops("row_sums") == ["a `for` loop on line 3 of `slow`"]
        assert side.calls("solver", ("inv", "pinv")) == ["`inv` on line 2 of `_invert`"]
        assert side.loops("honest") == []
        assert side.source("row_sums") == "row_sums = slow\n"
        assert side.loops("nothing") == ["no source code was found for `nothing`"]


# ------------------------------------------------------------------------------ using

def _knn_cells():
    return extract(read_notebook(ROOT / "solutions/01_knn/01_knn.ipynb")).cells


WRONG_PREDICT = '''
def predict_labels(dists, y_train, k=1):
    nearest = np.argsort(dists, axis=1)[:, :k]
    votes = y_train[nearest]
    return votes.max(axis=1)  # the largest label among the k nearest, not the majority
'''


def test_a_correct_function_next_to_a_wrong_helper_matches_the_composed_reference(sandbox):
    reference_cells = _knn_cells()
    cells = [GradedCell(c.grade_id, c.cell_id, WRONG_PREDICT if c.grade_id == "predict_labels"
                        else c.source) for c in reference_cells]
    session = sandbox.open([c.source for c in cells], b"{}")
    try:
        student, reference = StudentProxy(session, cells), ReferenceProxy(reference_cells)
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(24, 3)), rng.integers(0, 4, size=24)
        got = student.cross_validate(X, y, [1, 3, 5], 3)
        composed = reference.using(student, "predict_labels")
        same_value(got, composed.cross_validate(X, y, [1, 3, 5], 3), what="accuracies")
        with pytest.raises(AssertionError):  # the wrong helper does change the result
            same_value(got, reference.cross_validate(X, y, [1, 3, 5], 3), what="accuracies")
        # the reference itself is unchanged, and a class can be swapped in too
        assert reference.predict_labels(np.array([[0.0, 1.0, 2.0]]), np.array([2, 1, 1]),
                                        k=3).tolist() == [1]
        model = reference.using(student, "KNearestNeighbor", "predict_labels")
        same_value(model.cross_validate(X, y, [3], 3), composed.cross_validate(X, y, [3], 3))
        with pytest.raises(GraderError, match="does not define"):
            reference.using(student, "not_in_the_reference")
    finally:
        session.close()


def test_using_a_name_the_student_lacks_fails_as_the_students_error(sandbox):
    reference_cells = _knn_cells()
    cells = [c for c in reference_cells if c.grade_id != "predict_labels"]
    session = sandbox.open([c.source for c in cells], b"{}")
    try:
        student, reference = StudentProxy(session, cells), ReferenceProxy(reference_cells)
        with pytest.raises(MissingDefinition):
            reference.using(student, "predict_labels")
    finally:
        session.close()


# ------------------------------------------------------------------------------ robustness

def test_near_miss_suggestions_compare_a_bounded_number_of_short_names(monkeypatch):
    prefix = "layer_" * 20  # 120 characters: every name is near the missing one in length
    names = {f"{prefix}{i:05d}": "function" for i in range(80_000)}
    seen = []
    real = difflib.get_close_matches

    def spy(word, possibilities, n=3, cutoff=0.6):
        seen.append((word, list(possibilities)))
        return real(word, possibilities, n, cutoff)

    monkeypatch.setattr(proxy_module.difflib, "get_close_matches", spy)
    student = StudentProxy.__new__(StudentProxy)
    monkeypatch.setattr(StudentProxy, "_names", lambda self: names)
    with pytest.raises(MissingDefinition, match="does not define `layer_x`$"):
        _ = student.layer_x  # no name of a similar length: no suggestion
    with pytest.raises(MissingDefinition, match="did you rename it"):
        _ = getattr(student, prefix + "x")
    word, candidates = seen[-1]
    assert 0 < len(candidates) <= proxy_module.MAX_SUGGESTION_NAMES < len(names)
    assert max(map(len, [word, *candidates])) <= proxy_module.MAX_SUGGESTION_NAME_LENGTH


@pytest.mark.parametrize("notebook", [base64.b64encode(b"{}").decode(), "not base64 !!"])
def test_the_worker_loads_cells_even_when_the_notebook_cannot_be_written(
        tmp_path, monkeypatch, notebook):
    (tmp_path / "submission.ipynb").mkdir()  # open(..., "wb") fails with IsADirectoryError
    monkeypatch.chdir(tmp_path)
    reply = Worker().load({"cells": ["def f():\n    return 1\n"], "notebook": notebook})
    assert reply == {"names": {"f": "function"}, "errors": []}
    assert json.dumps(reply)


def test_the_worker_imports_the_rules_before_any_confinement():
    """The zygote imports the worker before the sandbox hides the course files: everything
    the worker needs, ``utils.rules`` included, must be loaded by that import."""
    import subprocess
    import sys

    code = "import sys, autograder.worker; print('utils.rules' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.stdout.strip() == "True", run.stderr
