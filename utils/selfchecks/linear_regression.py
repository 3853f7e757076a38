"""Self-checks for the 02_linear_regression exercise (least squares, maximum likelihood, MAP).

Expected values come from hand-worked examples and from independent library code
(``numpy.linalg.lstsq``, ``scipy.stats.norm``, scikit-learn's ``Ridge``), never from the
course's solutions.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np

from utils.checks import CheckFailure, SelfCheck, expect, expect_array, expect_close

INVERSE_CALLS = ("inv", "pinv")


def explicit_inverse_calls(fn) -> list[str]:
    """Calls to ``inv`` or ``pinv`` (for example ``np.linalg.inv``) in a function's source.

    Returns a list of 'line N: name' strings; empty when the function uses none.
    """
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as error:
        raise CheckFailure(f"Could not read the source of {getattr(fn, '__name__', fn)} "
                           f"({error}); define it in a notebook cell and run that cell.") from None
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in INVERSE_CALLS:
                found.append(f"line {node.lineno}: {name}")
    return found


def _random_problem(seed: int, n: int = 30, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


def check_fit_linear_regression(fn) -> None:
    """Check ``fit_linear_regression(X, y) -> theta (D,)``."""
    check = SelfCheck(fn.__name__)
    with check.case("a line through three points worked by hand"):
        # y = 1 + 2x exactly at x = 0, 1, 2: the least-squares line is that line.
        X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        y = np.array([1.0, 3.0, 5.0])
        expect_array(fn(X, y), np.array([1.0, 2.0]), what="theta",
                     hint="solve the normal equations X^T X theta = X^T y.")
    with check.case("noisy points: the least-squares line of (0,0), (1,1), (2,1)"):
        # X^T X = [[3, 3], [3, 5]], X^T y = [2, 3]  ->  theta = [1/6, 1/2].
        X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        y = np.array([0.0, 1.0, 1.0])
        expect_array(fn(X, y), np.array([1.0 / 6.0, 0.5]), what="theta")
    with check.case("random 30x4 problem agrees with numpy.linalg.lstsq"):
        X, y = _random_problem(1)
        expect_array(fn(X, y), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-6, atol=1e-9,
                     what="theta")
    with check.case("does not change X or y"):
        X, y = _random_problem(2)
        X0, y0 = X.copy(), y.copy()
        fn(X, y)
        expect(np.array_equal(X, X0) and np.array_equal(y, y0),
               "fit_linear_regression changed X or y; compute on new arrays instead.")
    with check.case("uses a linear solver, not an explicit inverse"):
        fn(np.eye(2), np.ones(2))  # a stub must not pass this case
        found = explicit_inverse_calls(fn)
        expect(not found, "Found " + ", ".join(found) + ". Inverting X^T X is slower and "
               "less accurate; use np.linalg.solve(A, b) instead.")
    with check.case("a rank-deficient X (a repeated column) raises ValueError"):
        X = np.array([[1.0, 2.0, 2.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 3.0, 3.0]])
        try:
            fn(X, np.arange(4.0))
        except np.linalg.LinAlgError:  # a subclass of ValueError: test for it first
            expect(False, "np.linalg.solve raised LinAlgError; check the rank first "
                          "(np.linalg.matrix_rank) and raise ValueError with a clear message.")
        except ValueError:
            pass
        else:
            expect(False, "X has two equal columns, so theta is not unique: raise ValueError "
                          "saying so (check np.linalg.matrix_rank(X) < X.shape[1]).")
    check.report()


def check_mle_noise_variance(fn) -> None:
    """Check ``mle_noise_variance(X, y, theta) -> sigma^2`` (a float)."""
    check = SelfCheck(fn.__name__)
    with check.case("residuals (1, -1, 2, 0) give sigma^2 = 6/4 = 1.5"):
        X = np.array([[1.0], [1.0], [1.0], [1.0]])
        y = np.array([3.0, 1.0, 4.0, 2.0])
        expect_close(fn(X, y, np.array([2.0])), 1.5, what="sigma^2",
                     hint="divide the sum of squared residuals by n (not n - 1, not n - D).")
    with check.case("a perfect fit has zero noise variance"):
        X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        expect_close(fn(X, np.array([1.0, 3.0, 5.0]), np.array([1.0, 2.0])), 0.0,
                     what="sigma^2")
    with check.case("random problem: mean squared residual (numpy)"):
        X, y = _random_problem(3)
        theta = np.linalg.lstsq(X, y, rcond=None)[0]
        expect_close(fn(X, y, theta), float(np.mean((y - X @ theta) ** 2)), what="sigma^2")
    check.report()


def check_gaussian_log_likelihood(fn) -> None:
    """Check ``gaussian_log_likelihood(X, y, theta, sigma2) -> log p(y | X, theta, sigma2)``."""
    from scipy.stats import norm

    check = SelfCheck(fn.__name__)
    with check.case("one point on the line, sigma^2 = 1: -log(2 pi)/2"):
        expect_close(fn(np.array([[1.0]]), np.array([2.0]), np.array([2.0]), 1.0),
                     -0.5 * np.log(2 * np.pi), what="the log-likelihood")
    with check.case("random problem agrees with scipy.stats.norm.logpdf summed over points"):
        X, y = _random_problem(4)
        theta = np.linalg.lstsq(X, y, rcond=None)[0] + 0.05
        expected = float(np.sum(norm.logpdf(y, loc=X @ theta, scale=np.sqrt(0.3))))
        expect_close(fn(X, y, theta, 0.3), expected, what="the log-likelihood",
                     hint="-(n/2) log(2 pi sigma^2) - (y - X theta)^T (y - X theta) / (2 sigma^2)")
    with check.case("the MLE sigma^2 maximises the log-likelihood over sigma^2"):
        X, y = _random_problem(5)
        theta = np.linalg.lstsq(X, y, rcond=None)[0]
        s2 = float(np.mean((y - X @ theta) ** 2))
        values = [fn(X, y, theta, s2 * f) for f in (0.8, 1.0, 1.25)]
        expect(values[1] > values[0] and values[1] > values[2],
               f"log-likelihoods at 0.8, 1 and 1.25 times the MLE variance were {values}; the "
               "middle one should be the largest.")
    with check.case("sigma2 <= 0 is refused with ValueError"):
        try:
            fn(np.array([[1.0]]), np.array([2.0]), np.array([2.0]), 0.0)
        except ValueError:
            pass
        else:
            expect(False, "a variance must be positive: raise ValueError for sigma2 <= 0.")
    check.report()


def check_fit_ridge_regression(fn) -> None:
    """Check ``fit_ridge_regression(X, y, lam) -> theta_MAP (D,)``."""
    from sklearn.linear_model import Ridge

    check = SelfCheck(fn.__name__)
    with check.case("one feature worked by hand: theta = x.y / (x.x + lam)"):
        X = np.array([[1.0], [2.0]])
        y = np.array([1.0, 2.0])
        # x.y = 5, x.x = 5: lam = 5 halves the least-squares answer 1.
        expect_array(fn(X, y, 5.0), np.array([0.5]), what="theta_MAP")
    with check.case("lam = 0 gives the least-squares solution (numpy lstsq)"):
        X, y = _random_problem(6)
        expect_array(fn(X, y, 0.0), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-6,
                     atol=1e-9, what="theta_MAP")
    for lam in (0.1, 10.0):
        with check.case(f"random problem, lam = {lam}: agrees with scikit-learn's Ridge "
                        "(no intercept: every coefficient penalised)"):
            X, y = _random_problem(7)
            expected = Ridge(alpha=lam, fit_intercept=False, solver="svd").fit(X, y).coef_
            expect_array(fn(X, y, lam), expected, rtol=1e-6, atol=1e-9, what="theta_MAP",
                         hint="solve (X^T X + lam I) theta = X^T y with np.linalg.solve.")
    with check.case("a repeated column is fine once lam > 0"):
        X = np.array([[1.0, 2.0, 2.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 3.0, 3.0]])
        y = np.arange(4.0)
        expected = Ridge(alpha=1.0, fit_intercept=False, solver="svd").fit(X, y).coef_
        expect_array(fn(X, y, 1.0), expected, rtol=1e-6, atol=1e-9, what="theta_MAP")
    with check.case("uses a linear solver, not an explicit inverse"):
        fn(np.eye(2), np.ones(2), 1.0)
        found = explicit_inverse_calls(fn)
        expect(not found, "Found " + ", ".join(found) + "; use np.linalg.solve instead.")
    with check.case("a negative lam is refused with ValueError"):
        try:
            fn(np.eye(2), np.ones(2), -1.0)
        except ValueError:
            pass
        else:
            expect(False, "lam is the prior's precision ratio and cannot be negative: "
                          "raise ValueError.")
    check.report()


def check_polynomial_features(fn) -> None:
    """Check ``polynomial_features(x, degree) -> (N, degree + 1)``."""
    check = SelfCheck(fn.__name__)
    with check.case("x = (2, -1, 0), degree 3, worked by hand"):
        expected = np.array([[1.0, 2.0, 4.0, 8.0], [1.0, -1.0, 1.0, -1.0], [1.0, 0.0, 0.0, 0.0]])
        expect_array(fn(np.array([2.0, -1.0, 0.0]), 3), expected, what="the feature matrix",
                     hint="column k holds x**k, starting with x**0 = 1 (also for x = 0).")
    with check.case("degree 0 is a single column of ones"):
        expect_array(fn(np.array([0.5, 3.0]), 0), np.ones((2, 1)), what="the feature matrix")
    with check.case("random x, degree 5, agrees with numpy.vander(x, 6, increasing=True)"):
        x = np.random.default_rng(8).uniform(-1, 1, size=7)
        expect_array(fn(x, 5), np.vander(x, 6, increasing=True), what="the feature matrix")
    with check.case("a negative degree is refused with ValueError"):
        try:
            fn(np.array([1.0, 2.0]), -1)
        except ValueError:
            pass
        else:
            expect(False, "degree must be 0 or more: raise ValueError for a negative degree.")
    check.report()
