"""Trusted suite functions (``autograder.expect.trusted_function``): a hidden suite hands student
code a small function it wrote itself. The function travels grader -> sandbox as source text and
is rebuilt on each side with only ``np``; nothing a worker sends back can become a function.
The 03_linear_classifiers suite uses it to grade ``numerical_gradient``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT
from helpers.crafting import craft

from autograder import codec
from autograder.codec import CodecError, Handle, TrustedFunction
from autograder.errors import BadReply
from autograder.expect import same_array, trusted_function
from autograder.extract import GradedCell
from autograder.grading import Assignment, Grader
from autograder.proxy import ReferenceProxy, StudentProxy
from autograder.sandbox import Sandbox, SandboxSettings
from utils.rules import READ_ONLY_MESSAGE, RULE_INPUTS

NAME = "03_linear_classifiers"
NOTEBOOK = ROOT / "solutions" / NAME / f"{NAME}.ipynb"

SQUARES = "lambda x: float(np.sum(x ** 2))"
CELL = '''
def apply(f, x):
    return f(x)

def describe(f):
    return sorted(f.__globals__)

def give_back(f):
    return f

def forge():
    import autograder.codec as c
    return c.TrustedFunction("lambda x: 0.0")

def forge_raw():
    import autograder.codec as c
    c.encode = lambda value, register_handle=None, _depth=0: {"$fn": "lambda: 1"}
    return 1.0
'''


# ------------------------------------------------------------------------------ codec

def test_a_trusted_function_travels_as_tagged_source():
    f = trusted_function(SQUARES)
    assert type(f) is TrustedFunction and f.source == SQUARES
    assert codec.encode((f, 1)) == {"$t": [{"$fn": SQUARES}, 1]}
    assert f(np.array([1.0, 2.0])) == 5.0
    with pytest.raises(AttributeError):
        f.source = "lambda x: 0"


def test_the_source_is_compiled_with_only_np():
    build = codec.build_function
    assert build(SQUARES)(np.arange(3.0)) == 5.0
    assert sorted(build("lambda: sorted(globals())")()) == ["__builtins__", "__name__", "np"]
    helper = build("def g(x):\n    return 2 * x\n\ndef f(x):\n    return g(x) + 1\n")
    assert helper(3) == 7
    # each build gets a fresh namespace: one call cannot poison the next
    poison = build("def f():\n    globals()['np'] = None\n    return 1\n")
    poison()
    assert build(SQUARES)(np.ones(2)) == 2.0


@pytest.mark.parametrize("source", ["1 +", "3", "x = 1", "", 42, "lambda: 1" + " " * 30_000])
def test_bad_sources_fail_in_the_suite(source):
    with pytest.raises(CodecError):
        trusted_function(source)


@pytest.mark.parametrize("data", [
    {"$fn": SQUARES},
    {"$t": [1, {"$fn": SQUARES}]},
    [{"$d": [["f", {"$fn": SQUARES}]]}],
])
def test_the_grader_never_decodes_a_function(data):
    raw = json.dumps(data).encode()
    with pytest.raises(CodecError, match="functions cannot be sent"):
        codec.loads(raw, lambda i, t: Handle(i, t))
    with pytest.raises(CodecError):
        codec.round_trip(trusted_function(SQUARES))
    # only an explicit make_function (the worker, the reference's own arguments) accepts it
    built = codec.decode(data, make_function=codec.build_function)
    assert built is not None


def test_functions_do_not_encode_without_a_handle():
    with pytest.raises(CodecError):
        codec.encode(lambda x: x)


# ------------------------------------------------------------------------------ both sides

@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    cells = [GradedCell("cell", "cell", CELL)]
    sandbox = Sandbox(SandboxSettings.for_course(ROOT, tmp_path_factory.mktemp("out")), slot=1)
    session = sandbox.open([CELL], json.dumps({"cells": []}).encode())
    try:
        yield StudentProxy(session, cells), ReferenceProxy(cells)
    finally:
        session.close()
        sandbox.close()


def test_both_sides_get_equivalent_callables(sides):
    student, reference = sides
    x = np.arange(6.0).reshape(2, 3)
    f = trusted_function(SQUARES)
    assert student.apply(f, x) == reference.apply(f, x) == 55.0
    assert student.apply(f, x=x) == 55.0  # keyword arguments too
    helper = trusted_function("def f(x):\n    return x * 2\n")
    same_array(student.apply(helper, x), reference.apply(helper, x), what="2 x")
    assert student.describe(f) == reference.describe(f) == ["__builtins__", "__name__", "np"]


def test_a_student_cannot_send_a_function_back(sides):
    student, reference = sides
    f = trusted_function(SQUARES)
    for side in (student, reference):
        back = side.give_back(f)
        assert isinstance(back, Handle)  # an inert handle, never a callable function
        with pytest.raises(AssertionError, match="expected a numpy array"):
            same_array(back, np.zeros(1))
        # read-only calls hand trusted functions over unchanged, and still send none back
        assert isinstance(side.call_read_only("give_back", f), Handle)
    with pytest.raises(BadReply, match="functions cannot be sent"):
        student.forge()  # a TrustedFunction built in the worker is refused by the grader
    with pytest.raises(BadReply, match="functions cannot be sent"):
        student.forge_raw()  # a tampered encoder sending the raw tag: refused too


# ------------------------------------------------------------------------------ 03 suite

@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    grader = Grader(Assignment.find(NAME),
                    SandboxSettings.for_course(ROOT, tmp_path_factory.mktemp("grading")))
    try:
        yield grader
    finally:
        grader.close()


def _scores(result) -> dict[str, float]:
    return {t["name"].split("::")[-1]: t["score"] for t in result["tests"]}


def _mutated(old: str, new: str) -> bytes:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    source = next("".join(c["source"]) for c in nb["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade_id") == "numerical_gradient")
    assert old in source
    return craft(NOTEBOOK, replace={"numerical_gradient": source.replace(old, new)})


@pytest.mark.parametrize("old, new, lost", [
    # wrong everywhere: every part fails, exactly the test's 2 points are lost
    ("grad[ix] = (f_plus - f_minus) / (2 * h)", "grad[ix] = (f_plus - f_minus) / h", 2.0),
    # one-sided differences: off by about h f'' / 2, beyond the tolerance in every part
    ("grad[ix] = (f_plus - f_minus) / (2 * h)", "grad[ix] = (f_plus - f(x)) / h", 2.0),
])
def test_a_wrong_numerical_gradient_loses_exactly_its_points(grader, old, new, lost):
    full = grader.grade_bytes("reference", NOTEBOOK.read_bytes())
    assert full["score"] == full["max_score"] == 18
    result = grader.grade_bytes("student", _mutated(old, new))
    scores = _scores(result)
    assert scores.pop("test_numerical_gradient") == pytest.approx(2.0 - lost)
    assert scores == {k: v for k, v in _scores(full).items() if k != "test_numerical_gradient"}
    assert result["score"] == pytest.approx(18 - lost)


def test_writing_into_the_callers_x_costs_only_the_inputs_rule(grader):
    """Right values, but x is perturbed in place without a copy: only the part that hands
    over a read-only x fails (the write raises in the sandbox; nothing is reported back)."""
    full = grader.grade_bytes("reference", NOTEBOOK.read_bytes())
    result = grader.grade_bytes("student", _mutated(
        "x = np.array(x, dtype=np.float64)", "x = np.asarray(x)"))
    test = next(t for t in result["tests"] if t["name"].endswith("::test_numerical_gradient"))
    assert 0 < test["score"] < test["max_score"] == 2
    assert RULE_INPUTS in test["output"] and READ_ONLY_MESSAGE in test["output"]
    others = {k: v for k, v in _scores(result).items() if k != "test_numerical_gradient"}
    assert others == {k: v for k, v in _scores(full).items() if k != "test_numerical_gradient"}
