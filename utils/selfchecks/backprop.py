"""Self-checks for the 05_backprop exercise (scalar autodiff engine, layers, two-layer net).

Expected values come from hand-worked examples (worked out in the comments), from the
derivative rules written with Python's ``math`` module, from independent library code
(``scipy.special.expit`` and ``scipy.special.log_softmax``) and from centred-difference
numerical gradients (``utils.gradcheck``), never from the course's solutions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from utils.checks import SelfCheck, expect, expect_array, expect_close
from utils.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array

# ---------------------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------------------


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
        ("relu at -1.5 and at 2 (output relu(a) + relu(b))", lambda a, b: a.relu() + b.relu(),
         {"a": -1.5, "b": 2.0}, 2.0, {"a": 0.0, "b": 1.0},
         "relu passes the gradient where the input is positive and blocks it elsewhere."),
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
         "math.exp(1000) overflows: for negative x use exp(x) / (1 + exp(x)) instead."),
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
    with check.case("log of 0 raises ValueError"):
        try:
            cls(0.0).log()
        except ValueError:
            pass
        else:
            expect(False, "Value(0.0).log() should raise ValueError: log is only defined for "
                          "positive numbers.")
    return check.report()


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
    return check.report()


def check_relu(forward, backward) -> None:
    """Check ``relu_forward(x)`` and ``relu_backward(dout, cache)``."""
    check = SelfCheck("relu_forward / relu_backward")
    x = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.25]])
    with check.case("forward and backward of a 2x3 example worked by hand (gradient 0 at x=0)"):
        out, cache = forward(x.copy())
        expect_array(out, np.array([[0.0, 0.0, 2.0], [3.0, 0.0, 0.25]]), what="out")
        dx = backward(np.array([[5.0, 6.0, 7.0], [8.0, 9.0, 10.0]]), cache)
        expect_array(dx, np.array([[0.0, 0.0, 7.0], [8.0, 0.0, 10.0]]), what="dx",
                     hint="the gradient flows only where x > 0 (the max gate routes it).")
    with check.case("random x of shape (4, 3, 2) against numerical gradients"):
        rng = np.random.default_rng(6)
        x = rng.normal(size=(4, 3, 2))
        x[np.abs(x) < 1e-3] = 0.1  # keep away from the kink
        dout = rng.normal(size=x.shape)
        dx_num = eval_numerical_gradient_array(lambda v: forward(v)[0], x.copy(), dout)
        _, cache = forward(x)
        expect_array(backward(dout, cache), dx_num, rtol=1e-6, atol=1e-8, what="dx")
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
        out, cache = forward(x.copy())
        expect_array(out, expit(x), rtol=1e-10, atol=1e-12, what="out")
        dx_num = eval_numerical_gradient_array(lambda v: forward(v)[0], x.copy(), dout)
        expect_array(backward(dout, cache), dx_num, rtol=1e-6, atol=1e-9, what="dx")
    with check.case("x = -1000 and 1000: no overflow warning, values 0 and 1, gradients 0"):
        x = np.array([-1000.0, -40.0, 40.0, 1000.0])
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise",
                                                    divide="raise"):
            warnings.simplefilter("error", RuntimeWarning)
            try:
                out, cache = forward(x.copy())
                dx = backward(np.ones(4), cache)
            except (FloatingPointError, RuntimeWarning) as error:
                expect(False, f"the sigmoid overflowed ({error}). np.exp(-x) is huge for "
                              "x = -1000: for negative x compute exp(x) / (1 + exp(x)).")
        expect_array(out, expit(x), rtol=1e-12, atol=1e-15, what="out")
        expect_array(dx, expit(x) * (1 - expit(x)), rtol=1e-6, atol=1e-15, what="dx")
    return check.report()


def _softmax_expected(scores: np.ndarray, y: np.ndarray) -> float:
    from scipy.special import log_softmax

    return float(-np.mean(log_softmax(scores, axis=1)[np.arange(len(y)), y]))


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
    with check.case("random scores against scipy.special.log_softmax and numerical gradients"):
        rng = np.random.default_rng(8)
        scores, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
        loss, dscores = fn(scores.copy(), y)
        expect_close(loss, _softmax_expected(scores, y), what="the loss",
                     hint="average over the N examples, do not sum.")
        numeric = eval_numerical_gradient(lambda s: fn(s, y)[0], scores.copy())
        expect_array(dscores, numeric, rtol=1e-6, atol=1e-9, what="dscores")
    with check.case("huge scores (1000) stay finite: subtract the row maximum first"):
        scores = np.array([[1000.0, 0.0, -1000.0], [1000.0, 999.0, 0.0]])
        y = np.array([2, 1])
        with np.errstate(over="ignore", invalid="ignore"):
            loss, dscores = fn(scores.copy(), y)
        expect_close(loss, _softmax_expected(scores, y), what="the loss",
                     hint="exp(1000) is inf in float64; shift scores by their row maximum.")
        # row 2: p = [e, 1, 0] / (1 + e) up to exp(-999); dscores = (p - onehot(1)) / 2
        p_top = math.e / (1 + math.e)
        expect_array(dscores, np.array([[0.5, 0.0, -0.5], [0.5 * p_top, -0.5 * p_top, 0.0]]),
                     rtol=1e-7, atol=1e-12, what="dscores")
    return check.report()


def _tiny_net_params() -> dict[str, np.ndarray]:
    # hidden = relu([1, -1] @ W1 + b1) = relu([2, 1] + [0, -2]) = [2, 0]
    # scores = [2, 0] @ W2 + b2 = [2, 0] + [0, 1] = [2, 1]
    return {"W1": np.array([[1.0, 2.0], [-1.0, 1.0]]), "b1": np.array([0.0, -2.0]),
            "W2": np.array([[1.0, 0.0], [3.0, 1.0]]), "b2": np.array([0.0, 1.0])}


def check_two_layer_net(fn) -> None:
    """Check ``two_layer_net(params, X, y=None, reg=0.0)``."""
    check = SelfCheck(fn.__name__)
    X = np.array([[1.0, -1.0]])
    with check.case("scores of a 2-2-2 network worked by hand (y=None returns scores)"):
        scores = fn(_tiny_net_params(), X.copy())
        expect_array(scores, np.array([[2.0, 1.0]]), what="the scores",
                     hint="affine, then ReLU, then affine; no softmax when y is None.")
    with check.case("the loss of the same network for y=[0] is log(1 + e^-1)"):
        result = fn(_tiny_net_params(), X.copy(), np.array([0]))
        expect(isinstance(result, tuple) and len(result) == 2,
               f"With labels y, return (loss, grads); got {type(result).__name__}.")
        expect_close(result[0], math.log(1 + math.exp(-1.0)), what="the loss")
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
                              "2 * reg * W to the weight gradients.")
    with check.case("does not change params or X"):
        before = {k: v.copy() for k, v in params.items()}
        X_before = Xr.copy()
        fn(params, Xr, yr, reg=0.1)
        expect(all(np.array_equal(before[k], params[k]) for k in params)
               and np.array_equal(X_before, Xr),
               "two_layer_net changed params or X in place; compute new arrays instead.")
    return check.report()
