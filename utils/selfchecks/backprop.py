"""Self-checks for the 05_backprop exercise (scalar autodiff engine, layers, two-layer net).

Expected values come from hand-worked examples (worked out in the comments), from the
derivative rules written with Python's ``math`` module, from independent library code
(``scipy.special.expit``, ``scipy.special.log_softmax`` and ``scipy.special.softmax``) and
from centred-difference numerical gradients (``utils.gradcheck``), never from the course's
solutions.

The rules the hidden suite enforces are tried here with the same shared code
(``utils.rules``): every function that takes arrays is called once on read-only arrays
(``call_with_read_only_inputs``, the rule ``RULE_INPUTS``), and the edge cases the grader
tries (relu at exactly 0, sigmoids at +-1000, rows of softmax scores near +-1000, a single
example, a node used on several paths, repeated ``backward()``) are cases here too.
Dropout's mask is random: its cases check properties every correct inverted dropout has, with
``dropout_train_problem`` and ``dropout_kept``, which the hidden suite uses too.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable

import numpy as np

from utils.checks import (
    CheckFailure,
    SelfCheck,
    describe,
    expect,
    expect_array,
    expect_close,
)
from utils.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array
from utils.rules import RULE_INPUTS, call_with_read_only_inputs
from utils.selfchecks.provided_code import ProvidedCode


def read_only_write_message(name: str, error: BaseException) -> str | None:
    """The student-facing sentence for a write into a read-only input, or None if ``error``
    is something else (numpy says "assignment destination is read-only" for ``x[i] = v`` and
    "output array is read-only" for ``x += v``)."""
    if isinstance(error, ValueError) and "read-only" in str(error):
        return (f"{name} {RULE_INPUTS}: it wrote into one of its arguments ({error}). Compute "
                "new arrays (x = x - m, np.maximum(x, 0), dout * mask) instead of writing "
                "into x, dout or the cache.")
    return None


def _call_read_only(name: str, fn, *args, **kwargs):
    """``fn`` on read-only copies of the arguments (the grader does the same); a write
    becomes a failed case that states the rule."""
    try:
        return call_with_read_only_inputs(fn, *args, **kwargs)
    except ValueError as error:
        message = read_only_write_message(name, error)
        if message is None:
            raise
        raise CheckFailure(message) from None

# ---------------------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------------------

#: The provided ``evaluate_expression`` of the Value cell, docstring left out. The grader tests
#: Value through it and requires the notebook's copy to be this code (compared as syntax trees:
#: comments, blank lines and the docstring do not matter); tests/test_backprop.py keeps this
#: text equal to the solution notebook's.
PROVIDED_EVALUATE_EXPRESSION = '''
def evaluate_expression(steps, inputs, backward_calls=1):
    nodes = {name: Value(x, label=name) for name, x in inputs.items()}

    def arg(a):
        return nodes[a] if isinstance(a, str) else a

    binary = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: a / b, "**": lambda a, b: a ** b}
    out = None
    for name, op, args in steps:
        if op in binary:
            out = binary[op](arg(args[0]), arg(args[1]))
        elif op == "neg":
            out = -arg(args[0])
        elif op in ("exp", "log", "tanh", "relu", "sigmoid"):
            out = getattr(arg(args[0]), op)()
        else:
            raise ValueError(f"unknown operation {op!r} in step {name!r}")
        nodes[name] = out
    for _ in range(backward_calls):
        out.backward()
    return (float(out.data), {name: float(nodes[name].grad) for name in inputs},
            {name: float(node.data) for name, node in nodes.items()})
'''


EVALUATE_EXPRESSION = ProvidedCode({"evaluate_expression": PROVIDED_EVALUATE_EXPRESSION},
                                   cell="Value", tested="Value", user="evaluate_expression",
                                   own_names=frozenset({"Value"}))


def provided_helper_problem(source: str | None, defined: Callable[[str], bool]) -> str | None:
    """Why the notebook's ``evaluate_expression`` is not the provided one, or None.

    Inputs:
    - source: its source text (None if missing).
    - defined: ``defined(name)`` is True when the student's cells define ``name``.
    The hidden suite uses the same function on the notebook's text.
    """
    return EVALUATE_EXPRESSION.problem(lambda name: source, defined)


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _value_cases() -> list[tuple[str, Callable, dict, float, dict, str]]:
    """(description, build(**leaves), inputs, expected output, expected gradients, hint).

    Expected gradients are the derivative rules evaluated by hand with ``math``.
    """
    t = math.tanh(0.5)
    return [
        ("the slides' example f = (x + y) z at x=-2, y=5, z=-4: f=-12, df/dx=df/dy=-4, "
         "df/dz=3",
         lambda x, y, z: (x + y) * z, {"x": -2.0, "y": 5.0, "z": -4.0},
         -12.0, {"x": -4.0, "y": -4.0, "z": 3.0},
         "the add gate passes the upstream gradient to both inputs; the multiply gate "
         "multiplies it by the *other* input."),
        ("a - b and a / b (a=3, b=-2)", lambda a, b: (a - b) + a / b, {"a": 3.0, "b": -2.0},
         5.0 - 1.5, {"a": 1.0 + 1 / -2.0, "b": -1.0 - 3.0 / 4.0},
         "d(a/b)/db = -a / b**2; d(a-b)/db = -1."),
        ("reflected forms 2*v, 1 - v, 3 + v, 6 / v at v=2",
         lambda v: (2 * v) * (1 - v) + (3 + v) + 6 / v, {"v": 2.0},
         4.0 * -1.0 + 5.0 + 3.0, {"v": 2 * (1 - 2.0) - 2 * 2.0 + 1.0 - 6 / 4.0},
         "Python calls __rmul__, __rsub__, __radd__ and __rtruediv__ when the number is on the "
         "left: 1 - v must be 1 minus v, not v minus 1."),
        ("unary minus and powers -v**3 + v**-1 + v**0.5 at v=4",
         lambda v: -(v ** 3) + v ** -1 + v ** 0.5, {"v": 4.0},
         -64.0 + 0.25 + 2.0, {"v": -3 * 16.0 - 1 / 16.0 + 0.5 / 2.0},
         "d(v**p)/dv = p * v**(p - 1), for integer and fractional p."),
        ("exp and log at a=0.3, b=2.5", lambda a, b: a.exp() + b.log(), {"a": 0.3, "b": 2.5},
         math.exp(0.3) + math.log(2.5), {"a": math.exp(0.3), "b": 1 / 2.5},
         "d exp(a)/da = exp(a); d log(b)/db = 1/b."),
        ("tanh at 0.5", lambda a: a.tanh(), {"a": 0.5}, t, {"a": 1 - t * t},
         "d tanh(a)/da = 1 - tanh(a)**2."),
        ("relu at -1.5, at exactly 0 and at 2 (output relu(a) + relu(b) + relu(c))",
         lambda a, b, c: a.relu() + b.relu() + c.relu(), {"a": -1.5, "b": 0.0, "c": 2.0}, 2.0,
         {"a": 0.0, "b": 0.0, "c": 1.0},
         "relu passes the gradient where the input is > 0 and blocks it elsewhere; at exactly "
         "0 the gradient is 0."),
        ("sigmoid at 0.7", lambda a: a.sigmoid(), {"a": 0.7}, _sig(0.7),
         {"a": _sig(0.7) * (1 - _sig(0.7))}, "d sigmoid(a)/da = sigmoid(a) (1 - sigmoid(a))."),
        ("a node used several times adds up its gradients: f = a*a + a at a=3 (df/da = 7)",
         lambda a: a * a + a, {"a": 3.0}, 12.0, {"a": 7.0},
         "accumulate with `+=` in every _backward; never overwrite with `=`."),
        ("a diamond graph: b = 2a, c = b*b + b, f = c * b at a=1 (df/da = 6b**2 + 4b = 32)",
         lambda a: (lambda b: (b * b + b) * b)(a * 2), {"a": 1.0}, 12.0, {"a": 32.0},
         "run every node's _backward only after all nodes that use it are done: sort the "
         "graph topologically and walk it in reverse."),
        ("sigmoid at -1000 and 1000 gives 0 and 1 without an OverflowError",
         lambda a, b: a.sigmoid() + b.sigmoid(), {"a": -1000.0, "b": 1000.0}, 1.0,
         {"a": 0.0, "b": 0.0},
         "math.exp(1000) overflows: for negative x use exp(x) / (1 + exp(x)), for the others "
         "1 / (1 + exp(-x))."),
    ]


def _neuron_value(w0, x0, w1, x1, w2):
    return 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())


def _neuron_float(p: np.ndarray) -> float:
    w0, x0, w1, x1, w2 = p
    return 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def _run_value_case(cls, build, inputs, expected, expected_grads, hint, backward_calls=1):
    leaves = {name: cls(x) for name, x in inputs.items()}
    out = build(**leaves)
    expect(isinstance(out, cls), f"Expected the expression to give a Value, got "
                                 f"{type(out).__name__}.")
    for _ in range(backward_calls):
        result = out.backward()
    expect(result is None, "backward() should fill .grad and return None.")
    expect_close(out.data, expected, rtol=1e-9, atol=1e-12, what="the output's .data",
                 hint="check the forward computation of each operation.")
    expect_close(out.grad, 1.0, what="the output's own .grad",
                 hint="backward() starts with output.grad = 1 (d out / d out).")
    for name, g in expected_grads.items():
        expect_close(leaves[name].grad, g, rtol=1e-7, atol=1e-10, what=f"d out / d {name}",
                     hint=hint)


def check_value(cls) -> None:
    """Check a ``Value`` class: every operation's value and gradient, reuse, order, resets."""
    check = SelfCheck(cls.__name__)
    for description, build, inputs, expected, grads, hint in _value_cases():
        with check.case(description):
            _run_value_case(cls, build, inputs, expected, grads, hint)
    with check.case("a sigmoid neuron 1/(1+exp(-(w0 x0 + w1 x1 + w2))) against numerical "
                    "gradients"):
        p = np.array([2.0, -1.0, -3.0, -2.0, -3.0])  # w0, x0, w1, x1, w2
        numeric = eval_numerical_gradient(_neuron_float, p.copy())
        names = ("w0", "x0", "w1", "x1", "w2")
        _run_value_case(cls, _neuron_value, dict(zip(names, p, strict=True)),
                        _neuron_float(p), dict(zip(names, numeric, strict=True)),
                        "the chain rule multiplies local gradients along the path.")
    with check.case("calling backward() twice gives the same gradients (reset, not summed)"):
        _run_value_case(cls, lambda x, y, z: (x + y) * z, {"x": -2.0, "y": 5.0, "z": -4.0},
                        -12.0, {"x": -4.0, "y": -4.0, "z": 3.0},
                        "set every .grad in the graph to 0 at the start of backward().",
                        backward_calls=2)
    with check.case("log of 0 and of -2 raise ValueError"):
        for bad in (0.0, -2.0):
            try:
                cls(bad).log()
            except ValueError:
                pass
            else:
                expect(False, f"Value({bad}).log() should raise ValueError: log is only "
                              "defined for positive numbers.")
    with check.case("the provided evaluate_expression is unchanged and reports what your "
                    "Value computes (the grader tests Value through it)"):
        namespace = _notebook_namespace(cls)
        evaluate = namespace.get("evaluate_expression")
        try:
            source = inspect.getsource(evaluate) if callable(evaluate) else None
        except (OSError, TypeError):
            expect(False, "Could not read the source of evaluate_expression; run the Value "
                          "cell again.")
        problem = provided_helper_problem(source, lambda name: name in namespace)
        expect(problem is None, f"{problem}.")
        out, grads, values = evaluate([("q", "+", ("x", "y")), ("f", "*", ("q", "z"))],
                                      {"x": -2.0, "y": 5.0, "z": -4.0}, 2)
        expect_close(out, -12.0, what="the output evaluate_expression returns")
        for name, g in {"x": -4.0, "y": -4.0, "z": 3.0}.items():
            expect_close(grads.get(name) if isinstance(grads, dict) else None, g,
                         what=f"grads[{name!r}] from evaluate_expression",
                         hint="evaluate_expression is provided: do not change it.")
        expect_close(values.get("q") if isinstance(values, dict) else None, 3.0,
                     what="values['q'] from evaluate_expression")
    return check.report()


def _notebook_namespace(cls) -> dict:
    """The globals of the notebook that defined ``cls`` (read from its methods)."""
    for member in vars(cls).values():
        namespace = getattr(getattr(member, "__func__", member), "__globals__", None)
        if isinstance(namespace, dict):
            return namespace
    return {}


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------

_AFFINE_X = np.array([[[1.0, 2.0, 3.0]], [[0.0, -1.0, 2.0]]])  # (2, 1, 3)
_AFFINE_W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
_AFFINE_B = np.array([0.5, -1.0])
# out row 1 = [1 + 3 + 0.5, 2 - 3 - 1], row 2 = [0 + 2 + 0.5, -1 - 2 - 1]
_AFFINE_OUT = np.array([[4.5, -2.0], [2.5, -4.0]])


def check_affine(forward, backward) -> None:
    """Check ``affine_forward(x, w, b)`` and ``affine_backward(dout, cache)``."""
    check = SelfCheck("affine_forward / affine_backward")
    with check.case("forward of a 2x(1x3) example worked by hand (x is flattened per row)"):
        out, _ = forward(_AFFINE_X.copy(), _AFFINE_W.copy(), _AFFINE_B.copy())
        expect_array(out, _AFFINE_OUT, what="out",
                     hint="flatten each example: x.reshape(N, -1) @ w + b.")
    with check.case("backward of the same example with dout = ones, worked by hand"):
        _, cache = forward(_AFFINE_X.copy(), _AFFINE_W.copy(), _AFFINE_B.copy())
        dx, dw, db = backward(np.ones((2, 2)), cache)
        # dx row = w @ [1, 1] = [1, 1, 0]; dw[i] = column sums of x_flat; db = [2, 2]
        expect_array(dx, np.array([[[1.0, 1.0, 0.0]], [[1.0, 1.0, 0.0]]]), what="dx",
                     hint="dx = dout @ w.T, reshaped to the shape of x.")
        expect_array(dw, np.array([[1.0, 1.0], [1.0, 1.0], [5.0, 5.0]]), what="dw",
                     hint="dw = x_flat.T @ dout.")
        expect_array(db, np.array([2.0, 2.0]), what="db", hint="db sums dout over the batch.")
    with check.case("a single example (N=1, x of shape (1, 3)), worked by hand"):
        x1 = _AFFINE_X[:1].reshape(1, 3).copy()
        out, cache = forward(x1, _AFFINE_W.copy(), _AFFINE_B.copy())
        expect_array(out, _AFFINE_OUT[:1], what="out")
        dx, dw, db = backward(np.array([[1.0, 2.0]]), cache)
        # dx = [1, 2] @ w.T = [1, 2, -1]; dw = x1.T @ [1, 2]; db = [1, 2]
        expect_array(dx, np.array([[1.0, 2.0, -1.0]]), what="dx")
        expect_array(dw, np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]), what="dw")
        expect_array(db, np.array([1.0, 2.0]), what="db")
    with check.case("random x of shape (3, 2, 4) against numerical gradients"):
        rng = np.random.default_rng(5)
        x, w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=(8, 5)), rng.normal(size=5)
        dout = rng.normal(size=(3, 5))
        dx_num = eval_numerical_gradient_array(lambda v: forward(v, w, b)[0], x.copy(), dout)
        dw_num = eval_numerical_gradient_array(lambda v: forward(x, v, b)[0], w.copy(), dout)
        db_num = eval_numerical_gradient_array(lambda v: forward(x, w, v)[0], b.copy(), dout)
        _, cache = forward(x, w, b)
        dx, dw, db = backward(dout, cache)
        expect_array(dx, dx_num, rtol=1e-6, atol=1e-8, what="dx")
        expect_array(dw, dw_num, rtol=1e-6, atol=1e-8, what="dw")
        expect_array(db, db_num, rtol=1e-6, atol=1e-8, what="db")
    with check.case(f"each function {RULE_INPUTS}: both called on read-only arrays"):
        out, cache = _call_read_only("affine_forward", forward, _AFFINE_X, _AFFINE_W, _AFFINE_B)
        expect_array(out, _AFFINE_OUT, what="out")
        dx, dw, db = _call_read_only("affine_backward", backward, np.ones((2, 2)), cache)
        expect_array(dw, np.array([[1.0, 1.0], [1.0, 1.0], [5.0, 5.0]]), what="dw")
    return check.report()


_RELU_X = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.25]])
_RELU_DOUT = np.array([[5.0, 6.0, 7.0], [8.0, 9.0, 10.0]])
_RELU_OUT = np.array([[0.0, 0.0, 2.0], [3.0, 0.0, 0.25]])
_RELU_DX = np.array([[0.0, 0.0, 7.0], [8.0, 0.0, 10.0]])


def check_relu(forward, backward) -> None:
    """Check ``relu_forward(x)`` and ``relu_backward(dout, cache)``."""
    check = SelfCheck("relu_forward / relu_backward")
    with check.case("forward and backward of a 2x3 example worked by hand (gradient 0 at x=0)"):
        out, cache = forward(_RELU_X.copy())
        expect_array(out, _RELU_OUT, what="out")
        dx = backward(_RELU_DOUT.copy(), cache)
        expect_array(dx, _RELU_DX, what="dx",
                     hint="the gradient flows only where x > 0 (the max gate routes it); at "
                          "exactly x = 0 it is 0.")
    with check.case("random x of shape (4, 3, 2) against numerical gradients"):
        rng = np.random.default_rng(6)
        x = rng.normal(size=(4, 3, 2))
        x[np.abs(x) < 1e-3] = 0.1  # keep away from the kink
        dout = rng.normal(size=x.shape)
        dx_num = eval_numerical_gradient_array(lambda v: forward(v)[0], x.copy(), dout)
        _, cache = forward(x)
        expect_array(backward(dout, cache), dx_num, rtol=1e-6, atol=1e-8, what="dx")
    with check.case(f"each function {RULE_INPUTS}: x, dout and the cache are read-only"):
        out, cache = _call_read_only("relu_forward", forward, _RELU_X)
        expect_array(out, _RELU_OUT, what="out")
        dx = _call_read_only("relu_backward", backward, _RELU_DOUT, cache)
        expect_array(dx, _RELU_DX, what="dx")
    return check.report()


def check_sigmoid(forward, backward) -> None:
    """Check ``sigmoid_forward(x)`` and ``sigmoid_backward(dout, cache)``."""
    from scipy.special import expit

    check = SelfCheck("sigmoid_forward / sigmoid_backward")
    with check.case("sigmoid(0) = 0.5 and its local gradient 0.25, worked by hand"):
        out, cache = forward(np.array([0.0]))
        expect_array(out, np.array([0.5]), what="out")
        expect_array(backward(np.array([2.0]), cache), np.array([0.5]), what="dx",
                     hint="dx = dout * sigmoid(x) * (1 - sigmoid(x)).")
    with check.case("random x against scipy.special.expit and numerical gradients"):
        rng = np.random.default_rng(7)
        x = rng.normal(scale=3.0, size=(5, 4))
        dout = rng.normal(size=x.shape)
        out, cache = forward(x)
        expect_array(out, expit(x), rtol=1e-10, atol=1e-12, what="out")
        dx_num = eval_numerical_gradient_array(lambda v: forward(v)[0], x.copy(), dout)
        expect_array(backward(dout, cache), dx_num, rtol=1e-6, atol=1e-9, what="dx")
    with check.case("x = -1000 ... 1000: values 0 and 1, gradients 0, no NaN"):
        x = np.array([-1000.0, -750.0, -40.0, 40.0, 750.0, 1000.0])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out, cache = forward(x)
            dx = backward(np.ones(6), cache)
        hint = ("np.exp(x) / (1 + np.exp(x)) is inf / inf = NaN for x = 1000: use it only for "
                "negative x and 1 / (1 + np.exp(-x)) for the others (boolean masks).")
        expect_array(out, expit(x), rtol=1e-12, atol=1e-15, what="out", hint=hint)
        expect_array(dx, expit(x) * (1 - expit(x)), rtol=1e-6, atol=1e-15, what="dx",
                     hint=hint)
    with check.case(f"each function {RULE_INPUTS}: x, dout and the cache are read-only"):
        x = np.array([[-2.0, 0.0, 3.0]])
        out, cache = _call_read_only("sigmoid_forward", forward, x)
        expect_array(out, expit(x), rtol=1e-10, atol=1e-12, what="out")
        dx = _call_read_only("sigmoid_backward", backward, np.ones((1, 3)), cache)
        expect_array(dx, expit(x) * (1 - expit(x)), rtol=1e-8, atol=1e-12, what="dx")
    return check.report()


def _softmax_expected(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(loss, dscores) from scipy's log_softmax and softmax."""
    from scipy.special import log_softmax, softmax

    N = len(y)
    loss = float(-np.mean(log_softmax(scores, axis=1)[np.arange(N), y]))
    dscores = softmax(scores, axis=1)
    dscores[np.arange(N), y] -= 1.0
    return loss, dscores / N


def check_softmax_loss(fn) -> None:
    """Check ``softmax_loss(scores, y) -> (loss, dscores)``."""
    check = SelfCheck(fn.__name__)
    with check.case("all-zero scores (N=2, C=4): loss = log 4, dscores = (1/4 - onehot) / 2"):
        y = np.array([1, 3])
        loss, dscores = fn(np.zeros((2, 4)), y)
        expect_close(loss, math.log(4.0), what="the loss")
        expected = np.full((2, 4), 0.25)
        expected[[0, 1], y] -= 1.0
        expect_array(dscores, expected / 2, what="dscores",
                     hint="the gradient of the mean loss is (probabilities - onehot) / N.")
    with check.case("a single example (N=1): scores [0, 0], y = [0]: loss = log 2"):
        loss, dscores = fn(np.zeros((1, 2)), np.array([0]))
        expect_close(loss, math.log(2.0), what="the loss")
        expect_array(dscores, np.array([[-0.5, 0.5]]), what="dscores")
    with check.case("random scores against scipy.special.log_softmax and numerical gradients"):
        rng = np.random.default_rng(8)
        scores, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
        loss, dscores = fn(scores, y)
        expect_close(loss, _softmax_expected(scores, y)[0], what="the loss",
                     hint="average over the N examples, do not sum.")
        numeric = eval_numerical_gradient(lambda s: fn(s, y)[0], scores.copy())
        expect_array(dscores, numeric, rtol=1e-6, atol=1e-9, what="dscores")
    with check.case("rows of huge scores (near 1000 and -1000) give the right finite loss"):
        scores = np.array([[1000.0, 999.0, 997.0], [-1000.0, -1001.0, -1003.0]])
        y = np.array([2, 1])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            loss, dscores = fn(scores, y)
        expected_loss, expected_dscores = _softmax_expected(scores, y)
        hint = ("np.exp(1000) is inf and np.exp(-1000) is 0: subtract each row's maximum "
                "from the scores before np.exp.")
        expect_close(loss, expected_loss, what="the loss", hint=hint)
        expect_array(dscores, expected_dscores, rtol=1e-7, atol=1e-12, what="dscores",
                     hint=hint)
    with check.case(f"softmax_loss {RULE_INPUTS}: scores and y are read-only"):
        scores, y = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]), np.array([0, 2])
        loss, dscores = _call_read_only("softmax_loss", fn, scores, y)
        expected_loss, expected_dscores = _softmax_expected(scores, y)
        expect_close(loss, expected_loss, what="the loss")
        expect_array(dscores, expected_dscores, what="dscores")
    return check.report()


def _tiny_net_params() -> dict[str, np.ndarray]:
    # hidden = relu([1, -1] @ W1 + b1) = relu([2, 1] + [0, -2]) = [2, 0]
    # scores = [2, 0] @ W2 + b2 = [2, 0] + [0, 1] = [2, 1]
    # sum(W1**2) = 1 + 4 + 1 + 1 = 7, sum(W2**2) = 1 + 0 + 9 + 1 = 11
    return {"W1": np.array([[1.0, 2.0], [-1.0, 1.0]]), "b1": np.array([0.0, -2.0]),
            "W2": np.array([[1.0, 0.0], [3.0, 1.0]]), "b2": np.array([0.0, 1.0])}


def check_two_layer_net(fn) -> None:
    """Check ``two_layer_net(params, X, y=None, reg=0.0)``."""
    check = SelfCheck(fn.__name__)
    X = np.array([[1.0, -1.0]])
    layers = ("the network uses your layer functions: if one of their self-checks above "
              "fails, fix that one first.")
    with check.case("scores of a 2-2-2 network worked by hand (y=None returns scores)"):
        scores = fn(_tiny_net_params(), X)
        expect_array(scores, np.array([[2.0, 1.0]]), what="the scores",
                     hint="affine, then ReLU, then affine; no softmax when y is None.")
    with check.case("the loss of the same network for y=[0] is log(1 + e^-1)"):
        result = fn(_tiny_net_params(), X, np.array([0]))
        expect(isinstance(result, tuple) and len(result) == 2,
               f"With labels y, return (loss, grads); got {type(result).__name__}.")
        expect_close(result[0], math.log(1 + math.exp(-1.0)), what="the loss", hint=layers)
    rng = np.random.default_rng(9)
    N, D, H, C = 5, 4, 6, 3
    params = {"W1": rng.normal(scale=0.5, size=(D, H)), "b1": rng.normal(scale=0.1, size=H),
              "W2": rng.normal(scale=0.5, size=(H, C)), "b2": rng.normal(scale=0.1, size=C)}
    Xr, yr = rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    with check.case("regularization adds reg * (sum(W1**2) + sum(W2**2)) to the loss"):
        loss0, _ = fn(params, Xr, yr, reg=0.0)
        loss1, _ = fn(params, Xr, yr, reg=0.3)
        penalty = 0.3 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
        expect_close(loss1 - loss0, penalty, what="loss(reg=0.3) - loss(reg=0)",
                     hint="biases are not regularized; no factor 0.5 in this course.")
    with check.case("every gradient against numerical gradients (reg=0.1)"):
        loss, grads = fn(params, Xr, yr, reg=0.1)
        expect(isinstance(grads, dict) and set(grads) == set(params),
               f"grads should be a dict with keys {sorted(params)}, got "
               f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}.")
        for name in sorted(params):
            def loss_of(value, name=name):
                trial = dict(params)
                trial[name] = value
                return fn(trial, Xr, yr, reg=0.1)[0]
            numeric = eval_numerical_gradient(loss_of, params[name].copy())
            expect_array(grads[name], numeric, rtol=1e-5, atol=1e-8, what=f"grads[{name!r}]",
                         hint="chain the layers' backward passes in reverse order and add "
                              "2 * reg * W to the weight gradients; " + layers)
    with check.case(f"two_layer_net {RULE_INPUTS}: params and X (an image of shape "
                    "(1, 2, 1)) are read-only"):
        image = X.reshape(1, 2, 1)  # flattened, the same example as above
        try:
            result = call_with_read_only_inputs(fn, _tiny_net_params(), image, np.array([0]),
                                                reg=0.1)
        except ValueError as error:
            message = read_only_write_message("two_layer_net", error)
            if message is None:
                raise
            raise CheckFailure(message + " If a layer's self-check above reports the same, "
                               "fix that layer: the network calls it.") from None
        expect(isinstance(result, tuple) and len(result) == 2,
               f"With labels y, return (loss, grads); got {type(result).__name__}.")
        expect_close(result[0], math.log(1 + math.exp(-1.0)) + 0.1 * 18.0, what="the loss",
                     hint="the penalty is 0.1 * (7 + 11) here.")
    return check.report()


# ---------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------
# The mask is random, so neither side compares it with one particular draw: the self-check
# and the hidden suite check the same properties with the same code (these functions).

#: The large input on which the share of kept units is checked, and how far that share may
#: be from p: for p = 0.7 a correct mask is within 0.02 of p unless it is 8.7 standard
#: deviations off (probability below 1e-17).
DROPOUT_LARGE_SHAPE = (200, 200)
DROPOUT_SHARE_TOLERANCE = 0.02


def _where(index: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def dropout_train_problem(x: np.ndarray, out, p: float,
                          tolerance: float | None = None) -> str | None:
    """Why ``out`` is not a training-mode inverted-dropout output of ``x``, or None.

    Inputs:
    - x: the layer's input (any shape); p: the probability of keeping a unit.
    - out: what dropout_forward returned as out.
    - tolerance: if given, the share of kept units (among the entries where x != 0) must be
      within ``tolerance`` of p.
    Every entry of out must be 0 (dropped) or x / p (kept and rescaled).
    """
    if not isinstance(out, np.ndarray):
        return f"out should be a numpy array shaped like x {x.shape}, got {describe(out)}"
    if out.shape != x.shape:
        return f"out should have the shape of x, {x.shape}, got shape {out.shape}"
    if out.dtype.kind not in "biuf" or not np.all(np.isfinite(out)):
        return f"out should hold finite numbers, got {describe(out)}"
    scaled = x / p
    dropped = out == 0
    kept = np.isclose(out, scaled, rtol=1e-7, atol=0.0)
    wrong = ~(dropped | kept)
    if wrong.any():
        index = np.unravel_index(int(np.argmax(wrong)), x.shape)
        message = (f"out{_where(index)} = {out[index]:.6g} where x = {x[index]:.6g}: each unit "
                   f"is either dropped (0) or kept and divided by p (x / p = "
                   f"{scaled[index]:.6g} for p = {p:g})")
        others = ~dropped
        if np.allclose(out[others], x[others], rtol=1e-7, atol=0.0):
            message += ("; the kept units are not divided by p (inverted dropout rescales them "
                        "in training, so that test time needs no change)")
        elif p < 1 and np.allclose(out[others], x[others] / (1 - p), rtol=1e-7, atol=0.0):
            message += "; they are divided by 1 - p, but p is the probability of KEEPING a unit"
        return message
    if tolerance is not None:
        share = float(np.mean(~dropped[x != 0]))
        if abs(share - p) > tolerance:
            return (f"{share:.1%} of the units were kept, expected about p = {p:.0%} (within "
                    f"{tolerance:g} on {x.size} units): p is the probability of KEEPING a unit; "
                    "keep a unit where a uniform draw in [0, 1) is below p")
    return None


def dropout_kept(x: np.ndarray, out) -> np.ndarray | None:
    """The units a training-mode forward pass kept (out != 0), read from its output on an
    input without zeros; None unless some units were kept and some dropped (a forward pass
    that keeps all or nothing tells nothing about its mask)."""
    if not isinstance(out, np.ndarray) or out.shape != x.shape or np.any(x == 0):
        return None
    kept = out != 0
    return kept if 0 < int(kept.sum()) < kept.size else None


def _dropout_out(result, what: str):
    expect(isinstance(result, tuple) and len(result) == 2,
           f"dropout_forward should return a tuple (out, cache), got {describe(result)} "
           f"({what}).")
    return result


def check_dropout(forward, backward) -> None:
    """Check ``dropout_forward(x, dropout_param)`` and ``dropout_backward(dout, cache)``."""
    check = SelfCheck("dropout_forward / dropout_backward")
    rng = np.random.default_rng(10)
    x_small = np.array([[1.0, -2.0, 0.0], [3.0, 0.5, -4.0]])
    dout_small = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with check.case("p = 1 keeps every unit: out = x, and backward passes dout unchanged"):
        out, cache = _dropout_out(forward(x_small.copy(), {"mode": "train", "p": 1.0,
                                                           "seed": 0}), "p = 1")
        expect_array(out, x_small, what="out for p = 1",
                     hint="p is the probability of keeping a unit; kept units are x / p.")
        expect_array(backward(dout_small.copy(), cache), dout_small, what="dx for p = 1")
    magnitude = rng.uniform(0.1, 3.0, size=DROPOUT_LARGE_SHAPE)
    x_large = np.where(rng.random(DROPOUT_LARGE_SHAPE) < 0.5, -magnitude, magnitude)
    train = {"mode": "train", "p": 0.7, "seed": 1}
    with check.case(f"training mode on a {DROPOUT_LARGE_SHAPE[0]}x{DROPOUT_LARGE_SHAPE[1]} "
                    "input, p = 0.7: each output is 0 or x / p, and about 70% of the units "
                    "are kept"):
        out, _ = _dropout_out(forward(x_large.copy(), dict(train)), "p = 0.7")
        problem = dropout_train_problem(x_large, out, 0.7, DROPOUT_SHARE_TOLERANCE)
        expect(problem is None, f"{problem}.")
    x3 = np.arange(1.0, 25.0).reshape(2, 3, 4) / 4 - 3.2  # no zeros ...
    x3.flat[::5] = 0.0                                     # ... then exact zeros at fixed places
    with check.case("a 3-D input (2, 3, 4) with exact zeros, p = 0.5: out has the shape of x, "
                    "each output is 0 or x / p"):
        out, _ = _dropout_out(forward(x3.copy(), {"mode": "train", "p": 0.5, "seed": 2}),
                              "3-D input")
        problem = dropout_train_problem(x3, out, 0.5)
        expect(problem is None, f"{problem}. Draw the mask with the shape of x "
                                "(rng.random(x.shape)), whatever its number of dimensions.")
    with check.case("the seed decides the mask: the same seed gives the same output, another "
                    "seed another mask"):
        first, _ = _dropout_out(forward(x_large.copy(), dict(train)), "seed 1")
        again, _ = _dropout_out(forward(x_large.copy(), dict(train)), "seed 1 again")
        other, _ = _dropout_out(forward(x_large.copy(), {**train, "seed": 2}), "seed 2")
        expect_array(again, first, rtol=0, atol=0, what="out of a second call with seed 1",
                     hint="draw the mask from np.random.default_rng(dropout_param['seed']).")
        expect(isinstance(other, np.ndarray) and other.shape == first.shape and
               np.any((other != 0) != (first != 0)),
               "Seeds 1 and 2 dropped exactly the same units: use the seed you are given "
               "(np.random.default_rng(dropout_param['seed'])), not a fixed one.")
    with check.case("test mode returns x unchanged (no unit dropped, none rescaled), also "
                    "without a seed; backward passes dout unchanged"):
        for param in ({"mode": "test", "p": 0.3}, {"mode": "test", "p": 0.7, "seed": 4}):
            out, cache = _dropout_out(forward(x3.copy(), dict(param)), "test mode")
            expect_array(out, x3, rtol=0, atol=0, what=f"out in test mode (p = {param['p']})",
                         hint="with inverted dropout the training pass already rescaled: at "
                              "test time the layer is the identity.")
            dout3 = np.arange(24.0).reshape(x3.shape) - 7.5
            expect_array(backward(dout3, cache), dout3, what="dx in test mode")
    with check.case("backward on a mask written by hand (the cache of the docstring, p = 0.5): "
                    "dx = dout * mask"):
        mask = np.array([[2.0, 0.0, 2.0], [0.0, 2.0, 2.0]])
        # dout * mask, worked by hand
        expect_array(backward(dout_small.copy(), mask),
                     np.array([[2.0, 0.0, 6.0], [0.0, 10.0, 12.0]]), what="dx",
                     hint="the mask in the cache already holds 1/p for kept units: "
                          "dx = dout * mask.")
    with check.case("backward on your own forward's cache: dx = dout / p where a unit was kept "
                    "(also where x is exactly 0) and 0 where it was dropped"):
        param = {"mode": "train", "p": 0.5, "seed": 3}
        twin = np.where(x3 == 0, 1.0, x3)  # same shape and seed, no zeros: shows the mask
        kept = dropout_kept(twin, _dropout_out(forward(twin.copy(), dict(param)), "")[0])
        expect(kept is not None, "With p = 0.5 some units should be kept and some dropped.")
        _, cache = _dropout_out(forward(x3.copy(), dict(param)), "3-D input")
        dout3 = np.arange(24.0).reshape(x3.shape) + 1.0
        expect_array(backward(dout3, cache), dout3 * kept / 0.5, what="dx",
                     hint="keep the mask in the cache: a unit kept where x = 0 still passes "
                          "its gradient (out = 0 there does not mean it was dropped).")
        dout = rng.normal(size=x_small.shape)
        numeric = eval_numerical_gradient_array(lambda v: forward(v, dict(param))[0],
                                                x_small.copy(), dout)
        _, cache = forward(x_small.copy(), dict(param))
        expect_array(backward(dout, cache), numeric, rtol=1e-6, atol=1e-8,
                     what="dx against the numerical gradient (the seed fixes the mask)")
    with check.case(f"each function {RULE_INPUTS}: x, dropout_param, dout and the cache are "
                    "read-only"):
        out, cache = _dropout_out(_call_read_only("dropout_forward", forward, x_large,
                                                  dict(train)), "read-only x")
        problem = dropout_train_problem(x_large, out, 0.7, DROPOUT_SHARE_TOLERANCE)
        expect(problem is None, f"{problem}.")
        dout = np.ones(DROPOUT_LARGE_SHAPE)
        dx = _call_read_only("dropout_backward", backward, dout, cache)
        expect_array(dx, (out != 0) / 0.7, what="dx on read-only dout and your forward's cache",
                     hint="dropout_backward on the cache of your own dropout_forward must give "
                          "dout / p where a unit was kept: the cache is the mask with its 1/p.")
    return check.report()
