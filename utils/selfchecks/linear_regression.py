"""Self-checks for the 02_linear_regression exercise (least squares, maximum likelihood, MAP).

Expected values come from hand-worked examples and from independent library code
(``numpy.linalg.lstsq``, ``scipy.stats.norm``, scikit-learn's ``Ridge``), never from the
course's solutions.

Every rule the hidden suite enforces is tried here with the shared code of ``utils.rules``
(the same wording, the same read-only inputs, the same reading of the code): no explicit
inverse, inputs left unchanged, ValueError for rank below D (also D > n), for sigma2 <= 0, for a
negative degree and for a negative lam, no rank check in ridge regression, integer inputs.
"""

from __future__ import annotations

import numpy as np

from utils.checks import (
    SelfCheck,
    expect,
    expect_array,
    expect_close,
    read_only_result,
)
from utils.rules import (
    RULE_INPUTS,
    RULE_NO_INVERSE,
    calls_in_function,
)

#: The functions ``RULE_NO_INVERSE`` forbids, by their last name (``np.linalg.inv``).
INVERSE_FUNCTIONS = ("inv", "pinv")

# Integer inputs (counts): a 6x3 design matrix of rank 3, integer targets and parameters.
INT_X = np.array([[1, 0, 2], [1, 1, 0], [1, 2, 1], [1, 3, 3], [1, 4, 1], [1, 5, 4]])
INT_Y = np.array([3, 1, 4, 1, 5, 9])
INT_THETA = np.array([1, -2, 3])
# Rank below D: the third column repeats the second.
REPEATED_X = np.array([[1.0, 2.0, 2.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 3.0, 3.0]])


def inverse_calls(fn) -> list[str]:
    """Calls of np.linalg.inv / pinv in ``fn`` and in the notebook's functions it calls
    (``utils.rules.calls_in_function``; the grader reads the notebook's text the same way).

    Returns phrases such as "`inv` on line 4 of `fit_linear_regression`"; empty list: none.
    """
    return calls_in_function(fn, INVERSE_FUNCTIONS)



def _expect_value_error(call, refused: str, hint: str) -> None:
    """``call()`` must raise ValueError itself (np.linalg's LinAlgError does not count)."""
    try:
        call()
    except np.linalg.LinAlgError:  # a subclass of ValueError: test for it first
        expect(False, f"np.linalg raised LinAlgError for {refused}; {hint}")
    except ValueError:
        return
    expect(False, f"no ValueError for {refused}; {hint}")


def _random_problem(seed: int, n: int = 30, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    return X, y


def _lstsq(X, y) -> np.ndarray:
    return np.linalg.lstsq(np.asarray(X, float), np.asarray(y, float), rcond=None)[0]


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
        expect_array(fn(X, y), _lstsq(X, y), rtol=1e-6, atol=1e-9, what="theta")
    with check.case("integer X and y give the float least-squares solution"):
        expect_array(fn(INT_X, INT_Y), _lstsq(INT_X, INT_Y), rtol=1e-6, atol=1e-9,
                     what="theta", dtype_kind="f")
    with check.case(f"rule: {RULE_INPUTS} (called with read-only X and y)"):
        X, y = _random_problem(2)
        expect_array(read_only_result(fn, X, y), _lstsq(X, y), rtol=1e-6, atol=1e-9,
                     what="theta")
    with check.case(f"rule: {RULE_NO_INVERSE}"):
        fn(np.eye(2), np.ones(2))  # a stub must not pass this case
        found = inverse_calls(fn)
        expect(not found, f"{fn.__name__}: {RULE_NO_INVERSE}; found " + ", ".join(found) +
               ". Inverting X^T X is slower and less accurate.")
    with check.case("a rank-deficient X (a repeated column) raises ValueError"):
        _expect_value_error(lambda: fn(REPEATED_X, np.arange(4.0)), "an X with two equal columns",
                            "theta is not unique: check np.linalg.matrix_rank(X) < X.shape[1] "
                            "first and raise ValueError with a clear message.")
    with check.case("more columns than rows (D > n) raises ValueError"):
        X = np.array([[1.0, 2.0, 0.5], [1.0, -1.0, 3.0]])
        _expect_value_error(lambda: fn(X, np.array([1.0, 2.0])), "an X with 2 rows and 3 "
                            "columns", "with D > n the rank of X is at most n < D: the same "
                            "rank check catches it.")
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
        theta = _lstsq(X, y)
        expect_close(fn(X, y, theta), float(np.mean((y - X @ theta) ** 2)), what="sigma^2")
    with check.case("integer X, y and theta"):
        expect_close(fn(INT_X, INT_Y, INT_THETA), float(np.mean((INT_Y - INT_X @ INT_THETA) ** 2)),
                     what="sigma^2")
    with check.case(f"rule: {RULE_INPUTS} (called with read-only X, y and theta)"):
        X, y = _random_problem(4)
        theta = _lstsq(X, y) + 0.1
        expect_close(read_only_result(fn, X, y, theta), float(np.mean((y - X @ theta) ** 2)),
                     what="sigma^2", hint="compute the residual as a new array "
                     "(r = y - X @ theta), not in place (y -= ...).")
    check.report()


def check_gaussian_log_likelihood(fn) -> None:
    """Check ``gaussian_log_likelihood(X, y, theta, sigma2) -> log p(y | X, theta, sigma2)``."""
    from scipy.stats import norm

    def scipy_log_likelihood(X, y, theta, sigma2):
        X, y = np.asarray(X, float), np.asarray(y, float)
        return float(np.sum(norm.logpdf(y, loc=X @ theta, scale=np.sqrt(sigma2))))

    check = SelfCheck(fn.__name__)
    with check.case("one point on the line, sigma^2 = 1: -log(2 pi)/2"):
        expect_close(fn(np.array([[1.0]]), np.array([2.0]), np.array([2.0]), 1.0),
                     -0.5 * np.log(2 * np.pi), what="the log-likelihood")
    with check.case("random problem agrees with scipy.stats.norm.logpdf summed over points"):
        X, y = _random_problem(5)
        theta = _lstsq(X, y) + 0.05
        expect_close(fn(X, y, theta, 0.3), scipy_log_likelihood(X, y, theta, 0.3),
                     what="the log-likelihood",
                     hint="-(n/2) log(2 pi sigma^2) - (y - X theta)^T (y - X theta) / (2 sigma^2)")
    with check.case("the MLE sigma^2 maximises the log-likelihood over sigma^2"):
        X, y = _random_problem(6)
        theta = _lstsq(X, y)
        s2 = float(np.mean((y - X @ theta) ** 2))
        values = [fn(X, y, theta, s2 * f) for f in (0.8, 1.0, 1.25)]
        expect(values[1] > values[0] and values[1] > values[2],
               f"log-likelihoods at 0.8, 1 and 1.25 times the MLE variance were {values}; the "
               "middle one should be the largest.")
    with check.case("integer X, y, theta and sigma2"):
        expect_close(fn(INT_X, INT_Y, INT_THETA, 3), scipy_log_likelihood(INT_X, INT_Y,
                                                                          INT_THETA, 3),
                     what="the log-likelihood")
    with check.case("sigma2 <= 0 is refused with ValueError"):
        for bad in (0.0, -1.0):
            _expect_value_error(lambda bad=bad: fn(np.array([[1.0]]), np.array([2.0]),
                                                   np.array([2.0]), bad),
                                f"sigma2 = {bad}", "a variance must be positive: raise "
                                "ValueError for sigma2 <= 0.")
    with check.case(f"rule: {RULE_INPUTS} (called with read-only X, y and theta)"):
        X, y = _random_problem(7)
        theta = _lstsq(X, y)
        expect_close(read_only_result(fn, X, y, theta, 0.5),
                     scipy_log_likelihood(X, y, theta, 0.5), what="the log-likelihood")
    check.report()


def check_fit_ridge_regression(fn) -> None:
    """Check ``fit_ridge_regression(X, y, lam) -> theta_MAP (D,)``."""
    from sklearn.linear_model import Ridge

    def sklearn_ridge(X, y, lam):
        return Ridge(alpha=lam, fit_intercept=False, solver="svd").fit(
            np.asarray(X, float), np.asarray(y, float)).coef_

    check = SelfCheck(fn.__name__)
    with check.case("one feature worked by hand: theta = x.y / (x.x + lam)"):
        X = np.array([[1.0], [2.0]])
        y = np.array([1.0, 2.0])
        # x.y = 5, x.x = 5: lam = 5 halves the least-squares answer 1.
        expect_array(fn(X, y, 5.0), np.array([0.5]), what="theta_MAP")
    with check.case("lam = 0 gives the least-squares solution (numpy lstsq)"):
        X, y = _random_problem(8)
        expect_array(fn(X, y, 0.0), _lstsq(X, y), rtol=1e-6, atol=1e-9, what="theta_MAP")
    for lam in (0.1, 10.0):
        with check.case(f"random problem, lam = {lam}: agrees with scikit-learn's Ridge "
                        "(no intercept: every coefficient penalised)"):
            X, y = _random_problem(9)
            expect_array(fn(X, y, lam), sklearn_ridge(X, y, lam), rtol=1e-6, atol=1e-9,
                         what="theta_MAP",
                         hint="solve (X^T X + lam I) theta = X^T y with np.linalg.solve.")
    with check.case("integer X, y and lam"):
        expect_array(fn(INT_X, INT_Y, 2), sklearn_ridge(INT_X, INT_Y, 2), rtol=1e-6, atol=1e-9,
                     what="theta_MAP", dtype_kind="f",
                     hint="X^T X of integers is an integer matrix: build X^T X + lam I as a new "
                          "array instead of adding lam in place.")
    with check.case("a repeated column is fine once lam > 0 (no rank check here)"):
        y = np.arange(4.0)
        expect_array(fn(REPEATED_X, y, 1.0), sklearn_ridge(REPEATED_X, y, 1.0), rtol=1e-6,
                     atol=1e-9, what="theta_MAP")
    with check.case("more columns than rows (D > n) is fine once lam > 0 (no rank check here)"):
        X = np.array([[1.0, 2.0, 0.5, -1.0], [1.0, -1.0, 3.0, 0.0]])
        y = np.array([1.0, 2.0])
        expect_array(fn(X, y, 0.5), sklearn_ridge(X, y, 0.5), rtol=1e-6, atol=1e-9,
                     what="theta_MAP", hint="for lam > 0, X^T X + lam I is invertible for "
                     "every X: do not copy the rank check of fit_linear_regression.")
    with check.case(f"rule: {RULE_NO_INVERSE}"):
        fn(np.eye(2), np.ones(2), 1.0)
        found = inverse_calls(fn)
        expect(not found, f"{fn.__name__}: {RULE_NO_INVERSE}; found " + ", ".join(found) + ".")
    with check.case("a negative lam is refused with ValueError"):
        _expect_value_error(lambda: fn(np.eye(2), np.ones(2), -1.0), "lam = -1",
                            "lam is the prior's precision ratio and cannot be negative.")
    with check.case(f"rule: {RULE_INPUTS} (called with read-only X and y)"):
        X, y = _random_problem(10)
        expect_array(read_only_result(fn, X, y, 2.0), sklearn_ridge(X, y, 2.0), rtol=1e-6,
                     atol=1e-9, what="theta_MAP")
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
    with check.case("integer x (any numeric dtype is fine)"):
        x = np.array([-2, 0, 1, 3])
        expect_array(fn(x, 5), np.vander(x, 6, increasing=True), what="the feature matrix")
    with check.case("a negative degree is refused with ValueError"):
        _expect_value_error(lambda: fn(np.array([1.0, 2.0]), -1), "degree = -1",
                            "degree must be 0 or more.")
    with check.case(f"rule: {RULE_INPUTS} (called with a read-only x)"):
        x = np.linspace(-1.0, 1.0, 5)
        expect_array(read_only_result(fn, x, 3), np.vander(x, 4, increasing=True),
                     what="the feature matrix")
    check.report()
