"""Self-checks for the 03_linear_classifiers exercise (SVM and softmax losses, SGD training).

Expected values come from examples worked by hand (written out in the comments), from
independent library code (``scipy.special.log_softmax``), from numerical gradients
(``utils.gradcheck``) and, for training, from a replay of the documented random-number recipe
with the student's own loss, never from the course's solutions.

Every rule the hidden suite enforces is tried here with the shared code of ``utils.rules``
(the same wording, read-only inputs, the same reading of the code for loops): inputs left
unchanged, no Python loops in the vectorized losses (also in helpers, map, np.vectorize, ...),
margins of exactly 0, scores of size 1e4, a class absent from y, a single example, the training
recipe with minibatches drawn with replacement, C = max(y) + 1, a second call continuing,
integer predictions.
"""

from __future__ import annotations

import numpy as np

from utils.checks import (
    CheckFailure,
    SelfCheck,
    expect,
    expect_array,
    expect_close,
    read_only_result,
)
from utils.gradcheck import eval_numerical_gradient, rel_error
from utils.rules import (
    RULE_INPUTS,
    RULE_INTEGER_LABELS,
    RULE_NO_LOOPS,
    loops_in_function,
)

#: The training recipe of the notebook's section 6, in one sentence.
RECIPE = ("rng = np.random.default_rng(seed); if self.W is None: self.W = 0.001 * "
          "rng.standard_normal((D, max(y) + 1)); then in every iteration idx = "
          "rng.choice(N, batch_size, replace=True), (loss, dW) = self.loss(X[idx], y[idx], reg), "
          "record loss, self.W -= learning_rate * dW")
STABILITY_HINT = ("subtract each example's maximum score before exponentiating: "
                  "log sum_k e^{s_k} = m + log sum_k e^{s_k - m} (log-sum-exp).")



def _unpack(result, what: str) -> tuple[object, object]:
    """Split a (loss, dW) result, with a clear message when it is something else."""
    expect(isinstance(result, tuple | list) and len(result) == 2,
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
    with check.case("x with a single entry, shape (1,)"):
        got = fn(lambda v: float(np.sum(v ** 3)), np.array([0.5]))
        expect_array(got, np.array([0.75]), rtol=1e-6, atol=1e-6, what="the gradient")
    with check.case(f"rule: {RULE_INPUTS} (called with a read-only x)"):
        x = np.random.default_rng(1).normal(size=(2, 3))
        got = read_only_result(fn, lambda v: float(np.sum(np.sin(v))), x)
        expect_array(got, np.cos(x), rtol=1e-6, atol=1e-7, what="the gradient",
                     hint="perturb a float copy: x = np.array(x, dtype=np.float64).")
    check.report()


def _check_vectorized(check: SelfCheck, fn) -> None:
    with check.case(f"rule: {RULE_NO_LOOPS}"):
        fn(HINGE_W, HINGE_X, HINGE_Y, 0.0)  # a stub must not pass this case
        loops = loops_in_function(fn)
        expect(not loops, f"{fn.__name__}: {RULE_NO_LOOPS}; found " + ", ".join(loops) +
               ". Index with arrays (scores[np.arange(N), y]) and use matrix products.")


def _check_common(check: SelfCheck, fn, seed: int, by_definition) -> None:
    """Cases shared by both losses: regularization, numerical gradient, absent class, a single
    example, inputs unchanged. ``by_definition(W, X, y, reg)`` is an independent loss."""
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
        numeric = eval_numerical_gradient(lambda w: by_definition(w, X, y, 0.1), W.copy())
        expect_array(dW, numeric, rtol=1e-4, atol=1e-6, what="dW",
                     hint=f"relative error {rel_error(dW, numeric):.1e}: dW must be the "
                          "derivative of the loss.")
    with check.case("a class absent from y (C = W.shape[1] = 6, y in 0..2)"):
        W, X, _ = _random_problem(seed + 2, n=8, c=6)
        y = np.array([0, 1, 2, 2, 1, 0, 0, 1])
        loss, dW = _unpack(fn(W, X, y, 0.1), fn.__name__)
        expect_close(loss, by_definition(W, X, y, 0.1), what="the loss",
                     hint="the number of classes is W.shape[1], not max(y) + 1.")
        numeric = eval_numerical_gradient(lambda w: by_definition(w, X, y, 0.1), W.copy())
        expect_array(dW, numeric, rtol=1e-4, atol=1e-6, what="dW")
    with check.case("a single example (N = 1)"):
        W, X, y = _random_problem(seed + 3, n=1, c=5)
        loss, dW = _unpack(fn(W, X, y, 0.2), fn.__name__)
        expect_close(loss, by_definition(W, X, y, 0.2), what="the loss")
        numeric = eval_numerical_gradient(lambda w: by_definition(w, X, y, 0.2), W.copy())
        expect_array(dW, numeric, rtol=1e-4, atol=1e-6, what="dW")
    with check.case(f"rule: {RULE_INPUTS} (called with read-only W, X and y)"):
        W, X, y = _random_problem(seed + 4)
        loss, _ = _unpack(read_only_result(fn, W, X, y, 0.1), fn.__name__)
        expect_close(loss, by_definition(W, X, y, 0.1), what="the loss")


def hinge_by_definition(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> float:
    """(1/N) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg sum W^2, from the formula."""
    scores = X @ W
    rows = np.arange(len(y))
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    return float(margins.sum() / len(y) + reg * np.sum(W * W))


def check_svm_loss(fn, *, vectorized: bool = False) -> None:
    """Check ``svm_loss_*(W, X, y, reg) -> (loss, dW)``, the multiclass hinge loss."""
    check = SelfCheck(fn.__name__)
    with check.case("hinge example worked by hand (3 examples, 3 classes, one margin exactly 0)"):
        loss, dW = _unpack(fn(HINGE_W, HINGE_X, HINGE_Y, 0.0), fn.__name__)
        expect_close(loss, HINGE_LOSS, what="the loss",
                     hint="L_i = sum over j != y_i of max(0, s_j - s_{y_i} + 1), averaged over "
                          "N (the slide's s_i is a typo for s_j).")
        expect_array(dW, HINGE_DW, what="dW",
                     hint="a margin of exactly 0 contributes nothing (> 0, not >= 0); each "
                          "positive margin adds x_i to column j and subtracts x_i from column "
                          "y_i.")
    with check.case("W = 0: every margin is 1, so the loss is C - 1"):
        _, X, y = _random_problem(3, c=4)
        loss, dW = _unpack(fn(np.zeros((5, 4)), X, y, 0.0), fn.__name__)
        expect_close(loss, 3.0, what="the loss")
        expect(isinstance(dW, np.ndarray) and dW.shape == (5, 4),
               f"dW should have the shape of W, (5, 4); got {getattr(dW, 'shape', type(dW))}.")
    _check_common(check, fn, 10, hinge_by_definition)
    if vectorized:
        _check_vectorized(check, fn)
    check.report()


def cross_entropy_by_scipy(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> float:
    """The mean cross-entropy plus reg sum W^2, with scipy's stable log_softmax."""
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
        expect_close(loss, cross_entropy_by_scipy(W, X, y, 0.05), what="the loss")
    with check.case("scores of size 1e4 give the exact, finite loss and gradient (log-sum-exp)"):
        W, X, y = _random_problem(7)
        W = W * 1e4 / np.abs(X @ W).max()
        with np.errstate(all="ignore"):
            loss, dW = _unpack(fn(W, X, y, 0.0), fn.__name__)
        expect_close(loss, cross_entropy_by_scipy(W, X, y, 0.0), rtol=1e-6, what="the loss",
                     hint=STABILITY_HINT)
        expect(isinstance(dW, np.ndarray) and bool(np.all(np.isfinite(dW))),
               "dW holds NaN or infinite values for large scores: " + STABILITY_HINT)
    _check_common(check, fn, 20, cross_entropy_by_scipy)
    if vectorized:
        _check_vectorized(check, fn)
    check.report()


# ---- the classifier ---------------------------------------------------------------------------

def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated 2-D clusters with a bias column: X (150, 3), y (150,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]])
    y = np.repeat(np.arange(3), 50)
    X = centres[y] + 0.5 * rng.standard_normal((150, 2))
    return np.column_stack([X, np.ones(150)]), y


def replay_recipe(cls, X, y, *, learning_rate, reg, num_iters, batch_size, seed, W=None):
    """The documented recipe run here with the student's own ``cls.loss``.

    Returns (loss history as a float array, the final W). ``W`` continues from given weights.
    """
    rng = np.random.default_rng(seed)
    if W is None:
        W = 0.001 * rng.standard_normal((X.shape[1], int(np.max(y)) + 1))
    probe = cls()
    history = []
    for _ in range(num_iters):
        idx = rng.choice(X.shape[0], batch_size, replace=True)
        probe.W = W.copy()
        loss, dW = _unpack(probe.loss(X[idx], y[idx], reg), f"{cls.__name__}.loss")
        history.append(float(loss))
        W = W - learning_rate * dW
    return np.array(history), W


def _expect_history(got, expected: np.ndarray, what: str) -> np.ndarray:
    expect(isinstance(got, list | tuple | np.ndarray),
           f"{what} should return a list of losses, got {type(got).__name__}.")
    got = np.asarray(got, dtype=float)
    expect(got.shape == expected.shape, f"{what} should return {expected.size} losses (one per "
                                        f"iteration), got shape {got.shape}.")
    expect_array(got, expected, rtol=1e-6, atol=1e-9, what=f"the loss history of {what}",
                 hint=f"follow the recipe exactly: {RECIPE}.")
    return got


def check_linear_classifier(svm_cls, softmax_cls) -> None:
    """Check ``LinearSVM`` and ``Softmax``: ``train(...) -> loss history``, ``predict(X)``."""
    check = SelfCheck("LinearClassifier")
    X, y = _blobs()
    settings = dict(learning_rate=0.05, reg=1e-3, num_iters=150, batch_size=30, seed=0)
    for cls in (svm_cls, softmax_cls):
        with check.case(f"{cls.__name__}.train follows the recipe (replayed with your loss)"):
            model = cls()
            expected, _ = replay_recipe(cls, X, y, **settings)
            _expect_history(model.train(X, y, **settings), expected, f"{cls.__name__}.train")
    with check.case(f"predict: the index of each row's highest score; {RULE_INTEGER_LABELS}"):
        model = svm_cls()
        model.train(X, y, **settings)
        pred = model.predict(X)
        expect(isinstance(pred, np.ndarray) and pred.dtype.kind in "iu",
               f"predict {RULE_INTEGER_LABELS}; got "
               f"{getattr(pred, 'dtype', type(pred).__name__)}. np.argmax returns integers.")
        expect_array(pred, np.argmax(X @ model.W, axis=1), what="the predictions")
    with check.case("batch_size larger than N: minibatches are drawn with replacement"):
        small_X, small_y = X[[0, 50, 100, 1, 51]], y[[0, 50, 100, 1, 51]]
        args = dict(learning_rate=0.1, reg=1e-2, num_iters=10, batch_size=8, seed=7)
        try:
            got = svm_cls().train(small_X, small_y, **args)
        except ValueError as error:
            raise CheckFailure(f"train with 5 examples and batch_size=8 raised ValueError "
                               f"({error}): draw minibatches with replacement, "
                               "rng.choice(N, batch_size, replace=True).") from None
        _expect_history(got, replay_recipe(svm_cls, small_X, small_y, **args)[0],
                        "LinearSVM.train with batch_size > N")
    with check.case("labels 0, 1 and 3 (class 2 absent): W has C = max(y) + 1 = 4 columns"):
        gap_y = np.where(y == 2, 3, y)
        args = dict(learning_rate=0.2, reg=0.0, num_iters=20, batch_size=1, seed=11)
        model = softmax_cls()
        got = model.train(X, gap_y, **args)
        expect(isinstance(model.W, np.ndarray) and model.W.shape == (3, 4),
               f"W should have shape (D, max(y) + 1) = (3, 4), got "
               f"{getattr(model.W, 'shape', type(model.W).__name__)}.")
        _expect_history(got, replay_recipe(softmax_cls, X, gap_y, **args)[0],
                        "Softmax.train on labels 0, 1, 3 with batches of one example")
    with check.case("a second call to train continues from the current weights"):
        args = dict(learning_rate=0.05, reg=1e-2, num_iters=15, batch_size=10)
        model = svm_cls()
        model.train(X, y, seed=1, **args)
        _, W1 = replay_recipe(svm_cls, X, y, seed=1, **args)
        expected, _ = replay_recipe(svm_cls, X, y, seed=2, W=W1, **args)
        _expect_history(model.train(X, y, seed=2, **args), expected,
                        "the second call of LinearSVM.train (it must not reset W)")
    with check.case(f"rule: train and predict {RULE_INPUTS.replace('its', 'their')}"):
        model = softmax_cls()
        read_only_result(model.train, X, y, **settings)
        read_only_result(model.predict, X)
    check.report()
