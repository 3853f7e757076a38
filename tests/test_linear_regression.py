"""The 02_linear_regression reference solution against independent references (numpy's lstsq,
scipy's normal log-density, scikit-learn's Ridge, numerical gradients); its self-checks
against common mistakes; its exercise stubs; its hidden suite's points and verdicts.

The reference code is the solution notebook's graded cells (``solution: true``), executed
here in a fresh namespace holding ``np``, as the grader does.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import ROOT
from helpers.reference import (
    grade_with_pytest,
    load_graded_cells,
    mutated_notebook,
    notebook_points,
    suite_points,
)
from scipy.stats import norm
from sklearn.linear_model import Ridge

from utils.checks import NotImplementedYet, SelfCheckFailed
from utils.gradcheck import eval_numerical_gradient
from utils.selfchecks import linear_regression as checks

NAME = "02_linear_regression"
NOTEBOOK = ROOT / "solutions" / NAME / f"{NAME}.ipynb"
EXERCISE = ROOT / "exercises" / NAME / f"{NAME}.ipynb"
SUITE = ROOT / "autograder" / "suites" / NAME
FUNCTIONS = ["fit_linear_regression", "mle_noise_variance", "gaussian_log_likelihood",
             "polynomial_features", "fit_ridge_regression"]


def load_cells(path=NOTEBOOK, replace: dict[str, tuple[str, str]] | None = None) -> dict:
    """The graded cells of ``path`` executed (see helpers.reference.load_graded_cells)."""
    return load_graded_cells(path, replace)


@pytest.fixture(scope="module")
def sol() -> dict:
    return load_cells()


def _problem(seed, n, d):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    return X, X @ rng.normal(size=d) + 0.3 * rng.normal(size=n)


# ---- the reference against independent references --------------------------------------------

@pytest.mark.parametrize("seed, n, d", [(0, 10, 2), (1, 50, 5), (2, 7, 7), (3, 200, 12)])
def test_least_squares_matches_numpy_lstsq(sol, seed, n, d):
    X, y = _problem(seed, n, d)
    theta = sol["fit_linear_regression"](X, y)
    assert theta.shape == (d,)
    np.testing.assert_allclose(theta, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-7, atol=1e-9)


def test_least_squares_on_the_temperature_data_recovers_the_true_parameters(sol):
    from utils.data import TEMPERATURE_THETA, make_temperature_data

    X, y = make_temperature_data(n=5000, noise_std=0.8, seed=3)
    theta = sol["fit_linear_regression"](X, y)
    assert np.allclose(theta, TEMPERATURE_THETA, atol=0.1)
    assert abs(np.sqrt(sol["mle_noise_variance"](X, y, theta)) - 0.8) < 0.03


def test_rank_deficient_design_is_refused_in_words(sol):
    X, y = _problem(4, 9, 3)
    X = np.column_stack([X, X[:, 1] - X[:, 2]])
    with pytest.raises(ValueError, match="rank 3 but 4 columns"):
        sol["fit_linear_regression"](X, y)


def test_mle_variance_is_the_mean_squared_residual_and_maximises_the_likelihood(sol):
    X, y = _problem(5, 40, 4)
    theta = np.linalg.lstsq(X, y, rcond=None)[0]
    s2 = sol["mle_noise_variance"](X, y, theta)
    assert isinstance(s2, float)
    assert np.isclose(s2, np.mean((y - X @ theta) ** 2))
    # d/dsigma of the log-likelihood vanishes at sigma_ML (numerically, in sigma).
    ll = sol["gaussian_log_likelihood"]
    sigma, h = np.sqrt(s2), 1e-6
    derivative = (ll(X, y, theta, (sigma + h) ** 2) - ll(X, y, theta, (sigma - h) ** 2)) / (2 * h)
    assert abs(derivative) < 1e-4


@pytest.mark.parametrize("sigma2", [0.01, 0.7, 12.0])
def test_log_likelihood_matches_scipy(sol, sigma2):
    X, y = _problem(6, 30, 3)
    theta = np.random.default_rng(7).normal(size=3)
    expected = np.sum(norm.logpdf(y, loc=X @ theta, scale=np.sqrt(sigma2)))
    assert np.isclose(sol["gaussian_log_likelihood"](X, y, theta, sigma2), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="must be positive"):
        sol["gaussian_log_likelihood"](X, y, theta, -sigma2)


@pytest.mark.parametrize("lam", [0.0, 1e-3, 1.0, 100.0])
def test_ridge_matches_scikit_learn_and_zeroes_the_penalised_gradient(sol, lam):
    X, y = _problem(8, 25, 6)
    theta = sol["fit_ridge_regression"](X, y, lam)
    expected = Ridge(alpha=lam, fit_intercept=False, solver="svd").fit(X, y).coef_
    np.testing.assert_allclose(theta, expected, rtol=1e-7, atol=1e-9)

    def objective(t):
        return float((y - X @ t) @ (y - X @ t) + lam * t @ t)

    gradient = eval_numerical_gradient(objective, theta.copy(), h=1e-6)
    assert np.abs(gradient).max() < 1e-5 * max(1.0, np.abs(X.T @ y).max())


def test_ridge_handles_dependent_columns_and_refuses_negative_lambda(sol):
    X, y = _problem(9, 6, 3)
    X = np.column_stack([X, X[:, 1]])
    expected = Ridge(alpha=0.5, fit_intercept=False, solver="svd").fit(X, y).coef_
    np.testing.assert_allclose(sol["fit_ridge_regression"](X, y, 0.5), expected, rtol=1e-7)
    with pytest.raises(ValueError, match="lam must be 0 or more"):
        sol["fit_ridge_regression"](X, y, -0.1)


@pytest.mark.parametrize("degree", [0, 1, 3, 8])
def test_polynomial_features_match_numpy_vander(sol, degree):
    x = np.random.default_rng(degree).uniform(-2, 2, size=11)
    x[0] = 0.0
    got = sol["polynomial_features"](x, degree)
    np.testing.assert_allclose(got, np.vander(x, degree + 1, increasing=True), rtol=1e-12)
    with pytest.raises(ValueError, match="degree must be 0 or more"):
        sol["polynomial_features"](x, -1)


def test_no_solution_uses_an_explicit_inverse(sol):
    assert checks.inverse_calls(sol["fit_linear_regression"]) == []
    assert checks.inverse_calls(sol["fit_ridge_regression"]) == []
    broken = load_cells(replace={"fit_linear_regression": (
        "np.linalg.solve(X.T @ X, X.T @ y)", "np.linalg.inv(X.T @ X) @ (X.T @ y)")})
    found = checks.inverse_calls(broken["fit_linear_regression"])
    assert len(found) == 1 and found[0].startswith("`inv` on line ")


def test_an_inverse_hidden_in_a_helper_is_found():
    broken = load_cells(replace={"fit_ridge_regression": (
        "    return np.linalg.solve(A, X.T @ y)",
        "    return _solve(A, X.T @ y)\n\n\ndef _solve(A, b):\n    return np.linalg.pinv(A) @ b")})
    found = checks.inverse_calls(broken["fit_ridge_regression"])
    assert len(found) == 1 and "`pinv`" in found[0] and "`_solve`" in found[0]


# ---- the self-checks: pass the reference, catch the usual mistakes, report stubs ------------

CHECKERS = {"fit_linear_regression": checks.check_fit_linear_regression,
            "mle_noise_variance": checks.check_mle_noise_variance,
            "gaussian_log_likelihood": checks.check_gaussian_log_likelihood,
            "polynomial_features": checks.check_polynomial_features,
            "fit_ridge_regression": checks.check_fit_ridge_regression}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_self_checks_pass_the_reference(sol, name, capsys):
    CHECKERS[name](sol[name])  # raises on any failed case
    out = capsys.readouterr().out
    assert re.search(rf"{name}: (\d+)/\1 checks passed", out), out


@pytest.mark.parametrize("name, old, new", [
    ("fit_linear_regression", "np.linalg.solve(X.T @ X, X.T @ y)",
     "np.linalg.inv(X.T @ X) @ (X.T @ y)"),
    ("fit_linear_regression", "if rank < X.shape[1]:", "if False:"),
    ("mle_noise_variance", "/ residual.shape[0]", "/ (residual.shape[0] - 1)"),
    ("gaussian_log_likelihood", "- (residual @ residual) / (2 * sigma2)",
     "- (residual @ residual) / sigma2"),
    ("gaussian_log_likelihood", "-0.5 * n * np.log", "-0.5 * np.log"),
    ("polynomial_features", "np.arange(degree + 1)", "np.arange(1, degree + 2)"),
    ("fit_ridge_regression", "lam * np.eye(X.shape[1])", "lam"),
    ("fit_ridge_regression", "A = X.T @ X + lam * np.eye(X.shape[1])",
     "A = X.T @ X + lam * np.diag([0.0] + [1.0] * (X.shape[1] - 1))"),
    # The rules: D > n refused, inputs changed in place, a rank check copied into ridge,
    # an in-place sum that fails for integer X, pinv instead of a solver.
    ("fit_linear_regression", "if rank < X.shape[1]:", "if rank < min(X.shape):"),
    ("mle_noise_variance",
     "residual = np.asarray(y, dtype=np.float64) - np.asarray(X, dtype=np.float64) @ theta",
     "residual = y\n    residual -= X @ theta"),
    ("fit_ridge_regression", "A = X.T @ X + lam * np.eye(X.shape[1])",
     "A = X.T @ X + lam * np.eye(X.shape[1])\n"
     "    if np.linalg.matrix_rank(X) < X.shape[1]:\n"
     "        raise ValueError('X has rank below D, so theta is not unique.')"),
    ("fit_ridge_regression", "X = np.asarray(X, dtype=np.float64)\n"
     "    y = np.asarray(y, dtype=np.float64)\n    A = X.T @ X + lam * np.eye(X.shape[1])",
     "A = X.T @ X\n    A += lam * np.eye(X.shape[1])"),
    ("fit_ridge_regression", "return np.linalg.solve(A, X.T @ y)",
     "return np.linalg.pinv(A) @ (X.T @ y)"),
    ("polynomial_features", "x = np.asarray(x, dtype=np.float64)", "x = np.asarray(x)\n"
     "    x *= 1"),
])
def test_self_checks_catch_common_mistakes(name, old, new, capsys):
    broken = load_cells(replace={name: (old, new)})
    with pytest.raises(SelfCheckFailed):
        CHECKERS[name](broken[name])
    assert "✗" in capsys.readouterr().out


@pytest.mark.parametrize("name", FUNCTIONS)
def test_exercise_stubs_raise_not_implemented_and_self_checks_say_so(name):
    stubs = load_cells(EXERCISE)
    with pytest.raises(NotImplementedYet):
        CHECKERS[name](stubs[name])


# ---- the hidden suite ---------------------------------------------------------------------

def test_suite_points_equal_the_notebook_points():
    assert suite_points(SUITE) == notebook_points(NOTEBOOK) == 12


def _grade(submission) -> dict[str, str]:
    return grade_with_pytest(SUITE, submission)


def _mutated_notebook(tmp_path, grade_id, old, new):
    return mutated_notebook(NOTEBOOK, tmp_path, grade_id, old, new)


@pytest.mark.slow
def test_hidden_suite_passes_the_reference_and_fails_the_stub():
    reference = _grade(NOTEBOOK)
    assert set(reference.values()) == {"PASSED"} and len(reference) == 5
    stub = _grade(EXERCISE)
    assert set(stub.values()) == {"FAILED"} and len(stub) == 5


@pytest.mark.slow
@pytest.mark.parametrize("grade_id, old, new, failing", [
    ("fit_linear_regression", "np.linalg.solve(X.T @ X, X.T @ y)",
     "np.linalg.inv(X.T @ X) @ (X.T @ y)", "test_fit_linear_regression"),
    ("mle_noise_variance", "/ residual.shape[0]", "/ (residual.shape[0] - 1)",
     "test_mle_noise_variance"),
    ("gaussian_log_likelihood", "if not sigma2 > 0:", "if False:",
     "test_gaussian_log_likelihood"),
    ("polynomial_features", "np.arange(degree + 1)", "np.arange(1, degree + 2)",
     "test_polynomial_features"),
    ("fit_ridge_regression", "lam * np.eye(X.shape[1])", "lam", "test_fit_ridge_regression"),
])
def test_hidden_suite_fails_exactly_the_broken_part(tmp_path, grade_id, old, new, failing):
    outcomes = _grade(_mutated_notebook(tmp_path, grade_id, old, new))
    failed = {name for name, outcome in outcomes.items() if outcome == "FAILED"}
    assert failed == {failing}
