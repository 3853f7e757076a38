"""Hidden suite for 02_linear_regression: every graded function against the reference.

Points (12) equal the notebook's autograded test cells: fit_linear_regression 3,
mle_noise_variance 2, gaussian_log_likelihood 2, polynomial_features 2, fit_ridge_regression 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.expect import calls_to, raises_student_error, same_array, same_number


def _problem(rng, n, d, noise=0.1):
    """A well-conditioned random regression problem: X (n, d) with a bias column, y (n,)."""
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    y = X @ rng.normal(scale=2.0, size=d) + noise * rng.normal(size=n)
    return X, y


def _rank_deficient(rng, n=8):
    """X (n, 4) whose last column repeats the second one scaled: rank 3."""
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    X = np.column_stack([X, 2.0 * X[:, 1]])
    return X, rng.normal(size=n)




def _unchanged(before, after, what):
    for name, b, a in zip(("X", "y", "third argument"), before, after, strict=False):
        if isinstance(b, np.ndarray) and not (isinstance(a, np.ndarray) and np.array_equal(a, b)):
            raise AssertionError(f"{what} changed its input {name}; work on new arrays")


@pytest.mark.points(3)
def test_fit_linear_regression(student, reference, rng, partial):
    for n, d in [(20, 3), (50, 6), (6, 6)]:
        with partial.part(f"random problem with n={n}, D={d}"):
            X, y = _problem(rng, n, d)
            same_array(student.fit_linear_regression(X, y), reference.fit_linear_regression(X, y),
                       rtol=1e-6, atol=1e-8, dtype_kind="f", what="theta")
    with partial.part("large-valued features (temperature-like scales)"):
        X, y = _problem(rng, 40, 4)
        X[:, 1:] *= [30.0, 200.0, 10.0]
        same_array(student.fit_linear_regression(X, y), reference.fit_linear_regression(X, y),
                   rtol=1e-5, atol=1e-8, dtype_kind="f", what="theta")
    with partial.part("inputs are not modified"):
        X, y = _problem(rng, 15, 3)
        got, after = student.call_reporting_inputs("fit_linear_regression", X, y)
        same_array(got, reference.fit_linear_regression(X, y), rtol=1e-6, atol=1e-8,
                   dtype_kind="f", what="theta")
        _unchanged((X, y), after, "fit_linear_regression")
    with partial.part("a rank-deficient X raises ValueError"):
        X, y = _rank_deficient(rng)
        with raises_student_error("ValueError", what="fit_linear_regression on a rank-deficient X"):
            student.fit_linear_regression(X, y)
    with partial.part("solves the normal equations without an explicit inverse"):
        X, y = _problem(rng, 12, 3)
        same_array(student.fit_linear_regression(X, y), reference.fit_linear_regression(X, y),
                   rtol=1e-6, atol=1e-8, dtype_kind="f", what="theta")
        calls = calls_to(student.source("fit_linear_regression"), ("inv", "pinv"))
        assert not calls, "found " + ", ".join(calls) + ": use np.linalg.solve instead"


@pytest.mark.points(2)
def test_mle_noise_variance(student, reference, rng, partial):
    for n, d in [(30, 3), (200, 5)]:
        with partial.part(f"random problem with n={n}, D={d}"):
            X, y = _problem(rng, n, d, noise=rng.uniform(0.1, 2.0))
            theta = rng.normal(size=d)
            same_number(student.mle_noise_variance(X, y, theta),
                        reference.mle_noise_variance(X, y, theta), rtol=1e-7, what="sigma^2")
    with partial.part("a perfect fit has variance 0"):
        X, _ = _problem(rng, 10, 3)
        theta = rng.normal(size=3)
        same_number(student.mle_noise_variance(X, X @ theta, theta), 0.0, atol=1e-12,
                    what="sigma^2")


@pytest.mark.points(2)
def test_gaussian_log_likelihood(student, reference, rng, partial):
    for sigma2 in (0.05, 1.0, 7.5):
        with partial.part(f"random problem, sigma2 = {sigma2}"):
            X, y = _problem(rng, 25, 4, noise=np.sqrt(sigma2))
            theta = rng.normal(size=4)
            same_number(student.gaussian_log_likelihood(X, y, theta, sigma2),
                        reference.gaussian_log_likelihood(X, y, theta, sigma2), rtol=1e-7,
                        what="the log-likelihood")
    for bad in (0.0, -1.0):
        with partial.part(f"sigma2 = {bad} raises ValueError"):
            X, y = _problem(rng, 5, 2)
            with raises_student_error("ValueError", what=f"sigma2 = {bad}"):
                student.gaussian_log_likelihood(X, y, np.zeros(2), bad)


@pytest.mark.points(2)
def test_polynomial_features(student, reference, rng, partial):
    for degree in (0, 1, 4, 9):
        with partial.part(f"degree {degree}"):
            x = rng.uniform(-1.5, 1.5, size=int(rng.integers(3, 12)))
            same_array(student.polynomial_features(x, degree),
                       reference.polynomial_features(x, degree), rtol=1e-10, atol=1e-12,
                       dtype_kind="f", what="the feature matrix")
    with partial.part("x = 0 gives the column x^0 = 1"):
        x = np.array([0.0, 2.0])
        same_array(student.polynomial_features(x, 2), reference.polynomial_features(x, 2),
                   dtype_kind="f", what="the feature matrix")
    with partial.part("a negative degree raises ValueError"):
        with raises_student_error("ValueError", what="degree = -2"):
            student.polynomial_features(np.array([1.0, 2.0]), -2)


@pytest.mark.points(3)
def test_fit_ridge_regression(student, reference, rng, partial):
    for lam in (1e-3, 0.5, 50.0):
        with partial.part(f"random problem, lam = {lam}"):
            X, y = _problem(rng, 30, 5)
            same_array(student.fit_ridge_regression(X, y, lam),
                       reference.fit_ridge_regression(X, y, lam), rtol=1e-6, atol=1e-9,
                       dtype_kind="f", what="theta_MAP")
    with partial.part("lam = 0 gives least squares"):
        X, y = _problem(rng, 20, 4)
        same_array(student.fit_ridge_regression(X, y, 0.0),
                   reference.fit_ridge_regression(X, y, 0.0), rtol=1e-6, atol=1e-9,
                   dtype_kind="f", what="theta_MAP")
    with partial.part("more features than examples (D > n) with lam > 0"):
        X, y = _problem(rng, 5, 9)
        same_array(student.fit_ridge_regression(X, y, 0.3),
                   reference.fit_ridge_regression(X, y, 0.3), rtol=1e-6, atol=1e-9,
                   dtype_kind="f", what="theta_MAP")
    with partial.part("a rank-deficient X is fine once lam > 0"):
        X, y = _rank_deficient(rng)
        same_array(student.fit_ridge_regression(X, y, 1.0),
                   reference.fit_ridge_regression(X, y, 1.0), rtol=1e-6, atol=1e-9,
                   dtype_kind="f", what="theta_MAP")
    with partial.part("a negative lam raises ValueError"):
        X, y = _problem(rng, 6, 2)
        with raises_student_error("ValueError", what="lam = -1"):
            student.fit_ridge_regression(X, y, -1.0)
    with partial.part("solves the system without an explicit inverse"):
        X, y = _problem(rng, 12, 3)
        same_array(student.fit_ridge_regression(X, y, 2.0),
                   reference.fit_ridge_regression(X, y, 2.0), rtol=1e-6, atol=1e-9,
                   dtype_kind="f", what="theta_MAP")
        calls = calls_to(student.source("fit_ridge_regression"), ("inv", "pinv"))
        assert not calls, "found " + ", ".join(calls) + ": use np.linalg.solve instead"
