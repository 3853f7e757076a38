"""Hidden suite for 02_linear_regression: every graded function against the reference.

Points (12) equal the notebook's autograded test cells: fit_linear_regression 3,
mle_noise_variance 2, gaussian_log_likelihood 2, polynomial_features 2, fit_ridge_regression 3.

How the parts are built (the same for every test):
- "random problem" parts: inputs drawn from ``rng`` with fixed shapes (n > D, well
  conditioned, far from every edge case), so a given piece of code passes or fails them under
  every seed.
- Edge parts: fixed inputs, the same for every student (rank below D, D > n, integer inputs,
  a single example, features on very different scales, ...).
- Parts that code doing nothing could pass (a refusal with ValueError, a rule such as "no
  explicit inverse" or "inputs not modified", an answer that is 0) pay only once the function
  returns right values on at least one random problem; they then check only their own rule.
- Every rule checked here is written in the function's docstring and tried by the visible
  self-check (``utils/selfchecks/linear_regression.py``), with the same wording
  (``utils.rules``).
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.errors import StudentError
from autograder.expect import (
    raises_student_error,
    result_on_read_only_inputs,
    same_array,
    same_as_one_of,
    same_number,
)
from utils.rules import RULE_INPUTS, RULE_NO_INVERSE

MAIN = "random problem"
INVERSE_CALLS = ("inv", "pinv")


# ---- inputs -------------------------------------------------------------------------------

def _problem(rng, n, d, noise=0.1):
    """A well-conditioned random regression problem: X (n, d) with a bias column, y (n,)."""
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    y = X @ rng.normal(scale=2.0, size=d) + noise * rng.normal(size=n)
    return X, y


_FIXED = np.random.default_rng(20240202)
# n = D = 6, well conditioned (cond(X) below 20).
SQUARE_X = np.column_stack([np.ones(6), _FIXED.normal(size=(6, 5))])
SQUARE_Y = _FIXED.normal(size=6)
# Temperature-like scales: features in the tens, hundreds and units.
SCALED_X = np.column_stack([np.ones(40), _FIXED.normal(size=(40, 3)) * [30.0, 200.0, 10.0]])
SCALED_Y = SCALED_X @ np.array([18.0, 0.2, 0.01, -0.5]) + 0.3 * _FIXED.normal(size=40)
# Integer design matrix and targets (counts).
INT_X = np.array([[1, 0, 2], [1, 1, 0], [1, 2, 1], [1, 3, 3], [1, 4, 1], [1, 5, 4]])
INT_Y = np.array([3, 1, 4, 1, 5, 9])
INT_THETA = np.array([1, -2, 3])
# Rank below D: a repeated (scaled) column, and more columns than rows.
REPEATED_X = np.column_stack([np.ones(8), _FIXED.normal(size=(8, 2))])
REPEATED_X = np.column_stack([REPEATED_X, 2.0 * REPEATED_X[:, 1]])
REPEATED_Y = _FIXED.normal(size=8)
WIDE_X = np.column_stack([np.ones(4), _FIXED.normal(size=(4, 6))])
WIDE_Y = _FIXED.normal(size=4)
# A plain problem for the rule parts.
RULE_X, RULE_Y = _problem(_FIXED, 15, 3)
RULE_THETA = _FIXED.normal(size=3)
del _FIXED


# ---- shared part bodies -----------------------------------------------------------------------

def _require_main_values(partial, name):
    """Parts that code doing nothing could pass pay only after a right random-problem value."""
    if not any(p.passed for p in partial.parts if p.name.startswith(MAIN)):
        raise AssertionError(f"checked once `{name}` returns right values on the random "
                             "problems above")



def _no_inverse(student, name):
    calls = student.calls(name, INVERSE_CALLS)
    assert not calls, f"`{name}` {RULE_NO_INVERSE}; found " + ", ".join(calls)


def _theta(got, expected, what="theta", rtol=1e-6, atol=1e-9):
    same_array(got, expected, rtol=rtol, atol=atol, dtype_kind="f", what=what)


# ---- tests ------------------------------------------------------------------------------------

@pytest.mark.points(3)
def test_fit_linear_regression(student, reference, rng, partial):
    name = "fit_linear_regression"
    for n, d in [(20, 3), (50, 6)]:
        with partial.part(f"{MAIN} with n={n}, D={d}"):
            X, y = _problem(rng, n, d)
            _theta(student.fit_linear_regression(X, y), reference.fit_linear_regression(X, y))
    with partial.part("a square X (n = D = 6)"):
        _theta(student.fit_linear_regression(SQUARE_X, SQUARE_Y),
               reference.fit_linear_regression(SQUARE_X, SQUARE_Y), rtol=1e-5)
    with partial.part("features on very different scales (temperature-like)"):
        _theta(student.fit_linear_regression(SCALED_X, SCALED_Y),
               reference.fit_linear_regression(SCALED_X, SCALED_Y), rtol=1e-5)
    with partial.part("integer X and y"):
        _theta(student.fit_linear_regression(INT_X, INT_Y),
               reference.fit_linear_regression(INT_X, INT_Y))
    with partial.part("a single example and a single feature (n = D = 1)"):
        X, y = np.array([[2.0]]), np.array([3.0])
        _theta(student.fit_linear_regression(X, y), reference.fit_linear_regression(X, y))
    with partial.part("rank below D raises ValueError (a repeated column; D > n)"):
        _require_main_values(partial, name)
        try:
            with raises_student_error("ValueError", what=f"{name} on an X whose last column "
                                      "is twice its second"):
                student.fit_linear_regression(REPEATED_X, REPEATED_Y)
            with raises_student_error("ValueError", what=f"{name} on an X with 4 rows and 7 "
                                      "columns (D > n)"):
                student.fit_linear_regression(WIDE_X, WIDE_Y)
        except AssertionError as error:
            raise AssertionError(f"{error}. Hint: check np.linalg.matrix_rank(X) < X.shape[1] "
                                 "first and raise ValueError yourself (np.linalg's LinAlgError "
                                 "does not count)") from None
    with partial.part(f"rule: {RULE_NO_INVERSE}"):
        _require_main_values(partial, name)
        _no_inverse(student, name)
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        _theta(result_on_read_only_inputs(student, name, RULE_X, RULE_Y),
               reference.fit_linear_regression(RULE_X, RULE_Y))


@pytest.mark.points(2)
def test_mle_noise_variance(student, reference, rng, partial):
    name = "mle_noise_variance"
    for n, d in [(30, 3), (200, 5)]:
        with partial.part(f"{MAIN} with n={n}, D={d}"):
            X, y = _problem(rng, n, d, noise=1.0)
            theta = rng.normal(size=d)
            same_number(student.mle_noise_variance(X, y, theta),
                        reference.mle_noise_variance(X, y, theta), rtol=1e-7, what="sigma^2")
    with partial.part("a single example (n = 1)"):
        X, y, theta = np.array([[1.0, 2.0]]), np.array([4.0]), np.array([0.5, 0.5])
        same_number(student.mle_noise_variance(X, y, theta),
                    reference.mle_noise_variance(X, y, theta), rtol=1e-9, what="sigma^2")
    with partial.part("integer X, y and theta"):
        same_number(student.mle_noise_variance(INT_X, INT_Y, INT_THETA),
                    reference.mle_noise_variance(INT_X, INT_Y, INT_THETA), rtol=1e-9,
                    what="sigma^2")
    with partial.part("a perfect fit has variance 0"):
        _require_main_values(partial, name)
        same_number(student.mle_noise_variance(RULE_X, RULE_X @ RULE_THETA, RULE_THETA), 0.0,
                    atol=1e-12, what="sigma^2 of a perfect fit")
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        same_number(result_on_read_only_inputs(student, name, RULE_X, RULE_Y, RULE_THETA),
                    reference.mle_noise_variance(RULE_X, RULE_Y, RULE_THETA), rtol=1e-7,
                    what="sigma^2")


def _same_log_likelihood(call, student, reference, X, y, theta, sigma2, *, helper_errors_ok,
                         rtol=1e-7, atol=1e-8):
    """``call()`` (the student's log-likelihood) against the reference's, or against the same
    formula written with the student's own mle_noise_variance (the sum of squared residuals is
    n sigma^2_ML): a log-likelihood that reuses a wrong mle_noise_variance keeps its marks, the
    bug costs points in that function's test. With ``helper_errors_ok`` (only once a random
    problem passed) an exception is accepted when that helper raises the same on these inputs.
    """
    expected = reference.gaussian_log_likelihood(X, y, theta, sigma2)
    try:
        got = call()
    except StudentError as error:
        if helper_errors_ok and error.type_name != "NotImplementedError":
            try:
                student.mle_noise_variance(X, y, theta)
            except StudentError as helper_error:
                if helper_error.type_name == error.type_name:
                    return  # the reference formula on this helper would raise the same
        raise
    try:
        same_number(got, expected, rtol=rtol, atol=atol, what="the log-likelihood")
        return
    except AssertionError as failure:
        first_failure = failure
    try:
        n = len(y)
        helper = float(student.mle_noise_variance(X, y, theta))
        with_helper = -0.5 * n * np.log(2 * np.pi * sigma2) - n * helper / (2 * sigma2)
    except (StudentError, TypeError, ValueError):
        raise first_failure from None
    same_as_one_of(got, [expected, with_helper], rtol=rtol, atol=atol, what="the log-likelihood")


@pytest.mark.points(2)
def test_gaussian_log_likelihood(student, reference, rng, partial):
    name = "gaussian_log_likelihood"

    def same(X, y, theta, sigma2, **tolerances):
        main_passed = any(p.passed for p in partial.parts if p.name.startswith(MAIN))
        _same_log_likelihood(lambda: student.gaussian_log_likelihood(X, y, theta, sigma2),
                             student, reference, X, y, theta, sigma2,
                             helper_errors_ok=main_passed, **tolerances)

    for sigma2 in (0.05, 7.5):
        with partial.part(f"{MAIN}, sigma2 = {sigma2}"):
            X, y = _problem(rng, 25, 4, noise=np.sqrt(sigma2))
            same(X, y, rng.normal(size=4), sigma2)
    with partial.part("sigma2 = 1 and a single example (n = 1)"):
        same(np.array([[1.0, -1.0]]), np.array([0.5]), np.array([2.0, 1.0]), 1.0, rtol=1e-9)
    with partial.part("integer X, y, theta and sigma2"):
        same(INT_X, INT_Y, INT_THETA, 3, rtol=1e-9)
    with partial.part("a tiny variance (1e-8) and a perfect fit"):
        same(RULE_X, RULE_X @ RULE_THETA, RULE_THETA, 1e-8, atol=1e-6)
    with partial.part("sigma2 <= 0 raises ValueError"):
        _require_main_values(partial, name)
        for bad in (0.0, -1.0):
            with raises_student_error("ValueError", what=f"sigma2 = {bad}"):
                student.gaussian_log_likelihood(RULE_X, RULE_Y, RULE_THETA, bad)
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        _same_log_likelihood(
            lambda: result_on_read_only_inputs(student, name, RULE_X, RULE_Y, RULE_THETA, 0.5),
            student, reference, RULE_X, RULE_Y, RULE_THETA, 0.5, helper_errors_ok=False)


def _features(got, expected, what="the feature matrix", dtype_kind="f"):
    same_array(got, expected, rtol=1e-10, atol=1e-12, dtype_kind=dtype_kind, what=what)


@pytest.mark.points(2)
def test_polynomial_features(student, reference, rng, partial):
    name = "polynomial_features"
    for degree in (3, 9):
        with partial.part(f"{MAIN}: 11 values in [-1.5, 1.5], degree {degree}"):
            x = rng.uniform(-1.5, 1.5, size=11)
            _features(student.polynomial_features(x, degree),
                      reference.polynomial_features(x, degree))
    with partial.part("x = 0 gives the column x^0 = 1"):
        x = np.array([0.0, 2.0, -0.5])
        _features(student.polynomial_features(x, 2), reference.polynomial_features(x, 2))
    with partial.part("a single value (N = 1), degree 4"):
        x = np.array([-1.25])
        _features(student.polynomial_features(x, 4), reference.polynomial_features(x, 4))
    with partial.part("integer x (any numeric dtype is fine)"):
        x = np.array([-2, 0, 1, 3])
        _features(student.polynomial_features(x, 5), reference.polynomial_features(x, 5),
                  dtype_kind="fiu")
    with partial.part("degree 0 is a single column of ones"):
        _require_main_values(partial, name)
        x = np.array([0.5, -3.0, 0.0])
        _features(student.polynomial_features(x, 0), reference.polynomial_features(x, 0))
    with partial.part("a negative degree raises ValueError"):
        _require_main_values(partial, name)
        with raises_student_error("ValueError", what="degree = -2"):
            student.polynomial_features(np.array([1.0, 2.0]), -2)
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        x = RULE_X[:, 1]
        _features(result_on_read_only_inputs(student, name, x, 3), reference.polynomial_features(x, 3))


@pytest.mark.points(3)
def test_fit_ridge_regression(student, reference, rng, partial):
    name = "fit_ridge_regression"
    for lam in (0.5, 50.0):
        with partial.part(f"{MAIN} with n=30, D=5, lam = {lam}"):
            X, y = _problem(rng, 30, 5)
            _theta(student.fit_ridge_regression(X, y, lam),
                   reference.fit_ridge_regression(X, y, lam), what="theta_MAP")
    with partial.part("lam = 0 gives least squares"):
        _theta(student.fit_ridge_regression(SQUARE_X, SQUARE_Y, 0.0),
               reference.fit_ridge_regression(SQUARE_X, SQUARE_Y, 0.0), rtol=1e-5,
               what="theta_MAP")
    with partial.part("integer X, y and lam"):
        _theta(student.fit_ridge_regression(INT_X, INT_Y, 2),
               reference.fit_ridge_regression(INT_X, INT_Y, 2), what="theta_MAP")
    with partial.part("rank below D is fine once lam > 0 (a repeated column; D > n)"):
        _theta(student.fit_ridge_regression(REPEATED_X, REPEATED_Y, 1.0),
               reference.fit_ridge_regression(REPEATED_X, REPEATED_Y, 1.0),
               what="theta_MAP for a repeated column")
        _theta(student.fit_ridge_regression(WIDE_X, WIDE_Y, 0.3),
               reference.fit_ridge_regression(WIDE_X, WIDE_Y, 0.3),
               what="theta_MAP for D > n")
    with partial.part("a negative lam raises ValueError"):
        _require_main_values(partial, name)
        with raises_student_error("ValueError", what="lam = -1"):
            student.fit_ridge_regression(RULE_X, RULE_Y, -1.0)
    with partial.part(f"rule: {RULE_NO_INVERSE}"):
        _require_main_values(partial, name)
        _no_inverse(student, name)
    with partial.part(f"rule: {RULE_INPUTS}"):
        _require_main_values(partial, name)
        _theta(result_on_read_only_inputs(student, name, RULE_X, RULE_Y, 2.0),
               reference.fit_ridge_regression(RULE_X, RULE_Y, 2.0), what="theta_MAP")
