"""Hidden suite for 03_linear_classifiers: the numerical gradient, the losses and the SGD
classifier against the reference.

Points (18) equal the notebook's autograded test cells: numerical_gradient 2, svm_loss_naive 3,
svm_loss_vectorized 3, softmax_loss_naive 3, softmax_loss_vectorized 3, LinearClassifier 4.
numerical_gradient receives functions written here (``trusted_function``): they travel as
source text and are compiled on each side, in the sandbox for the student.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.expect import python_loops, same_array, same_number, trusted_function


def _problem(rng, n, d, c, scale=0.5):
    W = scale * rng.standard_normal((d, c))
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, size=n)
    return W, X, y


def _quadratic(rng):
    """f(x) = a sum(x^2) + b (sum x)^2 + c . x (flattened), random a, b, c: a trusted function."""
    a, b = float(rng.uniform(0.5, 2.0)), float(rng.uniform(-0.5, 0.5))
    c = [float(v) for v in rng.uniform(-1.0, 1.0, size=3)]
    return trusted_function(
        f"lambda x: float({a!r} * np.sum(x ** 2) + {b!r} * np.sum(x) ** 2 "
        f"+ np.dot(np.resize(np.array({c!r}), x.size), x.ravel()))")


def _log_sum_exp(rng):
    """A softmax-like f(x) = log sum exp(w * x) (stable), random weights w > 0."""
    w = float(rng.uniform(0.5, 3.0))
    return trusted_function(
        "def f(x):\n"
        f"    s = {w!r} * x.ravel()\n"
        "    m = np.max(s)\n"
        "    return float(m + np.log(np.sum(np.exp(s - m))))\n")


@pytest.mark.points(2)
def test_numerical_gradient(student, reference, rng, partial):
    def check(f, x, what, **kw):
        same_array(student.numerical_gradient(f, x, **kw), reference.numerical_gradient(f, x, **kw),
                   rtol=1e-6, atol=1e-7, dtype_kind="f", what=what)

    with partial.part("a quadratic, x of shape (n,)"):
        x = rng.standard_normal(int(rng.integers(3, 8)))
        check(_quadratic(rng), x, "the gradient of a quadratic")
    with partial.part("a log-sum-exp (softmax-like) function, x of shape (3, 4)"):
        x = rng.standard_normal((3, 4))
        check(_log_sum_exp(rng), x, "the gradient of log-sum-exp")
    with partial.part("centred differences with the given h"):
        # Centred differences of a quadratic are exact for any h; one-sided ones are off by
        # about a h.
        x = rng.standard_normal((2, 3))
        check(_quadratic(rng), x, "the gradient with a large h", h=float(rng.uniform(0.05, 0.2)))
    with partial.part("x is left exactly as it was"):
        x = rng.standard_normal((4, 2))
        f = _log_sum_exp(rng)
        got, after = student.call_reporting_inputs("numerical_gradient", f, x)
        same_array(got, reference.numerical_gradient(f, x), rtol=1e-6, atol=1e-7,
                   dtype_kind="f", what="the gradient")
        same_array(after[1], x, rtol=0, atol=0, what="x after the call (restore the saved "
                   "old value, do not add and subtract h)")


def _same_loss(got, expected, what, rtol=1e-6, atol=1e-9):
    """Compare (loss, dW) results."""
    assert type(got) is tuple and len(got) == 2, \
        f"{what}: expected a tuple (loss, dW), got a value of type {type(got).__name__}"
    same_number(got[0], expected[0], rtol=rtol, atol=atol, what=f"{what}: the loss")
    same_array(got[1], expected[1], rtol=rtol, atol=atol, dtype_kind="f", what=f"{what}: dW")


def _grade_loss(name, student, reference, rng, partial, *, softmax, vectorized):
    student_fn, reference_fn = getattr(student, name), getattr(reference, name)
    for n, d, c in [(5, 4, 3), (40, 20, 10)]:
        with partial.part(f"random problem N={n}, D={d}, C={c}"):
            W, X, y = _problem(rng, n, d, c)
            reg = float(rng.uniform(0.01, 1.0))
            _same_loss(student_fn(W, X, y, reg), reference_fn(W, X, y, reg), name)
    with partial.part("reg = 0"):
        W, X, y = _problem(rng, 12, 6, 4)
        _same_loss(student_fn(W, X, y, 0.0), reference_fn(W, X, y, 0.0), name)
    with partial.part("a class never present in y"):
        W, X, _ = _problem(rng, 10, 5, 6)
        y = rng.integers(0, 3, size=10)
        _same_loss(student_fn(W, X, y, 0.1), reference_fn(W, X, y, 0.1), name)
    with partial.part("a single example"):
        W, X, y = _problem(rng, 1, 7, 5)
        _same_loss(student_fn(W, X, y, 0.2), reference_fn(W, X, y, 0.2), name)
    if softmax:
        with partial.part("scores of magnitude 1e4 (numerical stability)"):
            W, X, y = _problem(rng, 8, 5, 4)
            W = W * 1e4 / np.abs(X @ W).max()
            _same_loss(student_fn(W, X, y, 0.0), reference_fn(W, X, y, 0.0), name, rtol=1e-6)
    else:
        with partial.part("ties in the margins (margins exactly 0)"):
            W = rng.integers(-1, 2, size=(4, 5)).astype(np.float64)
            X = rng.integers(-1, 2, size=(30, 4)).astype(np.float64)
            y = rng.integers(0, 5, size=30)
            _same_loss(student_fn(W, X, y, 0.0), reference_fn(W, X, y, 0.0), name)
    with partial.part("inputs are not modified"):
        W, X, y = _problem(rng, 9, 4, 3)
        got, after = student.call_reporting_inputs(name, W, X, y, 0.3)
        _same_loss(got, reference_fn(W, X, y, 0.3), name)
        assert all(np.array_equal(a, b) for a, b in zip(after[:3], (W, X, y), strict=False)), \
            f"{name} changed its inputs W, X or y; work on new arrays"
    if vectorized:
        with partial.part("no Python loops"):
            W, X, y = _problem(rng, 6, 3, 4)
            _same_loss(student_fn(W, X, y, 0.1), reference_fn(W, X, y, 0.1), name)
            loops = python_loops(student.source(name))
            assert not loops, f"{name} must not loop in Python; found " + ", ".join(loops)


@pytest.mark.points(3)
def test_svm_loss_naive(student, reference, rng, partial):
    _grade_loss("svm_loss_naive", student, reference, rng, partial, softmax=False,
                vectorized=False)


@pytest.mark.points(3)
def test_svm_loss_vectorized(student, reference, rng, partial):
    _grade_loss("svm_loss_vectorized", student, reference, rng, partial, softmax=False,
                vectorized=True)


@pytest.mark.points(3)
def test_softmax_loss_naive(student, reference, rng, partial):
    _grade_loss("softmax_loss_naive", student, reference, rng, partial, softmax=True,
                vectorized=False)


@pytest.mark.points(3)
def test_softmax_loss_vectorized(student, reference, rng, partial):
    _grade_loss("softmax_loss_vectorized", student, reference, rng, partial, softmax=True,
                vectorized=True)


def _blobs(rng, n=120, c=3):
    """c well separated 2-D clusters with a bias column: X (n, 3), y (n,)."""
    angles = 2 * np.pi * np.arange(c) / c
    centres = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = rng.integers(0, c, size=n)
    X = centres[y] + 0.5 * rng.standard_normal((n, 2))
    return np.column_stack([X, np.ones(n)]), y


def _history(got, num_iters, what):
    assert type(got) is list, f"{what}: train should return a list of losses, got " \
                              f"{type(got).__name__}"
    assert len(got) == num_iters, f"{what}: expected {num_iters} losses, got {len(got)}"
    values = np.array(got, dtype=np.float64)
    assert np.all(np.isfinite(values)), f"{what}: the loss history holds NaN or inf"
    return values


@pytest.mark.points(4)
def test_linear_classifier(student, reference, rng, partial):
    X, y = _blobs(rng)
    settings = dict(learning_rate=0.05, reg=1e-3, num_iters=120, batch_size=20)
    seed = int(rng.integers(0, 2**31))
    for cls in ("LinearSVM", "Softmax"):
        with partial.part(f"{cls}: training lowers the loss and fits the data"):
            model = getattr(student, cls)()
            history = _history(model.train(X, y, seed=seed, **settings), 120, cls)
            assert history[-10:].mean() < 0.5 * history[:10].mean(), \
                f"{cls}: the loss did not fall (from {history[:10].mean():.3g} to " \
                f"{history[-10:].mean():.3g})"
            predictions = model.predict(X)
            assert type(predictions) is np.ndarray and predictions.shape == y.shape \
                and predictions.dtype.kind in "iu", \
                f"{cls}.predict: expected an integer array of shape {y.shape}"
            accuracy = float(np.mean(predictions == y))
            assert accuracy > 0.9, f"{cls}: training accuracy {accuracy:.2f}, expected > 0.9"
        with partial.part(f"{cls}: loss history and predictions follow the documented "
                          "random-number recipe"):
            model, ref = getattr(student, cls)(), getattr(reference, cls)()
            same_array(np.array(_history(model.train(X, y, seed=seed, **settings), 120, cls)),
                       np.array(ref.train(X, y, seed=seed, **settings)), rtol=1e-6, atol=1e-9,
                       what=f"{cls}: the loss history")
            same_array(model.predict(X), ref.predict(X), what=f"{cls}.predict")
    with partial.part("batches of one example (classes missing from every batch)"):
        model, ref = student.Softmax(), reference.Softmax()
        X4, y4 = _blobs(rng, n=60, c=4)
        args = dict(learning_rate=0.1, reg=0.0, num_iters=50, batch_size=1, seed=seed)
        same_array(np.array(_history(model.train(X4, y4, **args), 50, "Softmax")),
                   np.array(ref.train(X4, y4, **args)), rtol=1e-6, atol=1e-9,
                   what="the loss history")
        same_array(model.predict(X4), ref.predict(X4), what="Softmax.predict")
    with partial.part("a second call to train continues from the current weights"):
        model, ref = student.LinearSVM(), reference.LinearSVM()
        args = dict(learning_rate=0.05, reg=1e-2, num_iters=30, batch_size=10)
        model.train(X, y, seed=1, **args)
        ref.train(X, y, seed=1, **args)
        same_array(np.array(_history(model.train(X, y, seed=2, **args), 30, "LinearSVM")),
                   np.array(ref.train(X, y, seed=2, **args)), rtol=1e-6, atol=1e-9,
                   what="the loss history of the second call")
