"""Hidden suite for 05_backprop: the Value engine, the layers and the two-layer network.

Points mirror the notebook's autograded test cells: 6 + 3 + 2 + 2 + 3 + 4 = 20.

``Value`` objects live in the sandbox. The suite reaches them in two ways that return plain
numbers: the notebook's provided helper ``evaluate_expression(steps, inputs, backward_calls)``
(it builds an expression with the student's operators, runs ``backward()`` and returns
``(output, grads, values)``), and handles (``v = student.Value(0.3); v.tanh()`` and reading
``v.grad``) for methods that are not operators. Every result is compared with the reference
solution run on the same inputs; inputs come from ``rng`` (per student and test) plus fixed
edge cases (reuse of a node, a diamond graph, repeated ``backward()``, |x| = 1000).
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.expect import raises_student_error, same_array, same_number, same_value

UNARY = ("exp", "tanh", "relu", "sigmoid", "neg")


def _same_expression(student, reference, steps, inputs, what, backward_calls=1,
                     reference_calls=1, rtol=1e-7, atol=1e-10):
    """Evaluate ``steps`` on both sides and compare output, gradients and every node's value."""
    got = student.evaluate_expression(steps, inputs, backward_calls)
    expected = reference.evaluate_expression(steps, inputs, reference_calls)
    if not (isinstance(got, tuple) and len(got) == 3):
        raise AssertionError(f"{what}: evaluate_expression should return (output, grads, "
                             "values); was the provided helper changed?")
    same_value(got[2], expected[2], rtol=rtol, atol=atol, what=f"{what}: node values (.data)")
    same_number(got[0], expected[0], rtol=rtol, atol=atol, what=f"{what}: the output")
    same_value(got[1], expected[1], rtol=rtol, atol=atol,
               what=f"{what}: gradients d out / d input (.grad)")


def _inputs(rng, names, low=-2.0, high=2.0):
    return {name: float(rng.uniform(low, high)) for name in names}


def _random_program(rng, num_inputs=4, num_steps=24):
    """A random expression DAG whose steps reuse earlier nodes (many paths to each input)."""
    names = [f"i{k}" for k in range(num_inputs)]
    steps = []
    for k in range(num_steps):
        op = str(rng.choice(["+", "*", "-", "tanh", "sigmoid", "+", "*"]))
        a = str(rng.choice(names))
        if op in ("tanh", "sigmoid"):
            steps.append((f"s{k}", op, (a,)))
        else:
            b = str(rng.choice(names))
            steps.append((f"s{k}", op, (a, b)))
        names.append(f"s{k}")
    # the output combines the last few steps so that every branch matters
    steps.append(("out", "+", (f"s{num_steps - 1}", f"s{num_steps - 2}")))
    return steps, names[:num_inputs]


@pytest.mark.points(6)
def test_value(student, reference, rng, partial):
    with partial.part("the slides' example (x + y) z at random inputs"):
        _same_expression(student, reference, [("q", "+", ("x", "y")), ("f", "*", ("q", "z"))],
                         _inputs(rng, "xyz", -5, 5), "(x + y) z")
    with partial.part("+, -, * and / between two Values"):
        steps = [("s", "+", ("a", "b")), ("d", "-", ("a", "b")), ("m", "*", ("s", "d")),
                 ("q", "/", ("m", "b")), ("o", "+", ("q", "m"))]
        inputs = _inputs(rng, "ab", 0.5, 2.0)
        _same_expression(student, reference, steps, inputs, "binary operators")
    with partial.part("reflected forms: a number on the left (2 * v, 1 - v, 3 + v, 6 / v)"):
        c = float(rng.uniform(0.5, 3.0))
        steps = [("m", "*", (c, "v")), ("s", "-", (1.5, "v")), ("p", "+", (3.0, "v")),
                 ("q", "/", (6.0, "v")), ("t", "*", ("m", "s")), ("u", "+", ("t", "p")),
                 ("o", "+", ("u", "q"))]
        _same_expression(student, reference, steps, _inputs(rng, ["v"], 0.5, 2.5),
                         "reflected operators")
    with partial.part("powers with integer, negative and fractional exponents, unary minus"):
        steps = [("c", "**", ("v", 3)), ("r", "**", ("v", -1)), ("h", "**", ("v", 0.5)),
                 ("n", "neg", ("c",)), ("s", "+", ("n", "r")), ("o", "+", ("s", "h"))]
        _same_expression(student, reference, steps, _inputs(rng, ["v"], 0.5, 3.0), "powers")
    with partial.part("exp, log, tanh, relu and sigmoid"):
        steps = [("e", "exp", ("a",)), ("l", "log", ("e",)), ("t", "tanh", ("b",)),
                 ("r", "relu", ("c",)), ("g", "sigmoid", ("t",)), ("s", "+", ("l", "r")),
                 ("p", "*", ("s", "g")), ("o", "+", ("p", "t"))]
        inputs = _inputs(rng, "abc", -2, 2)
        inputs["c"] = abs(inputs["c"]) + 0.1  # relu on its positive side
        _same_expression(student, reference, steps, inputs, "functions")
        blocked = dict(inputs, c=-abs(inputs["c"]))  # and on its blocked side
        _same_expression(student, reference, steps, blocked, "relu of a negative input")
    with partial.part("a node used several times accumulates its gradient (a * a + a)"):
        steps = [("sq", "*", ("a", "a")), ("o", "+", ("sq", "a"))]
        _same_expression(student, reference, steps, _inputs(rng, ["a"]), "a * a + a")
    with partial.part("a random graph with many shared nodes (reverse topological order)"):
        steps, names = _random_program(rng)
        _same_expression(student, reference, steps, _inputs(rng, names, -1, 1),
                         "a random expression graph", rtol=1e-6, atol=1e-9)
    with partial.part("calling backward() three times gives the gradients of one call"):
        steps = [("q", "+", ("x", "y")), ("f", "*", ("q", "z")), ("g", "*", ("f", "x"))]
        _same_expression(student, reference, steps, _inputs(rng, "xyz"),
                         "backward() called three times", backward_calls=3)
    with partial.part("sigmoid at -1000 and 1000 (no overflow)"):
        steps = [("a", "sigmoid", ("x",)), ("b", "sigmoid", ("y",)), ("o", "+", ("a", "b"))]
        _same_expression(student, reference, steps, {"x": -1000.0, "y": 1000.0},
                         "sigmoid of huge inputs")
    with partial.part("Value objects: .data and .grad after backward() (methods on objects)"):
        x0 = float(rng.uniform(-1, 1))
        for side_name, side in (("student", student), ("reference", reference)):
            v = side.Value(x0)
            out = v.tanh().sigmoid().exp()
            out.backward()
            if side_name == "student":
                got = (out.data, out.grad, v.grad)
            else:
                expected = (out.data, out.grad, v.grad)
        same_number(got[0], expected[0], what="out.data of exp(sigmoid(tanh(v)))")
        same_number(got[1], 1.0, what="out.grad after out.backward()")
        same_number(got[2], expected[2], rtol=1e-7, what="v.grad of exp(sigmoid(tanh(v)))")
    with partial.part("log of a negative number raises ValueError"):
        with raises_student_error("ValueError", what="Value(-1.0).log()"):
            student.evaluate_expression([("l", "log", ("a",))], {"a": -1.0})


def _layer_pair(student, reference, name, *args):
    """Forward on both sides; each side's backward gets its own cache. Returns the pairs."""
    got = getattr(student, name)(*args)
    expected = getattr(reference, name)(*args)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError(f"{name} should return a tuple (out, cache)")
    return got, expected


@pytest.mark.points(3)
def test_affine(student, reference, rng, partial):
    N, d1, d2, M = (int(v) for v in rng.integers(2, 6, size=4))
    x, w, b = rng.normal(size=(N, d1, d2)), rng.normal(size=(d1 * d2, M)), rng.normal(size=M)
    dout = rng.normal(size=(N, M))
    with partial.part("forward with x of shape (N, d1, d2)"):
        got, expected = _layer_pair(student, reference, "affine_forward", x, w, b)
        same_array(got[0], expected[0], what="affine_forward's out")
    with partial.part("backward with x of shape (N, d1, d2): dx, dw, db"):
        got, expected = _layer_pair(student, reference, "affine_forward", x, w, b)
        same_value(student.affine_backward(dout, got[1]),
                   reference.affine_backward(dout, expected[1]), what="(dx, dw, db)")
    with partial.part("a single example with 2-D x (N=1)"):
        x1 = rng.normal(size=(1, d1 * d2))
        got, expected = _layer_pair(student, reference, "affine_forward", x1, w, b)
        same_array(got[0], expected[0], what="out for one example")
        same_value(student.affine_backward(dout[:1], got[1]),
                   reference.affine_backward(dout[:1], expected[1]), what="(dx, dw, db)")
    with partial.part("inputs are not modified"):
        _, after = student.call_reporting_inputs("affine_forward", x, w, b)
        for got_arg, arg, name in zip(after, (x, w, b), "xwb", strict=True):
            same_array(got_arg, arg, rtol=0, atol=0, what=f"{name} after affine_forward")


@pytest.mark.points(2)
def test_relu(student, reference, rng, partial):
    x = rng.normal(size=tuple(int(v) for v in rng.integers(2, 5, size=3)))
    x.flat[::5] = 0.0  # exact zeros: the gradient there is 0
    dout = rng.normal(size=x.shape)
    with partial.part("forward on a 3-D array with exact zeros"):
        got, expected = _layer_pair(student, reference, "relu_forward", x)
        same_array(got[0], expected[0], what="relu_forward's out")
    with partial.part("backward (gradient 0 where x <= 0)"):
        got, expected = _layer_pair(student, reference, "relu_forward", x)
        same_array(student.relu_backward(dout, got[1]),
                   reference.relu_backward(dout, expected[1]), what="relu_backward's dx")
    with partial.part("inputs are not modified"):
        _, after = student.call_reporting_inputs("relu_forward", x)
        same_array(after[0], x, rtol=0, atol=0, what="x after relu_forward")


@pytest.mark.points(2)
def test_sigmoid(student, reference, rng, partial):
    x = rng.normal(scale=4.0, size=(int(rng.integers(2, 6)), 4))
    dout = rng.normal(size=x.shape)
    with partial.part("forward and backward on random inputs"):
        got, expected = _layer_pair(student, reference, "sigmoid_forward", x)
        same_array(got[0], expected[0], rtol=1e-9, what="sigmoid_forward's out")
        same_array(student.sigmoid_backward(dout, got[1]),
                   reference.sigmoid_backward(dout, expected[1]), what="sigmoid_backward's dx")
    with partial.part("huge inputs (|x| up to 1000) give 0 and 1, gradients 0, no NaN"):
        big = np.array([[-1000.0, -50.0, -20.0, 0.0, 20.0, 50.0, 1000.0]])
        got, expected = _layer_pair(student, reference, "sigmoid_forward", big)
        same_array(got[0], expected[0], rtol=1e-9, atol=1e-300, what="sigmoid of huge inputs")
        same_array(student.sigmoid_backward(np.ones_like(big), got[1]),
                   reference.sigmoid_backward(np.ones_like(big), expected[1]),
                   rtol=1e-6, atol=1e-300, what="the local gradient at huge inputs")


@pytest.mark.points(3)
def test_softmax_loss(student, reference, rng, partial):
    N, C = int(rng.integers(3, 9)), int(rng.integers(2, 7))
    scores, y = rng.normal(scale=2.0, size=(N, C)), rng.integers(0, C, size=N)
    with partial.part("random scores: loss (a number) and dscores"):
        same_value(student.softmax_loss(scores, y), reference.softmax_loss(scores, y),
                   what="(loss, dscores)")
    with partial.part("huge scores (around 1000) stay finite"):
        huge = scores * 500.0
        same_value(student.softmax_loss(huge, y), reference.softmax_loss(huge, y),
                   what="(loss, dscores) for huge scores")
    with partial.part("a single example"):
        same_value(student.softmax_loss(scores[:1], y[:1]),
                   reference.softmax_loss(scores[:1], y[:1]), what="(loss, dscores) for N=1")
    with partial.part("inputs are not modified"):
        _, after = student.call_reporting_inputs("softmax_loss", scores, y)
        same_array(after[0], scores, rtol=0, atol=0, what="scores after softmax_loss")


def _net(rng, D, H, C):
    return {"W1": rng.normal(scale=0.5, size=(D, H)), "b1": rng.normal(scale=0.1, size=H),
            "W2": rng.normal(scale=0.5, size=(H, C)), "b2": rng.normal(scale=0.1, size=C)}


@pytest.mark.points(4)
def test_two_layer_net(student, reference, rng, partial):
    N, D, H, C = (int(v) for v in (rng.integers(3, 8), rng.integers(3, 7),
                                   rng.integers(4, 9), rng.integers(2, 5)))
    params, X, y = _net(rng, D, H, C), rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    with partial.part("scores when y is None"):
        same_array(student.two_layer_net(params, X), reference.two_layer_net(params, X),
                   what="the scores")
    with partial.part("loss and gradients without regularization"):
        same_value(student.two_layer_net(params, X, y), reference.two_layer_net(params, X, y),
                   what="(loss, grads)")
    with partial.part("loss and gradients with regularization"):
        reg = float(rng.uniform(0.05, 0.5))
        same_value(student.two_layer_net(params, X, y, reg=reg),
                   reference.two_layer_net(params, X, y, reg=reg), what=f"(loss, grads), reg={reg:.3f}")
    with partial.part("images as input: X of shape (N, 2, D)"):
        params2 = _net(rng, 2 * D, H, C)
        X3 = rng.normal(size=(N, 2, D))
        same_value(student.two_layer_net(params2, X3, y, reg=0.1),
                   reference.two_layer_net(params2, X3, y, reg=0.1), what="(loss, grads)")
    with partial.part("params and X are not modified"):
        _, after = student.call_reporting_inputs("two_layer_net", params, X, y, 0.1)
        same_value(after[0], params, rtol=0, atol=0, what="params after two_layer_net")
        same_array(after[1], X, rtol=0, atol=0, what="X after two_layer_net")
