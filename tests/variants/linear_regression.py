"""Realistic 02_linear_regression mistakes and the exact score each must get (see
tests/variants/__init__.py).

Points per test (parts): fit_linear_regression 3 (9 parts: 2 random problems, square X,
scaled features, integer inputs, n = D = 1, ValueError for rank below D, no inverse, inputs
unchanged), mle_noise_variance 2 (6: 2 random, n = 1, integers, perfect fit, inputs),
gaussian_log_likelihood 2 (7: 2 random, n = 1, integers, tiny variance, ValueError, inputs),
polynomial_features 2 (8: 2 random, x = 0, N = 1, integer x, degree 0, ValueError, inputs),
fit_ridge_regression 3 (8: 2 random, lam = 0, integers, rank below D, ValueError, no inverse,
inputs). Parts that code doing nothing could pass (ValueError, rules, an answer of 0 or ones)
pay only once a random problem is right, so a function wrong on every input scores 0.

Each variant is the solution's cell with one mistake written in (``_edit`` checks that the
text it replaces is there, so a change to the solution breaks loudly here).
"""

from __future__ import annotations

from variants import Variant, edited_cell, part_score

ASSIGNMENT = "02_linear_regression"


def _edit(grade_id: str, *pairs: tuple[str, str]) -> dict[str, str]:
    """{grade_id: the solution cell with each (old, new) replaced once}."""
    return {grade_id: edited_cell(ASSIGNMENT, grade_id, *pairs)}




FIT, MLE, LOGLIK, POLY, RIDGE = 9, 6, 7, 8, 8

_SOLVE = "return np.linalg.solve(X.T @ X, X.T @ y)"
_RANK_CHECK = """    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ValueError(f"X has rank {rank} but {X.shape[1]} columns: some columns are linear "
                         "combinations of others, so the least-squares solution is not unique.")
"""
_RESIDUAL = "residual = np.asarray(y, dtype=np.float64) - np.asarray(X, dtype=np.float64) @ theta"
_RIDGE_A = "A = X.T @ X + lam * np.eye(X.shape[1])"

VARIANTS: list[Variant] = [
    Variant(
        name="fit_with_explicit_inverse",
        description="fit_linear_regression computes inv(X^T X) @ X^T y, which the text forbids; "
                    "the values are right, only the no-inverse part fails",
        replace=_edit("fit_linear_regression",
                      (_SOLVE, "return np.linalg.inv(X.T @ X) @ (X.T @ y)")),
        scores={"test_fit_linear_regression": part_score(3, FIT, 1)},
        selfcheck_fails=("test_fit_linear_regression",),
    ),
    Variant(
        name="fit_with_pinv_and_no_rank_check",
        description="fit_linear_regression returns pinv(X) @ y and drops the rank check: right "
                    "values for full-rank X, no ValueError for rank below D, and pinv is an "
                    "explicit inverse",
        replace=_edit("fit_linear_regression", (_RANK_CHECK, ""),
                      (_SOLVE, "return np.linalg.pinv(X) @ y")),
        scores={"test_fit_linear_regression": part_score(3, FIT, 2)},
        selfcheck_fails=("test_fit_linear_regression",),
    ),
    Variant(
        name="fit_relies_on_solve_for_singular_x",
        description="no rank check: np.linalg.solve raises LinAlgError (or returns garbage) for "
                    "rank below D instead of the documented ValueError",
        replace=_edit("fit_linear_regression", (_RANK_CHECK, "")),
        scores={"test_fit_linear_regression": part_score(3, FIT, 1)},
        selfcheck_fails=("test_fit_linear_regression",),
    ),
    Variant(
        name="mle_divides_by_n_minus_1",
        description="sigma^2 divided by n - 1 (the unbiased estimate of a mean-known variance) "
                    "instead of n: wrong on every input, so the whole test is lost",
        replace=_edit("mle_noise_variance", ("/ residual.shape[0]", "/ (residual.shape[0] - 1)")),
        scores={"test_mle_noise_variance": 0.0},
    ),
    Variant(
        name="mle_residual_in_place",
        description="the residual is computed in place, y -= X @ theta: right values, but the "
                    "caller's y is overwritten",
        replace=_edit("mle_noise_variance",
                      (_RESIDUAL, "residual = y\n    residual -= X @ theta")),
        scores={"test_mle_noise_variance": part_score(2, MLE, 1)},
        selfcheck_fails=("test_mle_noise_variance",),
    ),
    Variant(
        name="loglik_forgets_n",
        description="the normalising term -(1/2) log(2 pi sigma^2) is not multiplied by n: "
                    "right only for a single example",
        replace=_edit("gaussian_log_likelihood", ("-0.5 * n * np.log", "-0.5 * np.log")),
        scores={"test_gaussian_log_likelihood": part_score(2, LOGLIK, 6)},
    ),
    Variant(
        name="loglik_accepts_zero_variance",
        description="no check of sigma2: sigma2 <= 0 gives nan or inf instead of a ValueError",
        replace=_edit("gaussian_log_likelihood",
                      ("    if not sigma2 > 0:\n        raise ValueError(f\"sigma2 is a variance "
                       "and must be positive, got {sigma2}.\")\n", "")),
        scores={"test_gaussian_log_likelihood": part_score(2, LOGLIK, 1)},
    ),
    Variant(
        name="loglik_reuses_a_wrong_mle",
        description="gaussian_log_likelihood is written with the student's mle_noise_variance "
                    "(r^T r = n sigma^2_ML), which divides by n - 1: the log-likelihood is "
                    "right given its helper and keeps full marks; only the helper loses",
        replace={
            **_edit("mle_noise_variance", ("/ residual.shape[0]", "/ (residual.shape[0] - 1)")),
            **_edit("gaussian_log_likelihood",
                    ("    residual = np.asarray(y, dtype=np.float64) - np.asarray(X, "
                     "dtype=np.float64) @ theta\n    n = residual.shape[0]\n",
                     "    n = len(y)\n"),
                    ("(residual @ residual) / (2 * sigma2)",
                     "n * mle_noise_variance(X, y, theta) / (2 * sigma2)")),
        },
        scores={"test_mle_noise_variance": 0.0},
    ),
    Variant(
        name="poly_decreasing_powers",
        description="np.vander(x, degree + 1) puts the highest power first (its default): every "
                    "feature matrix has its columns reversed",
        replace=_edit("polynomial_features",
                      ("return x[:, None] ** np.arange(degree + 1)",
                       "return np.vander(x, degree + 1)")),
        scores={"test_polynomial_features": 0.0},
    ),
    Variant(
        name="poly_accepts_negative_degree",
        description="no check of the degree: degree = -2 returns an empty matrix instead of a "
                    "ValueError",
        replace=_edit("polynomial_features",
                      ("    if degree < 0:\n        raise ValueError(f\"degree must be 0 or more, "
                       "got {degree}.\")\n", "")),
        scores={"test_polynomial_features": part_score(2, POLY, 1)},
    ),
    Variant(
        name="ridge_copies_the_rank_check",
        description="fit_ridge_regression refuses X of rank below D like fit_linear_regression, "
                    "which the text says not to do: D > n and repeated columns fail",
        replace=_edit("fit_ridge_regression",
                      (_RIDGE_A, _RIDGE_A + "\n    if np.linalg.matrix_rank(X) < X.shape[1]:\n"
                       "        raise ValueError(\"X has rank below D, so theta is not "
                       "unique.\")")),
        scores={"test_fit_ridge_regression": part_score(3, RIDGE, 1)},
        selfcheck_fails=("test_fit_ridge_regression",),
    ),
    Variant(
        name="ridge_adds_lambda_in_place_to_an_integer_matrix",
        description="A = X.T @ X; A += lam * I without converting X to float: integer X "
                    "raises a casting error (UFuncTypeError)",
        replace=_edit("fit_ridge_regression",
                      ("    X = np.asarray(X, dtype=np.float64)\n    y = np.asarray(y, "
                       "dtype=np.float64)\n    " + _RIDGE_A,
                       "    A = X.T @ X\n    A += lam * np.eye(X.shape[1])")),
        scores={"test_fit_ridge_regression": part_score(3, RIDGE, 1)},
        selfcheck_fails=("test_fit_ridge_regression",),
    ),
    Variant(
        name="ridge_leaves_the_bias_unpenalised",
        description="the bias coefficient is not penalised (diag(0, 1, ..., 1)), unlike the "
                    "documented MAP estimate: right only for lam = 0",
        replace=_edit("fit_ridge_regression",
                      (_RIDGE_A, "A = X.T @ X + lam * np.diag([0.0] + [1.0] * "
                                 "(X.shape[1] - 1))")),
        scores={"test_fit_ridge_regression": part_score(3, RIDGE, 7)},
    ),
    Variant(
        name="ridge_with_explicit_inverse",
        description="theta = inv(X^T X + lam I) @ X^T y: right values, but the text forbids "
                    "an explicit inverse",
        replace=_edit("fit_ridge_regression",
                      ("return np.linalg.solve(A, X.T @ y)", "return np.linalg.inv(A) @ X.T @ y")),
        scores={"test_fit_ridge_regression": part_score(3, RIDGE, 1)},
        selfcheck_fails=("test_fit_ridge_regression",),
    ),
]
