"""utils.lecture_regression: the pure functions of lecture 03 and its widgets' update functions.

Expected values are worked by hand or computed independently (numpy's polyfit, scikit-learn's
Ridge and Lasso, scipy's normal density and softmax, numerical derivatives). Widgets are
tested without a browser: ``update(**values)`` is called and the artists are inspected.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from scipy.special import log_softmax, softmax
from scipy.stats import norm
from sklearn.linear_model import Lasso, Ridge

from utils import lecture_regression as lr
from utils.widgets import LiveFigure, interactive_view

matplotlib.use("agg")


@pytest.fixture(scope="module")
def curve():
    x_train, y_train = lr.make_curve_data(15, seed=1)
    x_val, y_val = lr.make_curve_data(200, seed=2)
    return x_train, y_train, x_val, y_val


# ---- pure functions -------------------------------------------------------------------------

def test_vandermonde_columns_are_powers_and_bad_degrees_are_explained():
    np.testing.assert_array_equal(lr.vandermonde(np.array([2.0, -1.0, 0.0]), 2),
                                  [[1, 2, 4], [1, -1, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="degree must be 0 or more"):
        lr.vandermonde(np.ones(2), -1)


@pytest.mark.parametrize("degree", [0, 2, 5])
def test_least_squares_polynomials_match_numpy_polyfit(curve, degree):
    x, y, _, _ = curve
    theta = lr.lstsq_fit(lr.vandermonde(x, degree), y)
    np.testing.assert_allclose(theta[::-1], np.polyfit(x, y, degree), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.7, 30.0])
def test_ridge_on_the_augmented_system_matches_scikit_learn(curve, lam):
    x, y, _, _ = curve
    Phi = lr.vandermonde(x, 6)
    expected = Ridge(alpha=lam, fit_intercept=False, solver="svd").fit(Phi, y).coef_
    np.testing.assert_allclose(lr.ridge_lstsq_fit(Phi, y, lam), expected, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="lam must be 0 or more"):
        lr.ridge_lstsq_fit(Phi, y, -1.0)


def test_capacity_curves_training_error_never_rises_and_validation_turns_up(curve):
    train, val = lr.capacity_curves(*curve, degrees=range(13))
    assert np.all(np.diff(train) <= 1e-12)
    best = int(np.argmin(val))
    assert 2 <= best <= 8 and val[12] > 10 * val[best]


def test_log_likelihood_matches_scipy_and_its_derivative_is_the_corrected_one():
    rng = np.random.default_rng(0)
    residual = rng.normal(scale=0.7, size=50)
    rss, n = float(residual @ residual), 50
    for sigma in (0.3, 0.7, 2.0):
        assert np.isclose(lr.log_likelihood(rss, n, sigma),
                          np.sum(norm.logpdf(residual, scale=sigma)), rtol=1e-12)
        h = 1e-6
        numeric = (lr.log_likelihood(rss, n, sigma + h) - lr.log_likelihood(rss, n, sigma - h)) / (2 * h)
        assert np.isclose(lr.dlog_likelihood_dsigma(rss, n, sigma), numeric, rtol=1e-6)
        assert not np.isclose(lr.slide_dlog_likelihood_dsigma(rss, n, sigma), numeric, rtol=1e-2)
    sigma_ml = np.sqrt(rss / n)
    assert abs(lr.dlog_likelihood_dsigma(rss, n, sigma_ml)) < 1e-9
    assert all(lr.slide_dlog_likelihood_dsigma(rss, n, s) < 0 for s in (0.1, sigma_ml, 10.0))


@pytest.mark.parametrize("sigma2, tau2", [(0.0625, 1.0), (0.25, 0.01), (1.0, 100.0)])
def test_posterior_mean_is_ridge_with_lambda_sigma2_over_tau2(curve, sigma2, tau2):
    x, y, _, _ = curve
    Phi = lr.vandermonde(x, 9)
    mean, cov = lr.gaussian_posterior(Phi, y, sigma2, tau2)
    lam = lr.lambda_from_variances(sigma2, tau2)
    assert lam == sigma2 / tau2
    np.testing.assert_allclose(mean, lr.ridge_lstsq_fit(Phi, y, lam), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    with pytest.raises(ValueError, match="variances must be positive"):
        lr.gaussian_posterior(Phi, y, 0.0, tau2)


def _orthonormal_problem(seed=0, n=40, d=6):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, d)))
    y = Q @ np.array([3.0, -2.0, 1.0, 0.4, -0.2, 0.05]) + 0.01 * rng.normal(size=n)
    return Q, y


@pytest.mark.parametrize("lam", [0.1, 1.0, 3.0])
def test_l2_and_l1_closed_forms_match_scikit_learn_on_an_orthonormal_design(lam):
    Q, y = _orthonormal_problem()
    b = Q.T @ y
    ridge = Ridge(alpha=lam, fit_intercept=False).fit(Q, y).coef_
    np.testing.assert_allclose(lr.penalised_orthonormal(b, lam, "l2"), ridge, rtol=1e-8)
    # Lasso minimises |y - Q t|^2 / (2 n) + alpha |t|_1: our lam |t|_1 is alpha = lam / (2 n).
    lasso = Lasso(alpha=lam / (2 * len(y)), fit_intercept=False, tol=1e-12,
                  max_iter=100_000).fit(Q, y).coef_
    np.testing.assert_allclose(lr.penalised_orthonormal(b, lam, "l1"), lasso, atol=1e-8)


def test_l1_gives_exact_zeros_l2_none_and_maxnorm_caps_the_length():
    b = np.array([3.0, -2.0, 0.4, -0.2])
    assert np.sum(lr.penalised_orthonormal(b, 1.0, "l1") == 0) == 2
    assert np.all(lr.penalised_orthonormal(b, 1.0, "l2") != 0)
    capped = lr.penalised_orthonormal(b, 0.5, "maxnorm")
    assert np.isclose(np.linalg.norm(capped), 2.0)
    np.testing.assert_allclose(capped / np.linalg.norm(capped), b / np.linalg.norm(b))
    np.testing.assert_array_equal(lr.penalised_orthonormal(b, 0.0, "maxnorm"), b)
    with pytest.raises(ValueError, match="unknown penalty 'l3'"):
        lr.penalised_orthonormal(b, 1.0, "l3")


def test_losses_of_one_score_vector():
    s = np.array([3.2, 5.1, -1.7])
    # Hand-worked hinge: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0.
    np.testing.assert_allclose(lr.hinge_terms(s, 0), [0.0, 2.9, 0.0], atol=1e-12)
    np.testing.assert_allclose(lr.softmax_probabilities(s), softmax(s), rtol=1e-12)
    for label in range(3):
        assert np.isclose(lr.cross_entropy_of_scores(s, label), -log_softmax(s)[label])
    huge = np.array([1e4, -1e4, 0.0])
    assert np.isfinite(lr.cross_entropy_of_scores(huge, 1))
    assert np.isclose(lr.cross_entropy_of_scores(huge, 1), 2e4)


# ---- widgets: update functions without a browser --------------------------------------------

def test_capacity_view_draws_the_fit_and_moves_the_marker(curve):
    view = lr.capacity_view(*curve, max_degree=12)
    x, y, _, _ = curve
    view.update(degree=4)
    curve_line = view.artists["curve"]
    x_plot, y_plot = curve_line.get_data()
    np.testing.assert_allclose(y_plot, np.polyval(np.polyfit(x, y, 4), x_plot), atol=1e-6)
    assert list(view.artists["marker"].get_xdata()) == [4, 4]
    assert "degree 4" in curve_line.axes.get_title()
    for ax in view.live.axes:
        assert ax.get_xlabel() and ax.get_ylabel()


def test_shrinkage_view_bars_follow_the_closed_forms():
    b = np.array([3.0, -2.2, 1.4, 0.8, -0.5, 0.3])
    view = lr.shrinkage_view(b)
    view.update(log10_lam=0.0)
    for penalty, bars in view.artists["bars"].items():
        heights = [rect.get_height() for rect in bars]
        np.testing.assert_allclose(heights, lr.penalised_orthonormal(b, 1.0, penalty))
    assert "L1 sets 2 of 6 coefficients exactly to 0" in view.artists["title"].get_text()


def test_map_view_shows_the_posterior_mean_and_lambda(curve):
    x, y, _, _ = curve
    view = lr.map_view(x, y, degree=9)
    view.update(sigma=0.5, log10_tau=-1.0)
    expected = lr.ridge_lstsq_fit(lr.vandermonde(x, 9), y, 0.25 / 0.01)
    np.testing.assert_allclose([r.get_height() for r in view.artists["bars"]], expected,
                               rtol=1e-6, atol=1e-9)
    assert "λ = σ²/τ² = 25" in view.live.axes[0].get_title()
    view.update(sigma=0.5, log10_tau=1.0)
    assert len(view.live.axes[0].collections) == 2  # the scatter and one band, never more
    mean, cov = lr.gaussian_posterior(lr.vandermonde(x, 9), y, 0.25, 100.0)
    x_plot = view.artists["curve"].get_xdata()
    np.testing.assert_allclose(view.artists["curve"].get_ydata(),
                               lr.vandermonde(x_plot, 9) @ mean, rtol=1e-6, atol=1e-9)


def test_loss_view_reports_both_losses():
    view = lr.loss_view(("cat", "car", "frog"))
    view.update(label=0, s_cat=3.2, s_car=5.1, s_frog=-1.7)
    np.testing.assert_allclose([r.get_height() for r in view.artists["hinge"]], [0, 2.9, 0],
                               atol=1e-12)
    np.testing.assert_allclose([r.get_height() for r in view.artists["probabilities"]],
                               softmax([3.2, 5.1, -1.7]))
    ax_hinge, ax_soft = view.live.axes
    assert ax_hinge.get_title() == "hinge loss = 2.900"
    assert ax_soft.get_title().endswith(f"= {-log_softmax([3.2, 5.1, -1.7])[0]:.3f}")


def test_views_wire_into_interactive_view(curve):
    x, y, x_val, y_val = curve
    for view in (lr.capacity_view(x, y, x_val, y_val), lr.shrinkage_view(np.ones(3)),
                 lr.map_view(x, y), lr.loss_view()):
        assert isinstance(view.live, LiveFigure)
        box = interactive_view(view.controls, view.update, view.live)
        assert view.live.output in box.children
        first = next(iter(view.controls.values()))
        first.value = first.value  # the callback path runs without error


def test_redraws_blit_the_changing_artists_over_one_cached_background(curve):
    view = lr.capacity_view(*curve)
    pngs = []
    for degree in (1, 5, 9):
        view.update(degree=degree)
        pngs.append(view.live.render_png())
    assert all(png.startswith(b"\x89PNG") for png in pngs)
    assert len(set(pngs)) == 3, "each degree must give a different picture"
    assert view.live.full_draws == 1
    # An axis-range change outside the animated artists forces exactly one full draw.
    x, y, _, _ = curve
    map_widget = lr.map_view(x, y)
    map_widget.update(sigma=0.25, log10_tau=-2.0)
    map_widget.live.render_png()
    map_widget.update(sigma=0.25, log10_tau=2.0)
    map_widget.live.render_png()
    map_widget.update(sigma=0.25, log10_tau=2.0)
    map_widget.live.render_png()
    assert map_widget.live.full_draws == 2


# ---- the gradients of the two losses (lecture 03, section 8) --------------------------------

def _toy_classification(seed, n=8, d=5, c=4, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    labels = rng.integers(0, c, size=n)
    return X, labels, scale * rng.normal(size=(d, c))


def test_score_gradients_by_hand():
    s = np.array([3.2, 5.1, -1.7])
    # Hinge, correct class 0: only the car's term (5.1 - 3.2 + 1 > 0) is active.
    np.testing.assert_array_equal(lr.hinge_score_gradient(s, 0), [-1.0, 1.0, 0.0])
    # Correct class 1 (the largest score by 1.9): no term is active, nothing to push.
    np.testing.assert_array_equal(lr.hinge_score_gradient(s, 1), [0.0, 0.0, 0.0])
    # A tie at the kink (margin exactly 0) counts as inactive, as in exercise 3.
    np.testing.assert_array_equal(lr.hinge_score_gradient(np.array([1.0, 0.0]), 0), [0.0, 0.0])
    expected = softmax(s) - np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(lr.cross_entropy_score_gradient(s, 0), expected, rtol=1e-12)
    assert abs(lr.cross_entropy_score_gradient(s, 2).sum()) < 1e-12  # probabilities sum to 1


@pytest.mark.parametrize("seed", [4, 11, 12])
@pytest.mark.parametrize("loss", ["softmax", "hinge"])
def test_derived_loss_gradients_match_numerical_gradients(seed, loss):
    from utils.gradcheck import eval_numerical_gradient, rel_error
    X, labels, W = _toy_classification(seed)
    objective = {"softmax": lr.linear_softmax_objective, "hinge": lr.linear_hinge_objective}[loss]
    value, derived = objective(W, X, labels, 0.1)
    numeric = eval_numerical_gradient(lambda w: objective(w, X, labels, 0.1)[0], W.copy())
    assert rel_error(derived, numeric) < 1e-7
    np.testing.assert_allclose(lr.per_example_weight_gradient(W, X, labels, 0.1, loss), derived,
                               rtol=1e-10, atol=1e-12)
    scores = X @ W
    if loss == "softmax":  # scipy's log_softmax, an independent computation of the value
        expected = -np.mean(log_softmax(scores, axis=1)[np.arange(len(labels)), labels])
    else:
        expected = np.mean([lr.hinge_terms(s, label).sum() for s, label in zip(scores, labels, strict=True)])
    assert value == pytest.approx(expected + 0.1 * np.sum(W ** 2), rel=1e-12)


def test_what_lecture_03_prints_for_its_gradient_check():
    """Section 8 prints d L_0 / d s_0 for seed 4 (a hinge gradient with an inactive term, so the
    reader sees a 0) and relative errors below 1e-7; two examples of that batch have a zero
    hinge row."""
    X, labels, W = _toy_classification(4)
    np.testing.assert_array_equal(lr.hinge_score_gradient(X[0] @ W, labels[0]), [0, 1, -2, 1])
    rows = [lr.hinge_score_gradient(x @ W, label) for x, label in zip(X, labels, strict=True)]
    assert sum(not row.any() for row in rows) == 2
    assert all(row.sum() == 0 for row in rows)  # +1 per active term, minus their count


def test_softmax_objective_is_stable_and_labels_are_checked():
    W = np.array([[1e4, -1e4, 0.0]])
    value, grad = lr.linear_softmax_objective(W, np.ones((1, 1)), np.array([1]), 0.0)
    assert value == pytest.approx(2e4) and np.all(np.isfinite(grad))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        lr.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="choose 'softmax' or 'hinge'"):
        lr.per_example_weight_gradient(W, np.ones((1, 1)), np.array([1]), 0.0, "svm")


# ---- dropout (lecture 03, section 5) --------------------------------------------------------

def test_dropout_training_mode_keeps_and_scales_test_mode_is_the_identity():
    h = np.array([0.5, 2.0, 0.0, 1.5, 3.0, 1.0])
    np.testing.assert_array_equal(lr.apply_dropout(h, 0.5, training=False), h)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = lr.apply_dropout(h, 0.5, training=True, rng=rng)
        assert np.all((out == 0) | np.isclose(out, 2 * h))  # dropped, or kept and scaled by 1/p
    mask = lr.dropout_mask((100_000,), 0.8, np.random.default_rng(1))
    assert set(np.unique(mask)) == {0.0, 1.25}
    assert abs(np.mean(mask > 0) - 0.8) < 0.01 and abs(mask.mean() - 1.0) < 0.01
    with pytest.raises(ValueError, match="pass rng"):
        lr.apply_dropout(h, 0.5, training=True)
    with pytest.raises(ValueError, match="probability of keeping"):
        lr.dropout_mask((3,), 0.0, np.random.default_rng(0))


def test_what_lecture_03_prints_for_dropout():
    """The lecture's demo: the mean of 10,000 training passes is within 0.05 of the test-mode
    output (it prints about 0.013), and averaging more passes gets closer."""
    h = np.array([0.5, 2.0, 0.0, 1.5, 3.0, 1.0])
    gap = np.abs(lr.dropout_average(h, 0.5, passes=10_000, seed=1) - h).max()
    assert 0 < gap < 0.05
    assert np.abs(lr.dropout_average(h, 0.5, passes=400_000, seed=1) - h).max() < gap


def test_loss_view_marks_the_correct_class_by_hatching_too():
    view = lr.loss_view(("cat", "car", "frog"))
    view.update(label=2, s_cat=1.0, s_car=0.0, s_frog=-1.0)
    hatches = [rect.get_hatch() for rect in view.artists["probabilities"]]
    assert hatches == ["", "", "//"]
