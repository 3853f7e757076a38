"""Self-checks for the 03_linear_classifiers exercise (SVM and softmax losses, SGD training).

Expected values come from examples worked by hand (written out in the comments), from
independent library code (``scipy.special.log_softmax``) and from numerical gradients
(``utils.gradcheck``), never from the course's solutions.
"""

from __future__ import annotations

import numpy as np

from utils.checks import SelfCheck, expect, expect_array, expect_close, python_loops
from utils.gradcheck import eval_numerical_gradient, rel_error


def _unpack(result, what: str) -> tuple[object, object]:
    """Split a (loss, dW) result, with a clear message when it is something else."""
    expect(isinstance(result, tuple) and len(result) == 2,
           f"{what} should return a tuple (loss, dW), got {type(result).__name__}.")
    return result


def _random_problem(seed: int, n: int = 6, d: int = 5, c: int = 4):
    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((d, c))
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, size=n)
    return W, X, y


# The hinge example worked by hand (N = 3, D = 2, C = 3):
#   scores = X @ W = [[1, 2, 1], [2, -1, -3], [0, 1, 1]], y = [0, 1, 2]
#   row 0 (s_y = 1):  j=1: max(0, 2 - 1 + 1) = 2,  j=2: max(0, 1 - 1 + 1) = 1   -> 3
#   row 1 (s_y = -1): j=0: max(0, 2 + 1 + 1) = 4,  j=2: max(0, -3 + 1 + 1) = 0  -> 4
#   row 2 (s_y = 1):  j=0: max(0, 0 - 1 + 1) = 0 (a tie: margin exactly 0),  j=1: 1 -> 1
#   loss = (3 + 4 + 1) / 3 = 8/3.
#   Every positive margin adds x_i to column j and subtracts x_i from column y_i:
#   column 0: -2 x_0 + x_1 = (0, -5); column 1: x_0 - x_1 + x_2 = (-1, 4); column 2: x_0 - x_2
#   = (1, 1); all divided by N = 3.
HINGE_W = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]])
HINGE_X = np.array([[1.0, 2.0], [2.0, -1.0], [0.0, 1.0]])
HINGE_Y = np.array([0, 1, 2])
HINGE_LOSS = 8.0 / 3.0
HINGE_DW = np.array([[0.0, -1.0, 1.0], [-5.0, 4.0, 1.0]]) / 3.0


def check_numerical_gradient(fn) -> None:
    """Check ``numerical_gradient(f, x, h=1e-5) -> grad`` (centred differences)."""
    check = SelfCheck(fn.__name__)
    with check.case("f(x) = x0 * x1 at (2, 3): gradient (3, 2)"):
        got = fn(lambda v: float(v[0] * v[1]), np.array([2.0, 3.0]))
        expect_array(got, np.array([3.0, 2.0]), rtol=1e-6, atol=1e-6, what="the gradient")
    with check.case("f(x) = sum(x**3) on a 3x4 array: gradient 3 x**2, same shape as x"):
        x = np.random.default_rng(0).normal(size=(3, 4))
        got = fn(lambda v: float(np.sum(v ** 3)), x)
        expect_array(got, 3 * x ** 2, rtol=1e-5, atol=1e-6, what="the gradient")
    with check.case("uses centred differences with the given h"):
        # (f(x + h) - f(x - h)) / 2h of x**3 is exactly 3 x**2 + h**2; a forward difference
        # (f(x + h) - f(x)) / h would give 3 x**2 + 3 x h + h**2.
        x = np.array([1.0, -2.0])
        got = fn(lambda v: float(np.sum(v ** 3)), x, h=0.1)
        expect_array(got, 3 * x ** 2 + 0.01, rtol=1e-8, atol=1e-8, what="the gradient",
                     hint="use (f(x + h) - f(x - h)) / (2 h) with the h argument.")
    with check.case("leaves x exactly as it was"):
        x = np.random.default_rng(1).normal(size=(2, 3))
        before = x.copy()
        fn(lambda v: float(np.sum(np.sin(v))), x)
        expect(np.array_equal(x, before),
               "x changed after the call: after evaluating f(x + h) and f(x - h), restore the "
               "saved old value (x[ix] = old), do not add and subtract h (rounding).")
    check.report()


def _check_vectorized(check: SelfCheck, fn) -> None:
    with check.case("uses no Python loops (for, while, comprehensions)"):
        fn(HINGE_W, HINGE_X, HINGE_Y, 0.0)
        loops = python_loops(fn)
        expect(not loops, "Found Python loops: " + ", ".join(loops) +
               ". Index with arrays (scores[np.arange(N), y]) and use matrix products.")


def _check_common(check: SelfCheck, fn, seed: int) -> None:
    """Cases shared by both losses: regularization, numerical gradient, inputs unchanged."""
    with check.case("reg adds reg * sum(W * W) to the loss and 2 reg W to dW"):
        W, X, y = _random_problem(seed)
        loss0, dW0 = _unpack(fn(W, X, y, 0.0), fn.__name__)
        loss1, dW1 = _unpack(fn(W, X, y, 0.3), fn.__name__)
        expect_close(loss1 - loss0, 0.3 * float(np.sum(W * W)), what="the regularization loss",
                     hint="the loss is the data loss averaged over N plus reg * sum(W * W).")
        expect_array(dW1 - dW0, 0.6 * W, what="the regularization gradient",
                     hint="d/dW of reg * sum(W * W) is 2 * reg * W.")
    with check.case("dW agrees with a numerical gradient of the loss (random W, reg = 0.1)"):
        W, X, y = _random_problem(seed + 1)
        _, dW = _unpack(fn(W, X, y, 0.1), fn.__name__)
        numeric = eval_numerical_gradient(lambda w: float(fn(w, X, y, 0.1)[0]), W.copy())
        expect_array(dW, numeric, rtol=1e-4, atol=1e-6, what="dW",
                     hint=f"relative error {rel_error(dW, numeric):.1e}: dW must be the "
                          "derivative of the loss your function returns.")
    with check.case("does not change W, X or y"):
        W, X, y = _random_problem(seed + 2)
        before = (W.copy(), X.copy(), y.copy())
        fn(W, X, y, 0.1)
        expect(all(np.array_equal(a, b) for a, b in zip(before, (W, X, y), strict=False)),
               "The function changed its inputs; work on new arrays.")


def check_svm_loss(fn, *, vectorized: bool = False) -> None:
    """Check ``svm_loss_*(W, X, y, reg) -> (loss, dW)``, the multiclass hinge loss."""
    check = SelfCheck(fn.__name__)
    with check.case("hinge example worked by hand (3 examples, 3 classes, one tie)"):
        loss, dW = _unpack(fn(HINGE_W, HINGE_X, HINGE_Y, 0.0), fn.__name__)
        expect_close(loss, HINGE_LOSS, what="the loss",
                     hint="L_i = sum over j != y_i of max(0, s_j - s_{y_i} + 1), averaged over "
                          "N (the slide's s_i is a typo for s_j).")
        expect_array(dW, HINGE_DW, what="dW",
                     hint="a margin of exactly 0 contributes nothing; each positive margin "
                          "adds x_i to column j and subtracts x_i from column y_i.")
    with check.case("W = 0: every margin is 1, so the loss is C - 1"):
        _, X, y = _random_problem(3, c=4)
        loss, dW = _unpack(fn(np.zeros((5, 4)), X, y, 0.0), fn.__name__)
        expect_close(loss, 3.0, what="the loss")
        expect(isinstance(dW, np.ndarray) and dW.shape == (5, 4),
               f"dW should have the shape of W, (5, 4); got {getattr(dW, 'shape', type(dW))}.")
    with check.case("a class absent from y still gets a gradient column"):
        # With W = 0 every margin of class 3 is 1 > 0, so column 3 of dW is the mean of X.
        X = np.random.default_rng(4).normal(size=(6, 5))
        y = np.array([0, 1, 2, 0, 1, 2])
        _, dW = _unpack(fn(np.zeros((5, 4)), X, y, 0.0), fn.__name__)
        expect_array(dW[:, 3], X.mean(axis=0), what="dW[:, 3]")
    _check_common(check, fn, seed=10)
    if vectorized:
        _check_vectorized(check, fn)
    check.report()


def _softmax_reference(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> float:
    from scipy.special import log_softmax

    return float(-np.mean(log_softmax(X @ W, axis=1)[np.arange(len(y)), y]) + reg * np.sum(W * W))


def check_softmax_loss(fn, *, vectorized: bool = False) -> None:
    """Check ``softmax_loss_*(W, X, y, reg) -> (loss, dW)``, the cross-entropy loss."""
    check = SelfCheck(fn.__name__)
    with check.case("W = 0: uniform probabilities, loss log C, dW = X^T (1/C - onehot) / N"):
        X = np.array([[1.0, 2.0], [3.0, -1.0]])
        y = np.array([1, 0])
        loss, dW = _unpack(fn(np.zeros((2, 3)), X, y, 0.0), fn.__name__)
        expect_close(loss, np.log(3.0), what="the loss",
                     hint="L_i = -log(e^{s_{y_i}} / sum_k e^{s_k}), averaged over N. The slide "
                          "shows the probability itself, without the -log.")
        onehot = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        expect_array(dW, X.T @ (1.0 / 3.0 - onehot) / 2.0, what="dW")
    with check.case("random problem agrees with scipy.special.log_softmax"):
        W, X, y = _random_problem(5)
        loss, _ = _unpack(fn(W, X, y, 0.05), fn.__name__)
        expect_close(loss, _softmax_reference(W, X, y, 0.05), what="the loss")
    with check.case("dW agrees with a numerical gradient of scipy's loss"):
        W, X, y = _random_problem(6)
        _, dW = _unpack(fn(W, X, y, 0.05), fn.__name__)
        numeric = eval_numerical_gradient(lambda w: _softmax_reference(w, X, y, 0.05), W.copy())
        expect_array(dW, numeric, rtol=1e-5, atol=1e-7, what="dW",
                     hint="dL/ds = softmax(s) - onehot(y), divided by N; then dW = X^T dL/ds.")
    with check.case("scores of magnitude 1e4 give a finite loss and gradient (log-sum-exp)"):
        W, X, y = _random_problem(7)
        W = W * 1e4 / np.abs(X @ W).max()
        loss, dW = _unpack(fn(W, X, y, 0.0), fn.__name__)
        expect_close(loss, _softmax_reference(W, X, y, 0.0), rtol=1e-6, what="the loss",
                     hint="subtract each row's maximum score before exponentiating; "
                          "log(sum(exp(s))) = m + log(sum(exp(s - m))).")
        expect(isinstance(dW, np.ndarray) and bool(np.all(np.isfinite(dW))),
               "dW holds NaN or infinite values for large scores.")
    _check_common(check, fn, seed=20)
    if vectorized:
        _check_vectorized(check, fn)
    check.report()


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated 2-D clusters with a bias column: X (150, 3), y (150,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]])
    y = np.repeat(np.arange(3), 50)
    X = centres[y] + 0.5 * rng.standard_normal((150, 2))
    return np.column_stack([X, np.ones(150)]), y


def check_linear_classifier(svm_cls, softmax_cls) -> None:
    """Check ``LinearSVM`` and ``Softmax``: ``train(...) -> loss history``, ``predict(X)``."""
    check = SelfCheck("LinearClassifier")
    X, y = _blobs()
    settings = dict(learning_rate=0.05, reg=1e-3, num_iters=150, batch_size=30)
    for cls in (svm_cls, softmax_cls):
        with check.case(f"{cls.__name__}: training on three clusters lowers the loss"):
            history = cls().train(X, y, seed=0, **settings)
            history = np.asarray(history, dtype=float)
            expect(history.shape == (150,),
                   f"train should return one loss per iteration (150), got shape {history.shape}.")
            expect(bool(np.all(np.isfinite(history))), "the loss history holds NaN or inf.")
            expect(history[-10:].mean() < 0.5 * history[:10].mean(),
                   f"the loss went from {history[:10].mean():.3f} (first 10 iterations) to "
                   f"{history[-10:].mean():.3f} (last 10); it should at least halve. Step with "
                   "W -= learning_rate * dW.")
        with check.case(f"{cls.__name__}: predict returns integer labels, over 95% right"):
            model = cls()
            model.train(X, y, seed=0, **settings)
            pred = model.predict(X)
            expect(isinstance(pred, np.ndarray) and pred.shape == (150,) and
                   pred.dtype.kind in "iu",
                   f"predict should return an integer array of shape (150,), got "
                   f"{getattr(pred, 'dtype', type(pred))} of shape {getattr(pred, 'shape', '?')}.")
            accuracy = float(np.mean(pred == y))
            expect(accuracy > 0.95, f"training accuracy {accuracy:.2f}; expected above 0.95.")
    with check.case("the same seed gives the same history, another seed a different one"):
        h1 = np.asarray(svm_cls().train(X, y, seed=3, **settings), dtype=float)
        h2 = np.asarray(svm_cls().train(X, y, seed=3, **settings), dtype=float)
        h3 = np.asarray(svm_cls().train(X, y, seed=4, **settings), dtype=float)
        expect(np.array_equal(h1, h2), "two runs with seed=3 differ: draw everything random "
               "from rng = np.random.default_rng(seed).")
        expect(not np.array_equal(h1, h3), "seeds 3 and 4 gave identical histories: use seed.")
    with check.case("a batch of 2 (classes missing from most batches) still trains"):
        model = softmax_cls()
        history = model.train(X, y, learning_rate=0.05, reg=1e-3, num_iters=300, batch_size=2,
                              seed=0)
        pred = model.predict(X)
        expect(len(history) == 300 and bool(np.all(np.isfinite(np.asarray(history, float)))),
               "the loss history should hold 300 finite numbers.")
        expect(set(np.unique(pred)) <= {0, 1, 2} and float(np.mean(pred == y)) > 0.85,
               "with batch_size=2 the model should still learn all three classes "
               "(W has one column per class in the whole of y, C = max(y) + 1).")
    check.report()
