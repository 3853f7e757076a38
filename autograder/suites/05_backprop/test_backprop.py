"""Hidden suite for 05_backprop: the Value engine, the layers and the two-layer network.

Points mirror the notebook's autograded test cells: 6 + 3 + 2 + 2 + 3 + 3 + 4 = 23 here, plus
``test_mlp`` (3) in ``test_value_mlp.py``: 26 for the notebook.

How the suite keeps one bug to one deduction (the grading policy in autograder/README.md):
- ``Value``: one part per operation, each tried on its own one-step expression (distinct
  leaves, no shared nodes), so a wrong ``exp`` fails only the ``exp`` part. Operations the
  notebook asks to build from others (``-``, ``/``, unary minus, the reflected forms) and
  those a student may build from them (``sigmoid`` and ``tanh`` from ``exp`` and ``/``) are
  also accepted when they equal the same formula evaluated with the student's own primitive
  operations. Adding up gradients over several paths (``+=`` and the reverse topological
  order of ``backward()``) is one part, judged against the reference OR against a reverse
  pass the grader runs itself with the student's own local gradients, so a wrong ``tanh``
  does not fail it.
- Layers: a backward function is called with its own forward's cache and, if that fails,
  with the cache the notebook prescribes (so a wrong forward does not fail its backward).
- Dropout: the mask is random, so nothing is compared with one particular draw. The parts
  check what every correct inverted dropout does (each training output 0 or x / p, the share
  kept near p on a 200x200 input, the seed decides the mask, test mode is the identity) with
  the self-check's own ``dropout_train_problem``; ``dropout_backward`` is judged on its own
  forward's cache (the kept units read on a zero-free twin input with the same seed) or,
  failing that, on the mask the docstring prescribes.
- ``two_layer_net``: compared with the reference OR with the reference whose layer functions
  are the student's (``reference.using``), for the layers the student's network calls.
- "inputs are not modified": the call gets read-only arrays (``student.call_read_only``); the
  part pays only when that call also returns the right values.

``Value`` objects live in the sandbox; the notebook's provided ``evaluate_expression(steps,
inputs, backward_calls)`` builds an expression with the student's ``Value`` and returns
plain numbers. It must be the provided code (checked on its source text). Inputs come from
``rng`` (values only) plus fixed edge cases present for every student (exact zeros for relu,
``|x| = 1000`` for sigmoids, rows of scores around +-1000, a single example, a node used on
several paths); random values stay away from kinks and overflow.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

from autograder.errors import StudentError
from autograder.expect import (
    raises_student_error,
    result_on_read_only_inputs,
    same_as_one_of,
    same_value,
)
from autograder.fixtures import describe_failure
from utils.rules import RULE_INPUTS
from utils.selfchecks.backprop import (
    DROPOUT_LARGE_SHAPE,
    DROPOUT_SHARE_TOLERANCE,
    dropout_kept,
    dropout_train_problem,
    provided_helper_problem,
)

RTOL, ATOL = 1e-7, 1e-10

# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------


def _with_hint(check, hint: str):
    """Run ``check()``; on failure add a sentence naming the likely cause."""
    try:
        return check()
    except AssertionError as error:
        raise AssertionError(f"{error}. Hint: {hint}") from None


def _is_read_only_error(error: StudentError) -> bool:
    return error.type_name == "ValueError" and "read-only" in error.message



def _values_right_when_read_only(got, expected, what: str) -> None:
    """The property part pays only when the values are right; say so instead of blaming
    the inputs when they are not."""
    try:
        same_value(got, expected, rtol=1e-6, atol=1e-8, what=what)
    except AssertionError as error:
        raise AssertionError(f"not scored until the values are right: {error}") from None


def _matches(got, expected, rtol: float, atol: float) -> bool:
    try:
        same_value(got, expected, rtol=rtol, atol=atol, what="")
    except AssertionError:
        return False
    return True


def _finite_and_varied(value) -> bool:
    """True for a result that is not trivial: every number finite, and not every array constant."""
    arrays, numbers = [], []

    def walk(v):
        if isinstance(v, np.ndarray):
            arrays.append(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list | tuple):
            for item in v:
                walk(item)
        elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            numbers.append(float(v))

    walk(value)
    if not all(math.isfinite(x) for x in numbers):
        return False
    if any(a.dtype.kind not in "biuf" or not np.all(np.isfinite(a)) for a in arrays):
        return False
    return any(a.size > 1 and np.ptp(a) > 0 for a in arrays)


def _away(rng, low: float, high: float, size=None):
    """Random magnitudes in [low, high] with random signs (away from 0)."""
    magnitude = rng.uniform(low, high, size=size)
    sign = np.where(rng.random(size=size) < 0.5, -1.0, 1.0)
    return magnitude * sign if size is not None else float(magnitude * sign)


# ---------------------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------------------


def _provided_helper_unchanged(student) -> None:
    """``evaluate_expression`` reports what the student's Value computed: it must be ours
    (the self-check runs the same ``provided_helper_problem`` on the notebook)."""
    problem = provided_helper_problem(student.source("evaluate_expression"),
                                      lambda name: student.source(name) is not None)
    if problem:
        raise AssertionError(problem)


def _evaluate(side, steps, inputs, calls: int = 1):
    """(output, grads, values) of an expression built by the side's ``evaluate_expression``."""
    result = side.evaluate_expression(steps, inputs, calls)
    if not (isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], dict)
            and isinstance(result[2], dict)):
        raise AssertionError("evaluate_expression should return (output, grads, values)")
    return result


def _describe(steps, inputs) -> str:
    """A readable formula: "x / y at x=0.5, y=-1.2"."""
    names = {}

    def show(arg):
        return names.get(arg, arg) if isinstance(arg, str) else f"{arg:g}"

    for name, op, args in steps:
        if op in ("+", "-", "*", "/", "**"):
            names[name] = f"({show(args[0])} {op} {show(args[1])})"
        elif op == "neg":
            names[name] = f"(-{show(args[0])})"
        else:
            names[name] = f"{show(args[0])}.{op}()"
    text = names[steps[-1][0]]
    text = text[1:-1] if text.startswith("(") else text
    at = ", ".join(f"{k}={v:.6g}" for k, v in inputs.items())
    return f"{text} at {at}"


def _composites(op: str, args: tuple) -> list[list[tuple]]:
    """The same one-step expression written with other operations, as students build it."""
    a = args[0]
    b = args[1] if len(args) > 1 else None
    if op == "neg":
        return [[("o", "*", (a, -1.0))], [("o", "*", (-1.0, a))]]
    if op == "-":
        return [[("n", "neg", (b,)), ("o", "+", (a, "n"))],
                [("n", "*", (b, -1.0)), ("o", "+", (a, "n"))],
                [("n", "neg", (b,)), ("o", "+", ("n", a))]]
    if op == "/":
        return [[("r", "**", (b, -1)), ("o", "*", (a, "r"))],
                [("r", "**", (b, -1)), ("o", "*", ("r", a))],
                [("r", "**", (b, -1.0)), ("o", "*", (a, "r"))]]
    if op in ("+", "*") and not isinstance(a, str):  # reflected: a number on the left
        return [[("o", op, (b, a))]]
    if op == "sigmoid":
        return [[("n", "neg", (a,)), ("e", "exp", ("n",)), ("d", "+", (1.0, "e")),
                 ("o", "/", (1.0, "d"))],
                [("n", "neg", (a,)), ("e", "exp", ("n",)), ("d", "+", ("e", 1.0)),
                 ("o", "/", (1.0, "d"))],
                [("e", "exp", (a,)), ("d", "+", (1.0, "e")), ("o", "/", ("e", "d"))],
                [("e", "exp", (a,)), ("f", "exp", (a,)), ("d", "+", (1.0, "f")),
                 ("o", "/", ("e", "d"))]]
    if op == "tanh":
        return [[("t", "*", (2.0, a)), ("e", "exp", ("t",)), ("n", "-", ("e", 1.0)),
                 ("d", "+", ("e", 1.0)), ("o", "/", ("n", "d"))]]
    return []


def _accepts_composite(result, inputs) -> bool:
    """A composite counts only when it is not trivial (finite, not an echoed input, some
    gradient not zero)."""
    out, grads, _ = result
    numbers = [out, *grads.values()]
    if not all(isinstance(x, float) and math.isfinite(x) for x in numbers):
        return False
    if any(out == x for x in inputs.values()):
        return False
    return any(g != 0.0 for g in grads.values())


def _same_expression(student, reference, steps, inputs, hint: str, composites=()) -> None:
    """The student's (output, input gradients) equal the reference's or, for operations
    built from others, the same formula evaluated with the student's own operations."""
    what = _describe(steps, inputs)
    try:
        got = _evaluate(student, steps, inputs)[:2]
    except StudentError as error:
        raise AssertionError(f"{what}: {describe_failure(error)}. Hint: {hint}") from None
    expected = _evaluate(reference, steps, inputs)[:2]
    options = [expected]
    if composites and not _matches(got, expected, RTOL, ATOL):
        for alternative in composites:
            try:
                result = _evaluate(student, alternative, inputs)
            except StudentError:
                continue
            if _accepts_composite(result, inputs):
                options.append(result[:2])
    _with_hint(lambda: same_as_one_of(got, options, rtol=RTOL, atol=ATOL, what=what), hint)


def _one_step_cases(student, reference, cases, hint: str, composite: bool = False) -> None:
    """Each case is (op, args, inputs): the one-step expression ("o", op, args)."""
    _provided_helper_unchanged(student)
    for op, args, inputs in cases:
        steps = [("o", op, args)]
        _same_expression(student, reference, steps, inputs, hint,
                         _composites(op, args) if composite else ())


def _grads_from_local_gradients(student, steps, inputs, values):
    """The reverse pass done by the grader: every step's local gradients come from the
    student's own operation (a one-step expression at the student's own node values), then
    contributions are added over every path in reverse order of the steps."""
    total = dict.fromkeys(values, 0.0)
    total[steps[-1][0]] = 1.0
    local_cache: dict = {}
    for name, op, args in reversed(steps):
        leaves, mapped = {}, []
        for k, arg in enumerate(args):
            if isinstance(arg, str):
                leaves[f"p{k}"] = values[arg]
                mapped.append(f"p{k}")
            else:
                mapped.append(arg)
        key = (op, tuple(mapped), tuple(sorted(leaves.items())))
        if key not in local_cache:
            local_cache[key] = _evaluate(student, [("o", op, tuple(mapped))], leaves)[1]
        local = local_cache[key]
        for k, arg in enumerate(args):
            if isinstance(arg, str):
                total[arg] += local[f"p{k}"] * total[name]
    return {name: total[name] for name in inputs}


def _same_gradients_over_paths(student, reference, steps, inputs, what: str) -> None:
    """Gradients of an expression with shared nodes: the reference's, or the correct reverse
    pass over the student's own local gradients (so a wrong operation is not counted here)."""
    got = _evaluate(student, steps, inputs)
    expected = _evaluate(reference, steps, inputs)[1]
    hint = ("a node used several times must add up every contribution (`+=` in every "
            "_backward, never `=`), and backward() must call each node's _backward only after "
            "every node that uses it (reverse topological order)")
    options = [expected]
    values = got[2]
    if not _matches(got[1], expected, 1e-6, 1e-9) and \
            all(isinstance(values.get(name), float) for name in [*inputs, *(s[0] for s in steps)]):
        try:
            own = _grads_from_local_gradients(student, steps, inputs, values)
        except StudentError:
            own = None
        if own is not None and all(math.isfinite(g) for g in own.values()) and \
                any(g != 0.0 for g in own.values()):
            options.append(own)
    _with_hint(lambda: same_as_one_of(got[1], options, rtol=1e-6, atol=1e-9,
                                      what=f"{what}: gradients"), hint)


# A fixed graph with many shared nodes (its structure is the same for every student; only
# the input values are random).
_SHARED_GRAPH = [
    ("s0", "*", ("i0", "i1")), ("s1", "+", ("s0", "i2")), ("s2", "tanh", ("s1",)),
    ("s3", "*", ("s2", "i0")), ("s4", "-", ("s3", "s0")), ("s5", "sigmoid", ("s4",)),
    ("s6", "*", ("s5", "s2")), ("s7", "+", ("s6", "s1")), ("s8", "*", ("s7", "i3")),
    ("s9", "+", ("s8", "s3")), ("s10", "tanh", ("s9",)), ("s11", "*", ("s10", "s5")),
    ("s12", "+", ("s11", "s4")), ("s13", "*", ("s12", "i1")), ("s14", "+", ("s13", "s10")),
    ("out", "+", ("s14", "s7")),
]


@pytest.mark.points(6)
def test_value(student, reference, rng, partial):
    with partial.part("a + b: Value + Value and Value + number"):
        _one_step_cases(student, reference, [
            ("+", ("x", "y"), {"x": _away(rng, 0.5, 3), "y": _away(rng, 0.5, 3)}),
            ("+", ("x", round(_away(rng, 0.5, 3), 3)), {"x": _away(rng, 0.5, 3)}),
        ], "the add gate passes out.grad unchanged to both inputs")
    with partial.part("a * b: Value * Value and Value * number"):
        _one_step_cases(student, reference, [
            ("*", ("x", "y"), {"x": _away(rng, 0.5, 3), "y": _away(rng, 0.5, 3)}),
            ("*", ("x", round(_away(rng, 0.5, 3), 3)), {"x": _away(rng, 0.5, 3)}),
        ], "the multiply gate swaps: a.grad += b.data * out.grad")
    with partial.part("v ** p for p = 3, 2, -1, 0.5"):
        _one_step_cases(student, reference, [
            ("**", ("v", p), {"v": float(rng.uniform(0.5, 3.0))}) for p in (3, 2, -1, 0.5)
        ], "d(v**p)/dv = p * v**(p - 1)")
    with partial.part("-v, a - b, a / b and the reflected forms c * v, c + v, c - v, c / v"):
        c = round(float(rng.uniform(0.5, 3.0)), 3)
        two = {"a": _away(rng, 0.5, 3), "b": _away(rng, 0.5, 3)}
        one = {"v": _away(rng, 0.5, 3)}
        _one_step_cases(student, reference, [
            ("neg", ("v",), one), ("-", ("a", "b"), two), ("/", ("a", "b"), two),
            ("*", (c, "v"), one), ("+", (c, "v"), one), ("-", (c, "v"), one),
            ("/", (c, "v"), one),
        ], "Python calls __rsub__ for `c - v`: it is c minus v, not v minus c; build these "
           "from +, * and ** as the text says", composite=True)
    with partial.part("exp"):
        _one_step_cases(student, reference, [
            ("exp", ("x",), {"x": float(rng.uniform(-3.0, -0.2))}),
            ("exp", ("x",), {"x": float(rng.uniform(0.2, 3.0))}),
        ], "d exp(a)/da = exp(a) = out.data")
    with partial.part("log: right for positive numbers, ValueError for 0 and negatives"):
        _one_step_cases(student, reference, [
            ("log", ("x",), {"x": float(rng.uniform(0.2, 0.9))}),
            ("log", ("x",), {"x": float(rng.uniform(1.1, 6.0))}),
        ], "d log(a)/da = 1 / a")
        for bad in (0.0, -float(rng.uniform(0.5, 3.0))):
            with raises_student_error("ValueError", what=f"Value({bad:g}).log()"):
                student.evaluate_expression([("o", "log", ("x",))], {"x": bad})
    with partial.part("tanh"):
        _one_step_cases(student, reference, [
            ("tanh", ("x",), {"x": _away(rng, 0.2, 2.5)}),
            ("tanh", ("x",), {"x": _away(rng, 0.2, 2.5)}),
        ], "d tanh(a)/da = 1 - tanh(a)**2: use the output t, not the input", composite=True)
    with partial.part("relu: positive, negative and exactly 0 (gradient 0 there)"):
        _one_step_cases(student, reference, [
            ("relu", ("x",), {"x": float(rng.uniform(0.2, 3.0))}),
            ("relu", ("x",), {"x": -float(rng.uniform(0.2, 3.0))}),
            ("relu", ("x",), {"x": 0.0}),
        ], "relu passes the gradient only where the input is > 0 (at exactly 0 it is 0)")
    with partial.part("sigmoid"):
        _one_step_cases(student, reference, [
            ("sigmoid", ("x",), {"x": float(rng.uniform(-5.0, -0.2))}),
            ("sigmoid", ("x",), {"x": float(rng.uniform(0.2, 5.0))}),
        ], "d sigmoid(a)/da = sigmoid(a) (1 - sigmoid(a))", composite=True)
    with partial.part("sigmoid at -1000 and 1000: 0 and 1 without an OverflowError"):
        _one_step_cases(student, reference, [
            ("sigmoid", ("x",), {"x": -1000.0}), ("sigmoid", ("x",), {"x": 1000.0}),
        ], "math.exp(1000) overflows: for negative x compute exp(x) / (1 + exp(x)), for the "
           "others 1 / (1 + exp(-x))", composite=True)
    with partial.part("gradients add up over every path (a node used several times)"):
        _provided_helper_unchanged(student)
        a = _away(rng, 0.5, 2.0)
        _same_gradients_over_paths(student, reference, [
            ("sq", "*", ("a", "a")), ("o", "+", ("sq", "a"))], {"a": a}, "a * a + a")
        _same_gradients_over_paths(student, reference, [
            ("e", "exp", ("a",)), ("t", "tanh", ("a",)), ("m", "*", ("e", "t")),
            ("s", "sigmoid", ("a",)), ("p", "*", ("s", "a")), ("q", "+", ("m", "p")),
            ("o", "+", ("q", "a"))], {"a": a}, "exp(a) tanh(a) + sigmoid(a) a + a")
        _same_gradients_over_paths(student, reference, [
            ("b", "*", ("a", 2.0)), ("c", "*", ("b", "b")), ("d", "+", ("c", "b")),
            ("o", "*", ("d", "b"))], {"a": a}, "b = 2a, out = (b * b + b) * b")
        inputs = {f"i{k}": float(rng.uniform(-1.0, 1.0)) for k in range(4)}
        _same_gradients_over_paths(student, reference, _SHARED_GRAPH, inputs,
                                   "a graph of 16 operations with many shared nodes")
    with partial.part("calling backward() three times gives the gradients of one call"):
        _provided_helper_unchanged(student)
        steps = [("q", "+", ("x", "y")), ("f", "*", ("q", "z")), ("o", "tanh", ("f",))]
        inputs = {name: _away(rng, 0.2, 1.0) for name in "xyz"}
        got = _evaluate(student, steps, inputs, calls=3)[:2]
        options = [_evaluate(reference, steps, inputs)[:2]]
        once = _evaluate(student, steps, inputs, calls=1)[:2]
        if any(g != 0.0 for g in once[1].values()):
            options.append(once)
        _with_hint(lambda: same_as_one_of(got, options, rtol=RTOL, atol=ATOL,
                                          what=f"{_describe(steps, inputs)}, backward() x3"),
                   "backward() must first set every .grad in the graph to 0")


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------


def _forward(side, name: str, *args):
    result = getattr(side, name)(*args)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError(f"`{name}` should return a tuple (out, cache)")
    return result


def _same_out(student, reference, name, args, what, hint=""):
    got = _forward(student, name, *args)[0]
    expected = _forward(reference, name, *args)[0]
    _with_hint(lambda: same_value(got, expected, rtol=1e-7, atol=1e-10, what=what),
               hint or f"compare your formula with the text above `{name}`")


def _same_backward(student, reference, forward, backward, args, dout, prescribed, what,
                   hint=""):
    """The student's backward on its own forward's cache or, if that fails (a wrong forward),
    on a cache as the notebook prescribes it; either must give the reference's gradients."""
    expected = getattr(reference, backward)(dout, _forward(reference, forward, *args)[1])
    caches = []
    try:
        caches.append(_forward(student, forward, *args)[1])
    except (AssertionError, StudentError):
        pass
    caches.extend(prescribed)
    first = None
    for cache in caches:
        try:
            same_value(getattr(student, backward)(dout, cache), expected, rtol=1e-7,
                       atol=1e-10, what=what)
            return
        except (AssertionError, StudentError) as error:
            first = first or error
    if isinstance(first, AssertionError) and hint:
        raise AssertionError(f"{first}. Hint: {hint}") from None
    raise first


def _both_read_only(student, reference, forward, backward, args, dout, what):
    """Forward then backward, each on read-only arrays (the cache too), with right values."""
    got_forward = result_on_read_only_inputs(student, forward, *args)
    expected_forward = getattr(reference, forward)(*args)
    if not (isinstance(got_forward, tuple) and len(got_forward) == 2):
        raise AssertionError(f"not scored until the values are right: `{forward}` should "
                             "return a tuple (out, cache)")
    _values_right_when_read_only(got_forward[0], expected_forward[0], f"{what}: out")
    got_backward = result_on_read_only_inputs(student, backward, dout, got_forward[1])
    _values_right_when_read_only(got_backward,
                                 getattr(reference, backward)(dout, expected_forward[1]),
                                 f"{what}: the gradients")


@pytest.mark.points(3)
def test_affine(student, reference, rng, partial):
    N, d1, d2, M = (int(v) for v in rng.integers(2, 6, size=4))
    x, w, b = rng.normal(size=(N, d1, d2)), rng.normal(size=(d1 * d2, M)), rng.normal(size=M)
    dout = rng.normal(size=(N, M))
    x1, dout1 = rng.normal(size=(1, d1 * d2)), rng.normal(size=(1, M))
    with partial.part("forward: x of shape (N, d1, d2), and a single example (N=1)"):
        _same_out(student, reference, "affine_forward", (x, w, b), "affine_forward's out",
                  "flatten each example: x.reshape(N, -1) @ w + b")
        _same_out(student, reference, "affine_forward", (x1, w, b),
                  "affine_forward's out for one example")
    with partial.part("backward: dx, dw, db for x of shape (N, d1, d2), and for N=1"):
        hint = "dx = dout @ w.T reshaped like x, dw = x_flat.T @ dout, db = dout.sum(axis=0)"
        _same_backward(student, reference, "affine_forward", "affine_backward", (x, w, b),
                       dout, [(x, w, b)], "(dx, dw, db)", hint)
        _same_backward(student, reference, "affine_forward", "affine_backward", (x1, w, b),
                       dout1, [(x1, w, b)], "(dx, dw, db) for one example", hint)
    with partial.part(f"each of affine_forward and affine_backward {RULE_INPUTS}"):
        _both_read_only(student, reference, "affine_forward", "affine_backward", (x, w, b),
                        dout, "on read-only x, w, b, dout and cache")


def _relu_input(rng):
    """Random values with |x| >= 0.1, and exact zeros at fixed places (the kink)."""
    x = _away(rng, 0.1, 2.0, size=tuple(int(v) for v in rng.integers(2, 5, size=3)))
    x.flat[::4] = 0.0
    x.flat[1] = -abs(x.flat[1])
    x.flat[2] = abs(x.flat[2])
    return x


@pytest.mark.points(2)
def test_relu(student, reference, rng, partial):
    x = _relu_input(rng)
    dout = _away(rng, 0.5, 2.0, size=x.shape)
    with partial.part("forward on a 3-D array with exact zeros"):
        _same_out(student, reference, "relu_forward", (x,), "relu_forward's out",
                  "out = np.maximum(x, 0)")
    with partial.part("backward: the gradient passes where x > 0 only (0 at exactly 0)"):
        _same_backward(student, reference, "relu_forward", "relu_backward", (x,), dout, [x],
                       "relu_backward's dx",
                       "dx = dout where x > 0 and 0 elsewhere, including at x = 0")
    with partial.part(f"each of relu_forward and relu_backward {RULE_INPUTS}"):
        _both_read_only(student, reference, "relu_forward", "relu_backward", (x,), dout,
                        "on read-only x, dout and cache")


@pytest.mark.points(2)
def test_sigmoid(student, reference, rng, partial):
    x = _away(rng, 0.1, 6.0, size=(int(rng.integers(2, 6)), 4))
    dout = rng.normal(size=x.shape)
    sigma = reference.sigmoid_forward(x)[0]
    with partial.part("forward on random inputs"):
        _same_out(student, reference, "sigmoid_forward", (x,), "sigmoid_forward's out")
    with partial.part("backward on random inputs"):
        _same_backward(student, reference, "sigmoid_forward", "sigmoid_backward", (x,), dout,
                       [sigma, x], "sigmoid_backward's dx",
                       "dx = dout * sigmoid(x) * (1 - sigmoid(x))")
    with partial.part("huge inputs (x = -1000 ... 1000): 0 and 1, gradients 0, no NaN"):
        big = np.array([[-1000.0, -750.0, -40.0, 0.0, 40.0, 750.0, 1000.0]])
        stable = ("np.exp(x) / (1 + np.exp(x)) is inf / inf = NaN for x = 1000: use it only "
                  "for negative x and 1 / (1 + np.exp(-x)) for the others (boolean masks)")
        _same_out(student, reference, "sigmoid_forward", (big,), "sigmoid of huge inputs",
                  stable)
        _same_backward(student, reference, "sigmoid_forward", "sigmoid_backward", (big,),
                       np.ones_like(big), [reference.sigmoid_forward(big)[0], big],
                       "the local gradient at huge inputs", stable)
    with partial.part(f"each of sigmoid_forward and sigmoid_backward {RULE_INPUTS}"):
        _both_read_only(student, reference, "sigmoid_forward", "sigmoid_backward", (x,), dout,
                        "on read-only x, dout and cache")


def _same_softmax(student, reference, scores, y, what, hint):
    got = student.softmax_loss(scores, y)
    expected = reference.softmax_loss(scores, y)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError("softmax_loss should return a tuple (loss, dscores)")
    _with_hint(lambda: same_value(got, expected, rtol=1e-7, atol=1e-10, what=what), hint)


@pytest.mark.points(3)
def test_softmax_loss(student, reference, rng, partial):
    N, C = int(rng.integers(3, 9)), int(rng.integers(3, 7))
    scores, y = rng.normal(scale=2.0, size=(N, C)), rng.integers(0, C, size=N)
    formula = "loss = mean over the N examples of -log p[i, y_i]; dscores = (p - onehot) / N"
    with partial.part("random scores: the loss (a number) and dscores"):
        _same_softmax(student, reference, scores, y, "(loss, dscores)", formula)
    with partial.part("a single example (N=1)"):
        _same_softmax(student, reference, scores[:1], y[:1], "(loss, dscores) for N=1", formula)
    with partial.part("rows of huge scores (every score of a row near 1000 or -1000)"):
        offsets = np.where(np.arange(N) % 2 == 0, 1000.0, -1000.0)[:, None]
        huge = offsets + rng.normal(scale=2.0, size=(N, C))
        _same_softmax(student, reference, huge, y, "(loss, dscores) for scores near +-1000",
                      "np.exp(1000) is inf and np.exp(-1000) is 0: subtract each row's maximum "
                      "from the scores before np.exp (section 2.4)")
    with partial.part(f"softmax_loss {RULE_INPUTS}"):
        got = result_on_read_only_inputs(student, "softmax_loss", scores, y)
        _values_right_when_read_only(got, reference.softmax_loss(scores, y),
                                     "(loss, dscores) on read-only scores and y")


# ---------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------
# The mask is random, so nothing is compared with one particular draw: every part checks what
# every correct inverted dropout does, with the self-check's own code (``dropout_train_problem``,
# ``dropout_kept``). The seeds are fixed, so a submission always draws the same masks; ``rng``
# varies only the values of x and dout, which stay away from 0 except for the exact zeros
# placed at fixed positions (a kept unit at x = 0 must still pass its gradient).

_DROPOUT_SEED, _OTHER_DROPOUT_SEED = 231, 232
_KEEP_HINT = ("p is the probability of KEEPING a unit: keep where a uniform draw is below p "
              "and divide the kept units by p")


def _train(p: float, seed: int) -> dict:
    return {"mode": "train", "p": p, "seed": seed}


def _x_with_zeros(rng) -> np.ndarray:
    """A 3-D input with exact zeros at fixed places."""
    x = _away(rng, 0.1, 3.0, size=(4, 5, 6))
    x.flat[::5] = 0.0
    return x


def _dropout_forward(student, x, param, what: str):
    result = student.dropout_forward(x, param)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError(f"`dropout_forward` should return a tuple (out, cache) ({what})")
    return result


def _train_output_right(x, out, p, tolerance, what: str, hint: str = _KEEP_HINT) -> None:
    problem = dropout_train_problem(x, out, p, tolerance)
    if problem:
        raise AssertionError(f"{what}: {problem}. Hint: {hint}")


def _kept_by_own_forward(student, x, param) -> np.ndarray | None:
    """The units the student's forward keeps for ``param`` (same seed) on an input shaped like
    x, read on a twin of x without zeros; None when that tells nothing."""
    twin = np.where(x == 0, 1.0, x)
    try:
        return dropout_kept(twin, _dropout_forward(student, twin, param, "")[0])
    except (AssertionError, StudentError):
        return None


def _dropout_backward_right(student, x, param, dout, prescribed, what: str) -> None:
    """``dropout_backward`` on the cache of the student's own forward gives dout / p where
    that forward kept a unit and 0 elsewhere (dout in test mode); if not (e.g. a wrong
    forward), it must give dout * mask on the cache the docstring prescribes (``prescribed``,
    the mask itself)."""
    if param["mode"] == "train":
        kept = _kept_by_own_forward(student, x, param)
        expected = None if kept is None else dout * kept / param["p"]
    else:
        expected = dout
    if expected is not None:
        try:
            cache = _dropout_forward(student, x, param, what)[1]
            same_value(student.dropout_backward(dout, cache), expected, rtol=1e-7, atol=1e-10,
                       what=what)
            return
        except (AssertionError, StudentError):
            pass
    got = student.dropout_backward(dout, prescribed)
    _with_hint(lambda: same_value(got, dout * prescribed, rtol=1e-7, atol=1e-10,
                                  what=f"{what}, given the mask as the docstring prescribes"),
               "the cache is the mask with its 1/p (all ones in test mode): dx = dout * mask")


@pytest.mark.points(3)
def test_dropout(student, rng, partial):
    p, x = 0.7, _away(rng, 0.1, 3.0, size=DROPOUT_LARGE_SHAPE)
    x3 = _x_with_zeros(rng)
    size = "x".join(str(n) for n in DROPOUT_LARGE_SHAPE)
    with partial.part(f"training mode, p = {p}, on a {size} input: every output is 0 or x / p, "
                      f"and about {p:.0%} of the units are kept"):
        out = _dropout_forward(student, x, _train(p, _DROPOUT_SEED), "training mode")[0]
        _train_output_right(x, out, p, DROPOUT_SHARE_TOLERANCE, f"training mode, p = {p}")
    with partial.part("a 3-D input with exact zeros (p = 0.5), and p = 1 (every unit kept)"):
        out = _dropout_forward(student, x3, _train(0.5, _DROPOUT_SEED), "a 3-D input")[0]
        _train_output_right(x3, out, 0.5, None, "a 3-D input with exact zeros, p = 0.5",
                            "draw the mask with the shape of x (rng.random(x.shape)), whatever "
                            "its number of dimensions")
        out = _dropout_forward(student, x3, _train(1.0, _DROPOUT_SEED), "p = 1")[0]
        _with_hint(lambda: same_value(out, x3, rtol=1e-12, atol=0.0,
                                      what="out for p = 1 (every unit kept)"), _KEEP_HINT)
    with partial.part("the seed decides the mask: the same seed gives the same output, another "
                      "seed another mask"):
        first = _dropout_forward(student, x, _train(p, _DROPOUT_SEED), "seed 231")[0]
        again = _dropout_forward(student, x, _train(p, _DROPOUT_SEED), "seed 231 again")[0]
        other = _dropout_forward(student, x, _train(p, _OTHER_DROPOUT_SEED), "seed 232")[0]
        _with_hint(lambda: same_value(again, first, rtol=0.0, atol=0.0,
                                      what="out of a second call with the same seed"),
                   "draw the mask from np.random.default_rng(dropout_param['seed'])")
        if not (isinstance(first, np.ndarray) and isinstance(other, np.ndarray)
                and other.shape == first.shape and np.any((other != 0) != (first != 0))):
            raise AssertionError("seeds 231 and 232 gave the same mask: draw it from the seed "
                                 "you are given (np.random.default_rng(dropout_param['seed'])), "
                                 "not from a fixed one")
    with partial.part("test mode: out = x (no unit dropped, none rescaled), with and without "
                      "a seed"):
        for param in ({"mode": "test", "p": 0.3}, {"mode": "test", "p": p, "seed": 5}):
            out = _dropout_forward(student, x3, param, "test mode")[0]
            _with_hint(lambda out=out, param=param: same_value(
                out, x3, rtol=1e-12, atol=0.0, what=f"out in test mode (p = {param['p']})"),
                "with inverted dropout the training pass already rescaled: at test time the "
                "layer is the identity")
    with partial.part("backward: dout / p where a unit was kept (also at x = 0), 0 where it "
                      "was dropped; dout in test mode"):
        xb = _away(rng, 0.1, 3.0, size=(60, 50))
        for xi, param, what in [(xb, _train(p, _DROPOUT_SEED), f"dx for p = {p}"),
                                (x3, _train(0.5, _OTHER_DROPOUT_SEED),
                                 "dx for a 3-D input with exact zeros, p = 0.5"),
                                (x3, {"mode": "test", "p": 0.5}, "dx in test mode")]:
            dout = _away(rng, 0.5, 2.0, size=xi.shape)
            if param["mode"] == "train":
                mask = np.where(rng.random(xi.shape) < param["p"], 1.0 / param["p"], 0.0)
            else:
                mask = np.ones(xi.shape)
            _dropout_backward_right(student, xi, param, dout, mask, what)
    with partial.part(f"each of dropout_forward and dropout_backward {RULE_INPUTS}"):
        got = result_on_read_only_inputs(student, "dropout_forward", x, _train(p, _DROPOUT_SEED))
        if not (isinstance(got, tuple) and len(got) == 2):
            raise AssertionError("not scored until the values are right: `dropout_forward` "
                                 "should return a tuple (out, cache)")
        problem = dropout_train_problem(x, got[0], p, DROPOUT_SHARE_TOLERANCE)
        if problem:
            raise AssertionError(f"not scored until the values are right: {problem}")
        dout = _away(rng, 0.5, 2.0, size=x.shape)
        dx = result_on_read_only_inputs(student, "dropout_backward", dout, got[1])
        _values_right_when_read_only(dx, dout * (got[0] != 0) / p,
                                     "dropout_backward on read-only dout and its own "
                                     "forward's cache")


# ---------------------------------------------------------------------------------------
# Two-layer network
# ---------------------------------------------------------------------------------------

LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")


def _layers_called_by(student, name: str) -> tuple[str, ...]:
    """The layer functions ``name`` refers to, directly or through the student's helpers
    (read from the source text, never executed)."""
    found, seen, todo = set(), set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tree = ast.parse(student.source(current) or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if node.id in LAYERS:
                    found.add(node.id)
                elif node.id not in seen:
                    todo.append(node.id)
    return tuple(sorted(found))


def _net(rng, D, H, C):
    return {"W1": rng.normal(scale=0.5, size=(D, H)), "b1": rng.normal(scale=0.1, size=H),
            "W2": rng.normal(scale=0.5, size=(H, C)), "b2": rng.normal(scale=0.1, size=C)}


# Errors that say nothing about the network's own code: never accepted as "fails the same way".
_NOT_COMPARABLE = ("NotImplementedError", "MissingDefinition", "Timeout", "StudentTimeout",
                   "WorkerCrashed", "BadReply", "WorkerRestarted", "MemoryError")


def _outcome(call):
    """(value, None) or (None, the StudentError) of a call."""
    try:
        return call(), None
    except StudentError as error:
        return None, error


def _same_failure(got: StudentError, composed: StudentError | None) -> bool:
    """The student's network raised what the reference built on the student's layers raises
    (e.g. a shape error caused by a layer's wrong gradient): the layer's test counts it."""
    return (composed is not None and got.type_name == composed.type_name
            and got.type_name not in _NOT_COMPARABLE and bool(composed.message)
            and got.message.startswith(composed.message.splitlines()[0][:300]))


def _same_net(student, reference, called, args, what, outcome=None):
    """The student's result (``outcome`` = (value, error), or a fresh call) equals the
    reference's, or the reference's built on the student's own layers (for the layers the
    network calls), or fails exactly as that composed reference does."""
    got, error = outcome or _outcome(lambda: student.two_layer_net(*args))
    expected = reference.two_layer_net(*args)
    if error is None and _matches(got, expected, 1e-7, 1e-10):
        return
    composed, composed_error = None, None
    if called:
        composed, composed_error = _outcome(
            lambda: reference.using(student, *called).two_layer_net(*args))
    if error is not None:
        if _same_failure(error, composed_error):
            return
        raise error
    options = [expected]
    if composed is not None and _finite_and_varied(composed):
        options.append(composed)
    _with_hint(lambda: same_as_one_of(got, options, rtol=1e-7, atol=1e-10, what=what),
               "affine - relu - affine gives the scores; then the softmax loss plus "
               "reg * (sum(W1**2) + sum(W2**2)); the backward pass calls the layers' backward "
               "functions in reverse order and adds 2 * reg * W to dW1 and dW2")


def _layer_writes_inputs(student, reference, called, params, X, y) -> str | None:
    """The first layer the network calls that writes into its arguments (replayed on the
    reference's intermediate values with read-only arrays), or None."""
    hidden, cache1 = reference.affine_forward(X, params["W1"], params["b1"])
    active, cache_relu = reference.relu_forward(hidden)
    scores, cache2 = reference.affine_forward(active, params["W2"], params["b2"])
    _, dscores = reference.softmax_loss(scores, y)
    dactive, _, _ = reference.affine_backward(dscores, cache2)
    dhidden = reference.relu_backward(dactive, cache_relu)
    calls = [("affine_forward", (X, params["W1"], params["b1"])), ("relu_forward", (hidden,)),
             ("affine_forward", (active, params["W2"], params["b2"])),
             ("softmax_loss", (scores, y)), ("affine_backward", (dscores, cache2)),
             ("relu_backward", (dactive, cache_relu)), ("affine_backward", (dhidden, cache1))]
    for name, args in calls:
        if name in called:
            try:
                student.call_read_only(name, *args)
            except StudentError as error:
                if _is_read_only_error(error):
                    return name
    return None


@pytest.mark.points(4)
def test_two_layer_net(student, reference, rng, partial):
    N, D, H, C = (int(v) for v in (rng.integers(3, 8), rng.integers(3, 7),
                                   rng.integers(4, 9), rng.integers(2, 5)))
    params, X, y = _net(rng, D, H, C), rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    reg = float(rng.uniform(0.05, 0.5))
    called = _layers_called_by(student, "two_layer_net")
    with partial.part("scores when y is None"):
        _same_net(student, reference, called, (params, X), "the scores")
    with partial.part("loss and gradients without regularization"):
        _same_net(student, reference, called, (params, X, y), "(loss, grads)")
    with partial.part("loss and gradients with regularization"):
        _same_net(student, reference, called, (params, X, y, reg),
                  f"(loss, grads) with reg={reg:.3f}")
    params2, X3 = _net(rng, 2 * D, H, C), rng.normal(size=(N, 2, D))
    with partial.part("images as input (X of shape (N, 2, D)) and a single example (N=1)"):
        _same_net(student, reference, called, (params2, X3, y, 0.1),
                  "(loss, grads) for X of shape (N, 2, D)")
        _same_net(student, reference, called, (params, X[:1], y[:1], 0.1),
                  "(loss, grads) for one example")
    with partial.part(f"two_layer_net {RULE_INPUTS}: params, X of shape (N, 2, D)"):
        args = (params2, X3, y, reg)
        try:
            outcome = _outcome(lambda: result_on_read_only_inputs(student, "two_layer_net", *args))
        except AssertionError:
            if _layer_writes_inputs(student, reference, called, params2, X3, y) is None:
                raise
            # the layer that writes is counted in its own test: judge the values only
            outcome = _outcome(lambda: student.two_layer_net(*args))
        try:
            _same_net(student, reference, called, args, "(loss, grads)", outcome)
        except (AssertionError, StudentError) as error:
            raise AssertionError(f"not scored until the values are right: "
                                 f"{describe_failure(error)}") from None
