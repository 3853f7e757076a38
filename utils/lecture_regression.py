"""Maths and widget views for the lecture 03_linear_regression_ml_map.

The first half is pure maths (numpy only, no plotting); the second half builds thin widget
views on ``utils.widgets.LiveFigure``: each ``*_view`` returns a ``View`` whose ``update``
only calls the maths and moves artists, so tests can call it without a browser.

This module is lecture support, not exercise code: fits use ``np.linalg.lstsq`` on
(augmented) design matrices; the loss gradients are written with one-hot and indicator
matrices, the way section 8 of the lecture derives them (exercise 3 asks for its own code).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from utils.widgets import LiveFigure, View

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def make_curve_data(n: int, noise_std: float = 0.25, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """n noisy samples of sin(pi x), x uniform on [-1, 1]. Returns x (n,) and y (n,)."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}.")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    return x, np.sin(np.pi * x) + rng.normal(scale=noise_std, size=n)


# --------------------------------------------------------------------------------------------
# Least squares, capacity, ridge and the Gaussian posterior
# --------------------------------------------------------------------------------------------


def vandermonde(x: np.ndarray, degree: int) -> np.ndarray:
    """Design matrix (N, degree + 1) with columns x^0 .. x^degree of a 1-D input x (N,)."""
    if degree < 0:
        raise ValueError(f"degree must be 0 or more, got {degree}.")
    return np.vander(np.asarray(x, dtype=np.float64), degree + 1, increasing=True)


def lstsq_fit(Phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares parameters (D,) for a design matrix Phi (N, D) and targets y (N,)."""
    return np.linalg.lstsq(Phi, y, rcond=None)[0]


def ridge_lstsq_fit(Phi: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge parameters (D,): least squares on the augmented system [Phi; sqrt(lam) I] theta = [y; 0].

    Minimises |y - Phi theta|^2 + lam |theta|^2 (every coefficient penalised); lam >= 0.
    """
    if lam < 0:
        raise ValueError(f"lam must be 0 or more, got {lam}.")
    d = Phi.shape[1]
    A = np.vstack([Phi, np.sqrt(lam) * np.eye(d)])
    b = np.concatenate([y, np.zeros(d)])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def mean_squared_error(Phi: np.ndarray, y: np.ndarray, theta: np.ndarray) -> float:
    """Mean of (y - Phi theta)^2 (units of y squared)."""
    return float(np.mean((y - Phi @ theta) ** 2))


def capacity_curves(x_train, y_train, x_val, y_val, degrees) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation MSE of least-squares polynomials of each degree: two (K,) arrays."""
    train, val = [], []
    for degree in degrees:
        theta = lstsq_fit(vandermonde(x_train, degree), y_train)
        train.append(mean_squared_error(vandermonde(x_train, degree), y_train, theta))
        val.append(mean_squared_error(vandermonde(x_val, degree), y_val, theta))
    return np.array(train), np.array(val)


def log_likelihood(rss: float, n: int, sigma: float) -> float:
    """Gaussian log-likelihood -(n/2) log(2 pi sigma^2) - rss / (2 sigma^2) as a function of sigma.

    rss is the residual sum of squares (y - X theta)^T (y - X theta); sigma > 0.
    """
    return float(-0.5 * n * np.log(2 * np.pi * sigma ** 2) - rss / (2 * sigma ** 2))


def dlog_likelihood_dsigma(rss: float, n: int, sigma: float) -> float:
    """The correct derivative of ``log_likelihood`` in sigma: -n/sigma + rss/sigma^3."""
    return float(-n / sigma + rss / sigma ** 3)


def slide_dlog_likelihood_dsigma(rss: float, n: int, sigma: float) -> float:
    """The slide's (wrong) derivative -n/sigma - rss/sigma^3, kept to show the erratum."""
    return float(-n / sigma - rss / sigma ** 3)


def gaussian_posterior(Phi: np.ndarray, y: np.ndarray, sigma2: float, tau2: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Posterior N(mean, cov) of theta for y = Phi theta + N(0, sigma2), prior N(0, tau2 I).

    Returns mean (D,) and covariance (D, D): precision = Phi^T Phi / sigma2 + I / tau2,
    mean = cov Phi^T y / sigma2. The mean is the MAP estimate (a Gaussian's mode is its mean).
    """
    if sigma2 <= 0 or tau2 <= 0:
        raise ValueError(f"variances must be positive, got sigma2={sigma2}, tau2={tau2}.")
    d = Phi.shape[1]
    precision = Phi.T @ Phi / sigma2 + np.eye(d) / tau2
    cov = np.linalg.solve(precision, np.eye(d))
    return cov @ (Phi.T @ y) / sigma2, cov


def lambda_from_variances(sigma2: float, tau2: float) -> float:
    """The ridge weight lambda = sigma^2 / tau^2 that makes ridge regression the MAP estimate."""
    return sigma2 / tau2


# --------------------------------------------------------------------------------------------
# Regularizers with an orthonormal design: closed forms that show shrinkage versus sparsity
# --------------------------------------------------------------------------------------------


def penalised_orthonormal(b: np.ndarray, lam: float, penalty: str) -> np.ndarray:
    """Minimiser of |y - X theta|^2 + lam R(theta) when X^T X = I, given b = X^T y (D,).

    - "l2": R = |theta|_2^2, theta = b / (1 + lam): every coefficient shrinks by one factor.
    - "l1": R = |theta|_1, theta = sign(b) max(|b| - lam/2, 0): soft thresholding, small
      coefficients become exactly 0 (sparsity).
    - "maxnorm": the constraint |theta|_2 <= 1/lam (lam > 0): b projected onto that ball.
    """
    b = np.asarray(b, dtype=np.float64)
    if lam < 0:
        raise ValueError(f"lam must be 0 or more, got {lam}.")
    if penalty == "l2":
        return b / (1.0 + lam)
    if penalty == "l1":
        return np.sign(b) * np.maximum(np.abs(b) - lam / 2.0, 0.0)
    if penalty == "maxnorm":
        radius = np.inf if lam == 0 else 1.0 / lam
        norm = np.linalg.norm(b)
        return b if norm <= radius else b * (radius / norm)
    raise ValueError(f"unknown penalty {penalty!r}: choose 'l2', 'l1' or 'maxnorm'.")


# --------------------------------------------------------------------------------------------
# Losses of one score vector (the loss cheat sheet)
# --------------------------------------------------------------------------------------------


def softmax_probabilities(scores: np.ndarray) -> np.ndarray:
    """Softmax of a score vector (C,), computed stably: exp(s - max s) / sum exp(s - max s)."""
    z = np.asarray(scores, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def cross_entropy_of_scores(scores: np.ndarray, label: int) -> float:
    """Softmax loss of one example: -log softmax(scores)[label] = logsumexp(s) - s_label."""
    z = np.asarray(scores, dtype=np.float64)
    m = z.max()
    return float(m + np.log(np.sum(np.exp(z - m))) - z[label])


def hinge_terms(scores: np.ndarray, label: int, margin: float = 1.0) -> np.ndarray:
    """Per-class hinge terms max(0, s_j - s_label + margin) (C,), with the label's own term 0."""
    z = np.asarray(scores, dtype=np.float64)
    terms = np.maximum(0.0, z - z[label] + margin)
    terms[label] = 0.0
    return terms


def cross_entropy_score_gradient(scores: np.ndarray, label: int) -> np.ndarray:
    """d L_i / d s of the softmax loss of one example: softmax(s) - e_label, shape (C,)."""
    gradient = softmax_probabilities(scores)
    gradient[label] -= 1.0
    return gradient


def hinge_score_gradient(scores: np.ndarray, label: int, margin: float = 1.0) -> np.ndarray:
    """d L_i / d s of the multiclass hinge loss of one example, shape (C,).

    Entry j != label is 1 when its term is active (s_j - s_label + margin > 0, a tie at 0
    counts as inactive); the entry of the label is minus the number of active terms.
    """
    active = (hinge_terms(scores, label, margin) > 0).astype(np.float64)
    active[label] = -active.sum()
    return active


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, C) matrix Y with Y[i, labels[i]] = 1 and 0 elsewhere (labels in 0..C-1)."""
    labels = np.asarray(labels)
    if labels.size and not 0 <= labels.min() <= labels.max() < num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got values from "
                         f"{labels.min()} to {labels.max()}.")
    return (labels[:, None] == np.arange(num_classes)[None, :]).astype(np.float64)


def linear_softmax_objective(W: np.ndarray, X: np.ndarray, labels: np.ndarray, lam: float
                             ) -> tuple[float, np.ndarray]:
    """Mean softmax loss of the linear scores S = X W plus lam * |W|^2, and its gradient.

    Inputs: W (D, C), X (N, D), labels (N,) in 0..C-1, lam >= 0.
    Returns (value, gradient (D, C)) with gradient = X^T (P - Y) / N + 2 lam W, where P holds
    the softmax probabilities row by row and Y = one_hot(labels). Stable for huge scores.
    """
    S = X @ W
    log_p = S - S.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    Y = one_hot(labels, W.shape[1])
    count = X.shape[0]
    value = -float(np.sum(Y * log_p)) / count + lam * float(np.sum(W ** 2))
    return value, X.T @ (np.exp(log_p) - Y) / count + 2.0 * lam * W


def linear_hinge_objective(W: np.ndarray, X: np.ndarray, labels: np.ndarray, lam: float,
                           margin: float = 1.0) -> tuple[float, np.ndarray]:
    """Mean multiclass hinge loss of S = X W plus lam * |W|^2, and its gradient.

    Inputs: W (D, C), X (N, D), labels (N,) in 0..C-1, lam >= 0.
    Returns (value, gradient (D, C)) with gradient = X^T G / N + 2 lam W, where
    G = A - Y * (row sums of A), A the (N, C) indicator of the active terms
    s_ij - s_iy + margin > 0 for j != y_i (0 in the label's column), Y = one_hot(labels).
    """
    S = X @ W
    Y = one_hot(labels, W.shape[1])
    correct = np.sum(S * Y, axis=1, keepdims=True)
    slack = S - correct + margin
    A = ((slack > 0) & (Y == 0)).astype(np.float64)
    G = A - Y * A.sum(axis=1, keepdims=True)
    count = X.shape[0]
    value = float(np.sum(slack * A)) / count + lam * float(np.sum(W ** 2))
    return value, X.T @ G / count + 2.0 * lam * W


def per_example_weight_gradient(W: np.ndarray, X: np.ndarray, labels: np.ndarray, lam: float,
                                loss: str) -> np.ndarray:
    """The same gradient as the objectives above, one example at a time (for checking).

    Sums the outer products x_i (d L_i / d s_i)^T of every example, divides by N and adds
    2 lam W; ``loss`` is "softmax" or "hinge". Returns (D, C).
    """
    score_gradient = {"softmax": cross_entropy_score_gradient,
                      "hinge": hinge_score_gradient}.get(loss)
    if score_gradient is None:
        raise ValueError(f"unknown loss {loss!r}: choose 'softmax' or 'hinge'.")
    total = np.zeros(W.shape)
    for x_i, label in zip(X, labels, strict=True):
        total += np.outer(x_i, score_gradient(x_i @ W, int(label)))
    return total / X.shape[0] + 2.0 * lam * W


# --------------------------------------------------------------------------------------------
# Dropout: inverted dropout with a training and a test mode
# --------------------------------------------------------------------------------------------


def dropout_mask(shape: tuple[int, ...], keep: float, rng: np.random.Generator) -> np.ndarray:
    """Inverted-dropout mask: 1/keep for a kept unit (probability ``keep``), 0 for a dropped one.

    Each entry has expectation keep * (1/keep) = 1, so h * mask has the expectation of h.
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep is the probability of keeping a unit, in (0, 1]; got {keep}.")
    return (rng.random(shape) < keep) / keep


def apply_dropout(h: np.ndarray, keep: float, training: bool,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """A dropout layer. Training mode: h times a fresh ``dropout_mask`` (needs ``rng``).
    Test mode: h unchanged, because the training mode already rescaled the kept units."""
    h = np.asarray(h, dtype=np.float64)
    if not training:
        return h.copy()
    if rng is None:
        raise ValueError("training mode draws a random mask: pass rng=np.random.default_rng(...).")
    return h * dropout_mask(h.shape, keep, rng)


def dropout_average(h: np.ndarray, keep: float, passes: int, seed: int = 0) -> np.ndarray:
    """The mean of ``passes`` training-mode outputs of ``apply_dropout`` (the ensemble average
    of that many thinned networks' layer outputs); shape like h."""
    rng = np.random.default_rng(seed)
    h = np.asarray(h, dtype=np.float64)
    masks = dropout_mask((passes, *h.shape), keep, rng)
    return (masks * h).mean(axis=0)


# --------------------------------------------------------------------------------------------
# Widget views
# --------------------------------------------------------------------------------------------


def _nice_limit(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value`` (> 0)."""
    power = 10.0 ** np.floor(np.log10(value))
    return float(next(f * power for f in (1, 2, 5, 10) if f * power >= value))


def capacity_view(x_train, y_train, x_val, y_val, max_degree: int = 12) -> View:
    """Polynomial degree slider: the fit on the left, train/validation error versus degree right."""
    live = LiveFigure(1, 2, figsize=(10, 3.8), dpi=80)
    ax_fit, ax_err = live.axes
    x_plot = np.linspace(-1, 1, 200)
    degrees = np.arange(max_degree + 1)
    train, val = capacity_curves(x_train, y_train, x_val, y_val, degrees)
    ax_fit.scatter(x_train, y_train, color="k", s=18, zorder=3, label="training points")
    ax_fit.scatter(x_val, y_val, color="0.7", s=6, label="validation points")
    (curve,) = ax_fit.plot(x_plot, np.zeros_like(x_plot), color="C3", label="fit")
    ax_fit.set_ylim(-2, 2)
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.legend(loc="lower right", fontsize=8)
    ax_err.semilogy(degrees, train, "o-", label="training error")
    ax_err.semilogy(degrees, val, "s-", label="validation error")
    marker = ax_err.axvline(0, color="C3", linestyle=":")
    ax_err.set_xlabel("polynomial degree (capacity)")
    ax_err.set_ylabel("mean squared error")
    ax_err.set_title("Underfitting (left) and overfitting (right)")
    ax_err.legend(fontsize=8)

    def update(degree: int) -> None:
        theta = lstsq_fit(vandermonde(x_train, degree), y_train)
        curve.set_ydata(vandermonde(x_plot, degree) @ theta)
        marker.set_xdata([degree, degree])
        ax_fit.set_title(f"degree {degree}: train MSE {train[degree]:.3f}, "
                         f"validation MSE {val[degree]:.3f}")

    live.animate(curve, marker, ax_fit.title)
    controls = {"degree": widgets.IntSlider(value=3, min=0, max=max_degree,
                                            description="degree")}
    return View(live, controls, update, {"curve": curve, "marker": marker,
                                         "train": train, "val": val})


def shrinkage_view(b: np.ndarray) -> View:
    """Regularization strength slider: L2, L1 and max-norm solutions of one orthonormal problem."""
    b = np.asarray(b, dtype=np.float64)
    live = LiveFigure(1, 3, figsize=(11, 3.3), sharey=True, dpi=80)
    index = np.arange(len(b))
    bars = {}
    names = {"l2": "L2: shrinks every coefficient", "l1": "L1: zeros the small ones",
             "maxnorm": "max-norm: caps the length"}
    for ax, penalty in zip(live.axes, ("l2", "l1", "maxnorm"), strict=False):
        ax.bar(index, b, color="0.85", label="least squares (lam = 0)")
        bars[penalty] = ax.bar(index, b, color="C0", label="regularized")
        ax.axhline(0, color="k", linewidth=0.8)
        ax.set_xlabel("coefficient index k")
        ax.set_ylabel(r"$\theta_k$")
        ax.set_title(names[penalty], fontsize=10)
    live.axes[0].legend(fontsize=8)
    zeros = live.fig.suptitle("")
    live.animate(*(rect for container in bars.values() for rect in container), zeros)

    def update(log10_lam: float) -> None:
        lam = 10.0 ** log10_lam
        solutions = {penalty: penalised_orthonormal(b, lam, penalty) for penalty in bars}
        for penalty, container in bars.items():
            for rect, value in zip(container, solutions[penalty], strict=False):
                rect.set_height(value)
        exact_zeros = int(np.sum(solutions["l1"] == 0))
        zeros.set_text(f"lambda = {lam:.3g}: L1 sets {exact_zeros} of {len(b)} coefficients "
                       "exactly to 0, L2 none")

    controls = {"log10_lam": widgets.FloatSlider(value=0.0, min=-2, max=1.5, step=0.05,
                                                 description="log10 λ")}
    return View(live, controls, update, {"bars": bars, "title": zeros})


def map_view(x_train, y_train, degree: int = 9) -> View:
    """Sliders for the noise and prior standard deviations: the MAP fit with lambda = sigma^2/tau^2."""
    live = LiveFigure(1, 2, figsize=(10, 3.8), dpi=80)
    ax_fit, ax_coef = live.axes
    x_plot = np.linspace(-1, 1, 200)
    Phi, Phi_plot = vandermonde(x_train, degree), vandermonde(x_plot, degree)
    theta_ml = lstsq_fit(Phi, y_train)
    ax_fit.scatter(x_train, y_train, color="k", s=18, zorder=3, label="training points")
    ax_fit.plot(x_plot, Phi_plot @ theta_ml, color="0.6", linestyle="--", label="ML (no prior)")
    (curve,) = ax_fit.plot(x_plot, np.zeros_like(x_plot), color="C3", label="MAP")
    band = [ax_fit.fill_between(x_plot, 0 * x_plot, 0 * x_plot, color="C3", alpha=0.2)]
    ax_fit.set_ylim(-2, 2)
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.legend(loc="lower right", fontsize=8)
    index = np.arange(degree + 1)
    bars = ax_coef.bar(index, np.zeros(degree + 1), color="C3")
    ax_coef.set_xlabel("coefficient index k")
    ax_coef.set_ylabel(r"$\theta_{MAP,k}$")
    ax_coef.set_title("MAP coefficients")
    live.animate(curve, band[0], *bars, ax_fit.title)

    def update(sigma: float, log10_tau: float) -> None:
        tau = 10.0 ** log10_tau
        lam = lambda_from_variances(sigma ** 2, tau ** 2)
        mean, cov = gaussian_posterior(Phi, y_train, sigma ** 2, tau ** 2)
        curve.set_ydata(Phi_plot @ mean)
        spread = 2 * np.sqrt(np.einsum("ij,jk,ik->i", Phi_plot, cov, Phi_plot))
        lower, upper = Phi_plot @ mean - spread, Phi_plot @ mean + spread
        if hasattr(band[0], "set_data"):  # matplotlib >= 3.10 updates the band in place
            band[0].set_data(x_plot, lower, upper)
        else:
            live.animated.remove(band[0])
            band[0].remove()
            band[0] = ax_fit.fill_between(x_plot, lower, upper, color="C3", alpha=0.2)
            live.animate(band[0])
        for rect, value in zip(bars, mean, strict=False):
            rect.set_height(value)
        limit = _nice_limit(max(1.0, float(np.abs(mean).max()) * 1.05))
        ax_coef.set_ylim(-limit, limit)
        live.static_key = limit  # a new axis range needs one full draw
        ax_fit.set_title(f"σ = {sigma:.2f}, τ = {tau:.3g}: λ = σ²/τ² = {lam:.3g}")

    controls = {"sigma": widgets.FloatSlider(value=0.25, min=0.05, max=1.0, step=0.05,
                                             description="noise σ"),
                "log10_tau": widgets.FloatSlider(value=0.0, min=-2, max=2, step=0.1,
                                                 description="log10 τ")}
    return View(live, controls, update, {"curve": curve, "bars": bars, "band": band})


def loss_view(class_names: tuple[str, ...] = ("cat", "car", "frog")) -> View:
    """Score sliders and the correct class: softmax probabilities, hinge terms and both losses."""
    live = LiveFigure(1, 2, figsize=(10, 3.5), dpi=80)
    ax_hinge, ax_soft = live.axes
    index = np.arange(len(class_names))
    hinge_bars = ax_hinge.bar(index, np.zeros(len(class_names)), color="C0")
    ax_hinge.set_xticks(index, class_names)
    ax_hinge.set_ylim(0, 12)
    ax_hinge.set_xlabel("class j")
    ax_hinge.set_ylabel(r"max(0, $s_j - s_{y_i}$ + 1)")
    prob_bars = ax_soft.bar(index, np.zeros(len(class_names)), color="C1")
    ax_soft.set_xticks(index, class_names)
    ax_soft.set_ylim(0, 1)
    ax_soft.set_xlabel("class k")
    ax_soft.set_ylabel("softmax probability")

    live.animate(*hinge_bars, *prob_bars, ax_hinge.title, ax_soft.title)

    def update(label: int, **scores: float) -> None:
        s = np.array([scores[f"s_{name}"] for name in class_names])
        terms = hinge_terms(s, label)
        probabilities = softmax_probabilities(s)
        for rect, value in zip(hinge_bars, terms, strict=False):
            rect.set_height(value)
        for k, (rect, value) in enumerate(zip(prob_bars, probabilities, strict=False)):
            rect.set_height(value)
            # The correct class is green and hatched: marked by more than its colour.
            rect.set_facecolor("C2" if k == label else "C1")
            rect.set_edgecolor("black" if k == label else "C1")
            rect.set_hatch("//" if k == label else "")
        ax_hinge.set_title(f"hinge loss = {terms.sum():.3f}")
        ax_soft.set_title(f"softmax loss = -log {probabilities[label]:.3f} = "
                          f"{cross_entropy_of_scores(s, label):.3f}")

    controls = {f"s_{name}": widgets.FloatSlider(value=v, min=-5, max=5, step=0.1,
                                                 description=f"score {name}")
                for name, v in zip(class_names, (3.2, 5.1, -1.7), strict=False)}
    controls["label"] = widgets.Dropdown(options=[(n, i) for i, n in enumerate(class_names)],
                                         value=0, description="correct")
    return View(live, controls, update, {"hinge": hinge_bars, "probabilities": prob_bars})
