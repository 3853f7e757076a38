"""Hidden suite for 03_linear_classifiers: the numerical gradient, the losses and the SGD
classifier against the reference.

Points (18) equal the notebook's autograded test cells: numerical_gradient 2, svm_loss_naive 3,
svm_loss_vectorized 3, softmax_loss_naive 3, softmax_loss_vectorized 3, LinearClassifier 4.

How the parts are built (the same for every test):
- "random problem" parts: inputs drawn from ``rng`` with fixed shapes, every class present in
  ``y`` and every hinge margin at least 1e-3 away from 0, so a given piece of code passes or
  fails them under every seed.
- Edge parts: fixed inputs, the same for every student (margins exactly 0, scores of size 1e4,
  a class absent from ``y``, a single example, batch_size > N, labels that skip a class, ...).
- Parts that code doing nothing could pass (the rules "inputs not modified" and "no Python
  loops") pay only once the function returns right values on at least one random problem; they
  then check only their own rule.
- One function, one grade: ``LinearSVM``/``Softmax.train`` is compared with the reference's
  ``train`` run on the student's own loss functions (``reference.using``) or on the reference
  losses, so a wrong loss costs points only in that loss's test. ``predict`` is compared with
  the argmax of the student's own trained weights. ``numerical_gradient`` receives functions
  written here (``trusted_function``): they travel as source text and are compiled on each side.
- Every rule checked here is written in the function's docstring and tried by the visible
  self-check (``utils/selfchecks/linear_classifiers.py``), with the same wording
  (``utils.rules``).
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.errors import StudentError
from autograder.expect import (
    result_on_read_only_inputs,
    same_array,
    same_as_one_of,
    same_number,
    trusted_function,
)
from utils.rules import RULE_INPUTS, RULE_INTEGER_LABELS, RULE_NO_LOOPS

MAIN = "random problem"
VECTORIZED_LOSSES = ("svm_loss_vectorized", "softmax_loss_vectorized")
RECIPE = ("rng = np.random.default_rng(seed); if self.W is None: self.W = 0.001 * "
          "rng.standard_normal((D, max(y) + 1)); then in every iteration idx = "
          "rng.choice(N, batch_size, replace=True), (loss, dW) = self.loss(X[idx], y[idx], reg), "
          "record loss, self.W -= learning_rate * dW")
STABILITY_HINT = ("scores of size 1e4 overflow exp(): subtract each example's maximum score "
                  "before exponentiating (log-sum-exp: log sum_k e^{s_k} = m + "
                  "log sum_k e^{s_k - m})")
TIE_HINT = "a margin of exactly 0 contributes nothing to the loss or to dW (use > 0, not >= 0)"

# ---- fixed edge inputs (the same for every student) --------------------------------------------
# Hinge ties: integer-valued W and X give 7 margins exactly 0 (and 32 positive ones).
TIE_W = np.array([[1, 0, 0, -1, -1], [-1, -1, -1, -1, 1], [0, 1, 0, 0, 1], [1, 0, 0, 0, 1]],
                 dtype=np.float64)
TIE_X = np.array([[-1, 1, 1, -1], [0, 1, 0, -1], [1, 1, 1, -1], [-1, 1, -1, 0], [-1, -1, 0, 0],
                  [0, -1, -1, -1], [-1, 1, 0, 0], [-1, 0, 1, 0], [0, 1, 1, 1], [0, 1, 1, 0],
                  [1, 1, 1, 0], [1, -1, 0, 1]], dtype=np.float64)
TIE_Y = np.arange(12) % 5
# Scores of size 1e4: every example's largest score is above 1700 (exp overflows).
HUGE_W = 2000.0 * np.array([[2.0, -2.6, 0.4, -0.6], [-0.5, -0.2, -2.0, -0.2],
                            [-0.9, 3.3, 0.2, -0.4], [-0.3, -0.7, -1.1, -0.4],
                            [0.5, -0.2, 1.0, -0.2]])
HUGE_X = np.array([[0.0, 1.5, 0.5, -0.5, -0.2], [0.5, 1.9, -0.3, -0.2, 1.0],
                   [-0.9, -0.3, 0.9, 0.6, 0.1], [0.7, -2.8, 1.0, -1.0, -1.7],
                   [0.3, 0.7, -0.4, -1.1, 0.0], [-0.1, 1.4, 0.7, 0.2, 1.1]])
HUGE_Y = np.array([0, 1, 2, 3, 1, 2])
_FIXED = np.random.default_rng(20240303)
# Six classes, only 0, 1 and 2 in y.
ABSENT_W = 0.5 * _FIXED.standard_normal((5, 6))
ABSENT_X = _FIXED.standard_normal((10, 5))
ABSENT_Y = np.array([0, 1, 2, 2, 1, 0, 0, 2, 1, 1])
# A single example.
SINGLE_W = 0.5 * _FIXED.standard_normal((7, 5))
SINGLE_X = _FIXED.standard_normal((1, 7))
SINGLE_Y = np.array([3])
# A plain problem for the rule parts.
RULE_W = 0.5 * _FIXED.standard_normal((4, 3))
RULE_X = _FIXED.standard_normal((9, 4))
RULE_Y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
# Training edge cases: five examples (batch_size 8 > N), and labels 0, 1, 3 (class 2 absent).
SMALL_X = np.column_stack([_FIXED.standard_normal((5, 2)), np.ones(5)])
SMALL_Y = np.array([0, 1, 2, 1, 0])
GAP_X = np.column_stack([_FIXED.standard_normal((9, 3)), np.ones(9)])
GAP_Y = np.array([0, 1, 3, 3, 1, 0, 3, 0, 1])
del _FIXED


# ---- shared helpers ---------------------------------------------------------------------------

def _require_main_values(partial, name):
    """Parts that code doing nothing could pass pay only after a right random-problem value."""
    if not any(p.passed for p in partial.parts if p.name.startswith(MAIN)):
        raise AssertionError(f"checked once `{name}` returns right values on the random "
                             "problems above")



def _problem(rng, n, d, c):
    """Random W (d, c), X (n, d), y (n,) with every class in y (n >= c) and every hinge margin
    at least 1e-3 away from 0."""
    y = rng.permutation(np.arange(n) % c)
    while True:
        W = 0.5 * rng.standard_normal((d, c))
        X = rng.standard_normal((n, d))
        scores = X @ W
        margins = scores - scores[np.arange(n), y][:, None] + 1.0
        margins[np.arange(n), y] = 1.0
        if np.abs(margins).min() > 1e-3:
            return W, X, y


# ---- numerical_gradient -----------------------------------------------------------------------

def _quadratic(rng):
    """f(x) = a sum(x^2) + b (sum x)^2 + c . x (flattened), random a, b, c: a trusted function."""
    a, b = float(rng.uniform(0.5, 2.0)), float(rng.uniform(-0.5, 0.5))
    c = [float(v) for v in rng.uniform(-1.0, 1.0, size=3)]
    return trusted_function(
        f"lambda x: float({a!r} * np.sum(x ** 2) + {b!r} * np.sum(x) ** 2 "
        f"+ np.dot(np.resize(np.array({c!r}), x.size), x.ravel()))")


def _log_sum_exp(rng):
    """A softmax-like f(x) = log sum exp(w * x) (stable), random weight w > 0."""
    w = float(rng.uniform(0.5, 3.0))
    return trusted_function(
        "def f(x):\n"
        f"    s = {w!r} * x.ravel()\n"
        "    m = np.max(s)\n"
        "    return float(m + np.log(np.sum(np.exp(s - m))))\n")


CUBIC = trusted_function("lambda x: float(np.sum(x ** 3) + np.prod(x.shape) * x.ravel()[0])")
SINES = trusted_function("lambda x: float(np.sum(np.sin(x) * np.arange(1, x.size + 1)"
                         ".reshape(x.shape)))")


@pytest.mark.points(2)
def test_numerical_gradient(student, reference, rng, partial):
    name = "numerical_gradient"

    def check(f, x, what, **kw):
        same_array(student.numerical_gradient(f, x, **kw), reference.numerical_gradient(f, x, **kw),
                   rtol=1e-6, atol=1e-7, dtype_kind="f", what=what)

    with partial.part(f"{MAIN}: a quadratic, x of shape (6,)"):
        check(_quadratic(rng), rng.standard_normal(6), "the gradient of a quadratic")
    with partial.part(f"{MAIN}: a log-sum-exp (softmax-like) function, x of shape (3, 4)"):
        check(_log_sum_exp(rng), rng.standard_normal((3, 4)), "the gradient of log-sum-exp")
    with partial.part("centred differences with the given h (h = 0.1)"):
        # Centred differences of x^3 give 3 x^2 + h^2 exactly; one-sided ones are off by 3 x h.
        check(CUBIC, np.array([[1.0, -2.0, 0.5], [0.0, 1.5, -1.0]]), "the gradient with h = 0.1",
              h=0.1)
    with partial.part("x with three axes, shape (2, 3, 2)"):
        check(SINES, np.linspace(-1.0, 1.0, 12).reshape(2, 3, 2), "the gradient of a 3-D x")
    with partial.part("x with a single entry, shape (1,)"):
        check(CUBIC, np.array([0.75]), "the gradient at a single point")
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        x = np.array([[0.3, -1.2], [2.0, 0.1], [-0.4, 0.9]])
        same_array(result_on_read_only_inputs(student, name, SINES, x), reference.numerical_gradient(SINES, x),
                   rtol=1e-6, atol=1e-7, dtype_kind="f", what="the gradient")


# ---- the losses -------------------------------------------------------------------------------

def _same_loss(got, expected, what, rtol=1e-6, atol=1e-9):
    """Compare (loss, dW) results."""
    assert type(got) in (tuple, list) and len(got) == 2, \
        f"{what}: expected a tuple (loss, dW), got a value of type {type(got).__name__}" + \
        (f" of length {len(got)}" if type(got) in (tuple, list) else "")
    same_number(got[0], expected[0], rtol=rtol, atol=atol, what=f"{what}: the loss")
    same_array(got[1], expected[1], rtol=rtol, atol=atol, dtype_kind="f", what=f"{what}: dW")


def _with_hint(check, hint):
    try:
        check()
    except AssertionError as error:
        raise AssertionError(f"{error}. Hint: {hint}") from None


def _grade_loss(name, student, reference, rng, partial, *, softmax, vectorized):
    student_fn, reference_fn = getattr(student, name), getattr(reference, name)

    def same(W, X, y, reg, what=name):
        _same_loss(student_fn(W, X, y, reg), reference_fn(W, X, y, reg), what)

    for (n, d, c), reg in [((5, 4, 3), 0.05), ((40, 20, 10), 0.3)]:
        with partial.part(f"{MAIN} N={n}, D={d}, C={c}, reg={reg}"):
            same(*_problem(rng, n, d, c), reg)
    with partial.part("a class never present in y (C = W.shape[1] = 6, y in 0..2)"):
        same(ABSENT_W, ABSENT_X, ABSENT_Y, 0.1)
    with partial.part("a single example (N = 1)"):
        same(SINGLE_W, SINGLE_X, SINGLE_Y, 0.2)
    if softmax:
        with partial.part("scores of size 1e4 (numerical stability)"):
            _with_hint(lambda: same(HUGE_W, HUGE_X, HUGE_Y, 0.0), STABILITY_HINT)
    else:
        with partial.part("margins exactly 0 (ties)"):
            _with_hint(lambda: same(TIE_W, TIE_X, TIE_Y, 0.0), TIE_HINT)
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        _same_loss(result_on_read_only_inputs(student, name, RULE_W, RULE_X, RULE_Y, 0.3),
                   reference_fn(RULE_W, RULE_X, RULE_Y, 0.3), name)
    if vectorized:
        with partial.part(f"rule: {RULE_NO_LOOPS}"):
            _require_main_values(partial, name)
            loops = student.loops(name)
            assert not loops, f"`{name}`: {RULE_NO_LOOPS}; found " + ", ".join(loops)


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


# ---- the classifier ---------------------------------------------------------------------------

def _blobs(rng, n=60, c=3):
    """c well separated 2-D clusters with a bias column: X (n, 3), y (n,), every class present."""
    angles = 2 * np.pi * np.arange(c) / c
    centres = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = rng.permutation(np.arange(n) % c)
    X = centres[y] + 0.5 * rng.standard_normal((n, 2))
    return np.column_stack([X, np.ones(n)]), y


def _history(got, num_iters, what):
    """The student's loss history as a float array (a list, tuple or 1-D array is accepted)."""
    if isinstance(got, np.ndarray):
        values = got
    else:
        assert type(got) in (list, tuple), \
            f"{what}: train should return a list of losses, got a value of type " \
            f"{type(got).__name__}"
        assert all(isinstance(v, int | float | np.integer | np.floating) and
                   not isinstance(v, bool) for v in got), \
            f"{what}: train should return a list of numbers (one loss per iteration)"
        values = np.array(got, dtype=np.float64)
    assert values.shape == (num_iters,), \
        f"{what}: expected {num_iters} losses (one per iteration), got shape {values.shape}"
    return values.astype(np.float64)


class _Trainer:
    """Trains the student's class and the reference's on the same calls and compares."""

    def __init__(self, student, reference, cls):
        self.student, self.reference, self.cls = student, reference, cls
        self.model = getattr(student, cls)()
        self.plain = getattr(reference, cls)()
        self.calls = []
        self._using = None

    def train(self, X, y, **settings):
        """One train call on every model; returns (student history, [expected histories])."""
        self.calls.append((X, y, settings))
        got = self.model.train(X, y, **settings)
        return got, self.plain.train(X, y, **settings)

    def using_history(self):
        """The reference's train run on the student's own losses, replaying every call so far;
        the history of the last call."""
        model = getattr(self.reference.using(self.student, *VECTORIZED_LOSSES), self.cls)()
        history = None
        for X, y, settings in self.calls:
            try:
                history = model.train(X, y, **settings)
            except StudentError as error:
                raise AssertionError(f"{self.cls}.train could not be replayed with your own "
                                     f"loss functions, which raised {error.type_name}: "
                                     f"{error.message}") from None
        return history

    def check(self, got, plain, what):
        num_iters = self.calls[-1][2]["num_iters"]
        history = _history(got, num_iters, what)
        expected = np.array(plain, dtype=np.float64)
        try:
            same_array(history, expected, rtol=1e-6, atol=1e-9, what=f"{what}: the loss history")
            return
        except AssertionError:
            pass
        using = np.array(self.using_history(), dtype=np.float64)
        try:
            same_as_one_of(history, [using, expected], rtol=1e-6, atol=1e-9,
                           what=f"{what}: the loss history")
        except AssertionError as error:
            raise AssertionError(f"{error}. Follow the recipe exactly: {RECIPE}") from None


@pytest.mark.points(4)
def test_linear_classifier(student, reference, rng, partial):
    X, y = _blobs(rng)
    seed = int(rng.integers(0, 2**31))
    settings = dict(learning_rate=0.05, reg=1e-3, num_iters=40, batch_size=20, seed=seed)
    trained = {}
    for cls in ("LinearSVM", "Softmax"):
        with partial.part(f"{MAIN}: {cls}.train follows the documented recipe"):
            trainer = _Trainer(student, reference, cls)
            trained[cls] = trainer.model
            trainer.check(*trainer.train(X, y, **settings), f"{cls}.train")
    with partial.part("batch_size larger than N (minibatches drawn with replacement)"):
        trainer = _Trainer(student, reference, "LinearSVM")
        args = dict(learning_rate=0.1, reg=1e-2, num_iters=10, batch_size=8, seed=7)
        try:
            got, plain = trainer.train(SMALL_X, SMALL_Y, **args)
        except StudentError as error:
            raise AssertionError(f"LinearSVM.train with 5 examples and batch_size=8 raised "
                                 f"{error.type_name}: {error.message}. Minibatches are drawn "
                                 "with replacement: rng.choice(N, batch_size, replace=True)"
                                 ) from None
        trainer.check(got, plain, "LinearSVM.train with batch_size > N")
    with partial.part("labels 0, 1 and 3 (class 2 absent; C = max(y) + 1 = 4), batches of one "
                      "example"):
        trainer = _Trainer(student, reference, "Softmax")
        args = dict(learning_rate=0.2, reg=0.0, num_iters=12, batch_size=1, seed=11)
        trainer.check(*trainer.train(GAP_X, GAP_Y, **args), "Softmax.train on labels 0, 1, 3")
        W = trainer.model.W
        assert type(W) is np.ndarray and W.shape == (4, 4), \
            f"Softmax.W: expected shape (D, C) = (4, 4) with C = max(y) + 1, got " \
            f"{getattr(W, 'shape', type(W).__name__)}"
    with partial.part("a second call to train continues from the current weights"):
        trainer = _Trainer(student, reference, "LinearSVM")
        args = dict(learning_rate=0.05, reg=1e-2, num_iters=15, batch_size=10)
        trainer.train(X, y, seed=1, **args)
        trainer.check(*trainer.train(X, y, seed=2, **args), "the second call of LinearSVM.train")
    with partial.part("predict: the index of each row's highest score, as integer labels"):
        model = trained.get("LinearSVM")
        W = model.W if model is not None else None
        assert type(W) is np.ndarray and W.shape == (3, 3) and W.dtype.kind == "f", \
            "predict could not be checked: after LinearSVM.train, self.W should be a float " \
            f"array of shape (3, 3), got {getattr(W, 'shape', type(W).__name__)}"
        expected = np.argmax(X @ W, axis=1)
        assert len(np.unique(expected)) > 1, \
            "predict could not be checked: the trained W gives every example the same class"
        got = model.predict(X)
        same_array(got, expected, dtype_kind="iu", what=f"LinearSVM.predict ({RULE_INTEGER_LABELS})")
    with partial.part(f"rule: train and predict {RULE_INPUTS.replace('its', 'their')}"):
        _require_main_values(partial, "LinearClassifier.train")
        model = student.Softmax()
        history = result_on_read_only_inputs(student, model.train, X, y, **settings)
        _history(history, settings["num_iters"], "Softmax.train")
        result_on_read_only_inputs(student, model.predict, X)
