"""Support maths for the lecture notebook ``lectures/04_optimization.ipynb``.

Pure functions (no plotting) that the lecture's cells and its optimizer race call:

- ``least_squares``: loss and gradient of f = (1/n) ||X theta - y||^2 (the slide's formula,
  corrected: the gradient is (2/n)(X^T X theta - X^T y)).
- ``forward_difference_gradient``: the slide's one-sided numerical gradient, to compare
  with the analytic one (cost and accuracy).
- ``sine_fit_loss``: a non-linear least-squares problem with many local minima.
- ``trajectory`` / ``race``: optimizers written as *step generators*. Each generator holds
  its state in local variables, asks the gradient function for the gradient itself and
  yields the successive points. This is deliberately not the ``rule(w, dw, config)``
  contract of the 04_optimizers assignment (students write those), and it follows
  ``torch.optim``'s formulation (velocity ``buf = mu buf + g``), which the assignment shows to
  be equivalent to the lecture's ``v = mu v - eps g``.
- ``minibatch_sgd_losses``: noisy convergence of plain minibatch SGD on least squares.
- ``solve_times`` / ``power_law_exponent``: the O(k^3) cost of Newton's linear solve.
- learning-rate schedules (``constant_rate``, ``step_decay``, ``exponential_decay``,
  ``cosine_decay``, ``warmup_cosine``, all ``schedule_rates``), and SGD that follows one on a
  bowl with steep walls and noisy gradients (``steep_bowl``, ``scheduled_sgd_gaps``).
- ``online_adam_counterexample``: the convex problem of Reddi, Kale and Kumar (2018) on which
  Adam converges to the worst point and AMSGrad to the best.

And two views, at the end of the module:

- ``OptimizerRace``: the race widget, a thin view: the figure is built once and
  ``update(**values)`` only calls ``race`` and moves artists (tests call it directly);
  its ``LiveFigure`` redraws by blitting the paths over the kept contour map (see
  ``benchmarks/optimizer_race_redraw.py``).
- ``schedule_view``: the learning-rate schedules side by side, each with the loss curve of
  SGD that follows it (a ``View``; tests call its ``update`` directly).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from utils.plotting import CYCLE_MARKERS, OKABE_ITO
from utils.surfaces import SURFACES, Surface, get_surface
from utils.widgets import LiveFigure, View, interactive_view

Gradient = Callable[[np.ndarray], np.ndarray]


# ---- least squares and numerical gradients --------------------------------------------
def make_regression(n: int = 200, d: int = 3, noise: float = 0.5, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear-regression data set y = X theta_true + noise.

    Returns X (n, d) with a first column of ones (the bias), y (n,) and theta_true (d,).
    """
    if n < 1 or d < 1:
        raise ValueError(f"Need at least one sample and one feature, got n={n}, d={d}.")
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    theta_true = rng.normal(size=d)
    return X, X @ theta_true + noise * rng.normal(size=n), theta_true


def least_squares(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error f = (1/n) ||X theta - y||^2 and its gradient.

    Inputs: theta (d,), X (n, d), y (n,).
    Returns (f, grad) with grad = (2/n) X^T (X theta - y), shape (d,).
    """
    err = X @ theta - y
    return float(np.mean(err**2)), 2.0 * X.T @ err / len(y)


def forward_difference_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                                h: float = 1e-5) -> np.ndarray:
    """The slide's numerical gradient (f(x + h e_i) - f(x)) / h, one coordinate at a time.

    Costs d + 1 evaluations of f for x of shape (d,); its error is O(h) (plus rounding
    error O(machine epsilon / h)). Returns an array shaped like x.
    """
    x = np.array(x, dtype=np.float64)
    fx = f(x)
    grad = np.empty_like(x)
    for i in range(x.size):
        shifted = x.copy()
        shifted.flat[i] += h
        grad.flat[i] = (f(shifted) - fx) / h
    return grad


def sine_fit_loss(a: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-linear least squares: fit y ~ sin(a x) over the frequency a.

    Inputs: a (any shape), x and y (n,).
    Returns (loss, dloss/da), each shaped like a: loss = mean_i (sin(a x_i) - y_i)^2.
    """
    a = np.asarray(a, dtype=np.float64)
    ax = a[..., None] * x
    err = np.sin(ax) - y
    return np.mean(err**2, axis=-1), np.mean(2 * err * np.cos(ax) * x, axis=-1)


def bumpy(x: np.ndarray) -> np.ndarray:
    """A 1-D landscape f(x) = x^2 / 4 - x / 2 + sin(3 x) / 2 (see ``bumpy_gradient``) with local
    minima near x = -0.37, 1.51 and 3.36 in [-3.5, 3.5]; the one near 1.51 is the lowest
    (``bumpy_minima`` computes them). Shape preserved."""
    x = np.asarray(x, dtype=np.float64)
    return 0.25 * x**2 - 0.5 * x + 0.5 * np.sin(3 * x)


def bumpy_minima(low: float = -3.5, high: float = 3.5, points: int = 4001) -> np.ndarray:
    """The local minima of ``bumpy`` in [low, high], sorted (float64, shape (m,)).

    Found on a grid of ``points`` values, then refined by Newton steps on the gradient
    (f'' = 1/2 - 9/2 sin(3 x)); accurate to about 1e-12.
    """
    x = np.linspace(low, high, points)
    y = bumpy(x)
    inner = np.flatnonzero((y[1:-1] < y[:-2]) & (y[1:-1] < y[2:])) + 1
    minima = x[inner]
    for _ in range(20):
        minima = minima - bumpy_gradient(minima) / (0.5 - 4.5 * np.sin(3 * minima))
    return np.sort(minima)


def bumpy_gradient(x: np.ndarray) -> np.ndarray:
    """Derivative x / 2 - 1/2 + 1.5 cos(3 x) of ``bumpy``."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x - 0.5 + 1.5 * np.cos(3 * x)


# ---- optimizers as step generators -----------------------------------------------------
def _sgd(grad: Gradient, p: np.ndarray, lr: float) -> Iterator[np.ndarray]:
    while True:
        yield p
        p = p - lr * grad(p)


def _heavy_ball(grad: Gradient, p: np.ndarray, lr: float, momentum: float,
                nesterov: bool = False) -> Iterator[np.ndarray]:
    buf = np.zeros_like(p)
    while True:
        yield p
        g = grad(p)
        buf = momentum * buf + g
        p = p - lr * (g + momentum * buf if nesterov else buf)


def _adagrad(grad: Gradient, p: np.ndarray, lr: float, eps: float = 1e-10
             ) -> Iterator[np.ndarray]:
    total = np.zeros_like(p)
    while True:
        yield p
        g = grad(p)
        total = total + g * g
        p = p - lr * g / (np.sqrt(total) + eps)


def _rmsprop(grad: Gradient, p: np.ndarray, lr: float, alpha: float = 0.99, eps: float = 1e-8
             ) -> Iterator[np.ndarray]:
    mean_sq = np.zeros_like(p)
    while True:
        yield p
        g = grad(p)
        mean_sq = alpha * mean_sq + (1 - alpha) * g * g
        p = p - lr * g / (np.sqrt(mean_sq) + eps)


def _adadelta(grad: Gradient, p: np.ndarray, lr: float = 1.0, rho: float = 0.9,
              eps: float = 1e-6) -> Iterator[np.ndarray]:
    mean_sq, mean_step_sq = np.zeros_like(p), np.zeros_like(p)
    while True:
        yield p
        g = grad(p)
        mean_sq = rho * mean_sq + (1 - rho) * g * g
        step = np.sqrt(mean_step_sq + eps) / np.sqrt(mean_sq + eps) * g
        mean_step_sq = rho * mean_step_sq + (1 - rho) * step * step
        p = p - lr * step


def _adam(grad: Gradient, p: np.ndarray, lr: float, beta1: float = 0.9, beta2: float = 0.999,
          eps: float = 1e-8, bias_correction: bool = True) -> Iterator[np.ndarray]:
    first, second = np.zeros_like(p), np.zeros_like(p)
    count = 0
    while True:
        yield p
        g = grad(p)
        count += 1
        first = beta1 * first + (1 - beta1) * g
        second = beta2 * second + (1 - beta2) * g * g
        c1 = 1 - beta1**count if bias_correction else 1.0
        c2 = 1 - beta2**count if bias_correction else 1.0
        p = p - lr * (first / c1) / (np.sqrt(second / c2) + eps)


STEP_GENERATORS: dict[str, Callable[..., Iterator[np.ndarray]]] = {
    "SGD": _sgd,
    "momentum": _heavy_ball,
    "Nesterov": lambda grad, p, lr, momentum: _heavy_ball(grad, p, lr, momentum, nesterov=True),
    "AdaGrad": _adagrad,
    "RMSProp": _rmsprop,
    "Adadelta": _adadelta,
    "Adam": _adam,
    "Adam without bias correction": lambda grad, p, **kw: _adam(grad, p, bias_correction=False,
                                                                **kw),
}
SECOND_ORDER = ("Newton", "L-BFGS (SciPy)")
RACE_OPTIMIZERS = ("SGD", "momentum", "Nesterov", "AdaGrad", "RMSProp", "Adadelta", "Adam",
                   *SECOND_ORDER)
DIVERGED = 1e6  # a coordinate beyond this magnitude counts as divergence


def trajectory(gradient: Gradient, start: Sequence[float] | np.ndarray, name: str, steps: int,
               **hyper: float) -> np.ndarray:
    """Run a first-order optimizer for ``steps`` steps from ``start``.

    Inputs:
    - gradient: function point (d,) -> gradient (d,).
    - start: the start point (d,); name: a key of ``STEP_GENERATORS``.
    - hyper: its hyper-parameters (lr, momentum, alpha, rho, beta1, beta2, eps, ...).
    Returns the points, shape (steps + 1, d), start first. After a divergence (a coordinate
    beyond 1e6 or not finite) the remaining rows are NaN.
    """
    if name not in STEP_GENERATORS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of "
                         f"{', '.join(STEP_GENERATORS)}.")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}.")
    start = np.array(start, dtype=np.float64)
    points = np.full((steps + 1, *start.shape), np.nan)
    with np.errstate(all="ignore"):
        for i, p in zip(range(steps + 1), STEP_GENERATORS[name](gradient, start, **hyper),
                        strict=False):
            if not np.all(np.isfinite(p)) or np.max(np.abs(p)) > DIVERGED:
                break
            points[i] = p
    return points


def newton_points(gradient: Gradient, hessian: Callable[[np.ndarray], np.ndarray],
                  start: Sequence[float], steps: int) -> np.ndarray:
    """Pure Newton iterations p <- p - H(p)^-1 grad(p) (no line search); (steps + 1, d).

    A singular Hessian or a divergence ends the run (the remaining rows are NaN).
    """
    points = np.full((steps + 1, len(start)), np.nan)
    p = np.array(start, dtype=np.float64)
    with np.errstate(all="ignore"):
        for i in range(steps + 1):
            if not np.all(np.isfinite(p)) or np.max(np.abs(p)) > DIVERGED:
                break
            points[i] = p
            try:
                p = p - np.linalg.solve(hessian(p), gradient(p))
            except np.linalg.LinAlgError:
                break
    return points


def scipy_points(surface: Surface, start: Sequence[float], steps: int,
                 method: str = "L-BFGS-B") -> np.ndarray:
    """The iterates of ``scipy.optimize.minimize(method=...)`` (one row per iteration, each
    iteration may evaluate f several times in its line search), padded with the final point
    to (steps + 1, 2)."""
    from scipy.optimize import minimize

    seen = [np.array(start, dtype=np.float64)]
    minimize(lambda p: float(surface.value(p)), seen[0], jac=surface.gradient, method=method,
             callback=lambda xk: seen.append(np.array(xk)), options={"maxiter": steps})
    seen = seen[:steps + 1]
    return np.array(seen + [seen[-1]] * (steps + 1 - len(seen)))


def race_settings(sgd_lr: float, momentum: float, adaptive_lr: float, beta1: float
                  ) -> dict[str, dict[str, float]]:
    """Hyper-parameters of every race optimizer from the widget's four knobs.

    SGD, momentum and Nesterov share ``sgd_lr`` (and ``momentum``); AdaGrad, RMSProp and Adam
    share ``adaptive_lr``; Adadelta keeps its own defaults (lr 1, rho 0.9, eps 1e-6), which is
    its selling point: no learning rate to tune.
    """
    return {"SGD": {"lr": sgd_lr},
            "momentum": {"lr": sgd_lr, "momentum": momentum},
            "Nesterov": {"lr": sgd_lr, "momentum": momentum},
            "AdaGrad": {"lr": adaptive_lr},
            "RMSProp": {"lr": adaptive_lr},
            "Adadelta": {},
            "Adam": {"lr": adaptive_lr, "beta1": beta1}}


@lru_cache(maxsize=512)
def _race_one(surface_name: str, start: tuple[float, float], name: str, steps: int,
              hyper: tuple[tuple[str, float], ...]) -> np.ndarray:
    surface = get_surface(surface_name)
    if name == "Newton":
        return newton_points(surface.gradient, surface.hessian, start, steps)
    if name == "L-BFGS (SciPy)":
        return scipy_points(surface, start, steps)
    return trajectory(surface.gradient, start, name, steps, **dict(hyper))


def race(surface_name: str, start: Sequence[float], names: Sequence[str], steps: int,
         sgd_lr: float = 1e-2, momentum: float = 0.9, adaptive_lr: float = 0.1,
         beta1: float = 0.9) -> dict[str, np.ndarray]:
    """The trajectories of the chosen optimizers on one surface from one start point.

    Returns name -> points (steps + 1, 2) (NaN rows after a divergence). Results are cached,
    so moving one slider recomputes only what changed.
    """
    unknown = [n for n in names if n not in RACE_OPTIMIZERS]
    if unknown:
        raise ValueError(f"Unknown optimizer(s) {unknown}; choose from {list(RACE_OPTIMIZERS)}.")
    settings = race_settings(sgd_lr, momentum, adaptive_lr, beta1)
    start = (float(start[0]), float(start[1]))
    return {n: _race_one(surface_name, start, n, int(steps),
                         tuple(sorted(settings.get(n, {}).items()))) for n in names}


def steps_to_reach(gaps: np.ndarray, tolerance: float) -> int | None:
    """The first step whose gap f - f* is below ``tolerance``, or None if never (gaps (T,))."""
    hits = np.flatnonzero(np.nan_to_num(gaps, nan=np.inf) < tolerance)
    return int(hits[0]) if hits.size else None


# ---- minibatches, learning rates, Newton's cost -----------------------------------------
def minibatch_sgd_losses(X: np.ndarray, y: np.ndarray, batch_size: int, lr: float,
                         epochs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain minibatch SGD on least squares from theta = 0.

    Every epoch draws a fresh permutation and cuts it into n // batch_size full batches (the
    remainder is dropped, as ``drop_last=True`` does in PyTorch's DataLoader).
    Returns (batch_losses, full_losses), both (epochs * (n // batch_size),): the loss on the
    batch used for each step and the full-data loss after it.
    """
    n = len(y)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be between 1 and n={n}, got {batch_size}.")
    rng = np.random.default_rng(seed)
    theta = np.zeros(X.shape[1])
    per_epoch = n // batch_size
    batch_losses, full_losses = [], []
    for _ in range(epochs):
        batches = rng.permutation(n)[:per_epoch * batch_size].reshape(per_epoch, batch_size)
        for rows in batches:
            loss, grad = least_squares(theta, X[rows], y[rows])
            theta = theta - lr * grad
            batch_losses.append(loss)
            full_losses.append(least_squares(theta, X, y)[0])
    return np.array(batch_losses), np.array(full_losses)


def solve_times(sizes: Sequence[int], repeats: int = 3, seed: int = 0,
                single_thread: bool = True) -> np.ndarray:
    """Best wall-clock seconds of ``np.linalg.solve`` on a k x k symmetric positive definite
    system for each k in ``sizes``; shape (len(sizes),). With ``single_thread`` the BLAS runs
    on one thread, so the timing shows the algorithm's O(k^3) rather than the thread count."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    times = []
    with threadpool_limits(limits=1 if single_thread else None):
        for k in sizes:
            A = rng.normal(size=(k, k))
            H, g = A @ A.T + k * np.eye(k), rng.normal(size=k)
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                np.linalg.solve(H, g)
                best = min(best, time.perf_counter() - start)
            times.append(best)
    return np.array(times)


def power_law_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """The slope of log(time) against log(size): p in time ~ size^p (least squares fit)."""
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


# ---- learning-rate schedules --------------------------------------------------------------
# Each schedule maps the step number t = 0, 1, 2, ... (an int or an integer array) to the
# learning rate used for that step, as a float array of t's shape. They are pure functions:
# the optimizer asks "which rate at step t?" and stays the same.
def constant_rate(t, base_lr: float) -> np.ndarray:
    """The same rate ``base_lr`` at every step t."""
    return np.full(np.shape(t), float(base_lr))


def step_decay(t, base_lr: float, every: int, factor: float = 0.5) -> np.ndarray:
    """``base_lr`` times ``factor`` once more after each ``every`` steps: a staircase.

    eta_t = base_lr * factor ** floor(t / every); every >= 1, 0 < factor <= 1.
    """
    if every < 1 or not 0 < factor <= 1:
        raise ValueError(f"step_decay needs every >= 1 and 0 < factor <= 1, got every={every}, "
                         f"factor={factor}.")
    return base_lr * factor ** np.floor_divide(np.asarray(t), every)


def exponential_decay(t, base_lr: float, gamma: float) -> np.ndarray:
    """A smooth decay by the factor ``gamma`` (0 < gamma <= 1) per step: base_lr * gamma ** t."""
    if not 0 < gamma <= 1:
        raise ValueError(f"exponential_decay needs 0 < gamma <= 1, got gamma={gamma}.")
    return base_lr * gamma ** np.asarray(t, dtype=np.float64)


def cosine_decay(t, base_lr: float, total_steps: int, final_lr: float = 0.0) -> np.ndarray:
    """Half a cosine from ``base_lr`` at t = 0 down to ``final_lr`` at t = total_steps.

    eta_t = final_lr + (base_lr - final_lr) (1 + cos(pi t / total_steps)) / 2, and final_lr
    after total_steps (Loshchilov and Hutter 2017, without restarts).
    """
    if total_steps < 1:
        raise ValueError(f"cosine_decay needs total_steps >= 1, got {total_steps}.")
    progress = np.minimum(np.asarray(t, dtype=np.float64), total_steps) / total_steps
    return final_lr + (base_lr - final_lr) * 0.5 * (1.0 + np.cos(np.pi * progress))


def warmup_cosine(t, base_lr: float, warmup_steps: int, total_steps: int) -> np.ndarray:
    """A linear warm-up over the first ``warmup_steps`` steps, then a cosine decay to 0.

    eta_t = base_lr (t + 1) / warmup_steps for t < warmup_steps (so step 0 already moves),
    then ``cosine_decay`` over the remaining total_steps - warmup_steps steps.
    """
    if not 1 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_cosine needs 1 <= warmup_steps < total_steps, got "
                         f"warmup_steps={warmup_steps}, total_steps={total_steps}.")
    t = np.asarray(t, dtype=np.float64)
    ramp = base_lr * (t + 1.0) / warmup_steps
    decay = cosine_decay(np.maximum(t - warmup_steps, 0.0), base_lr, total_steps - warmup_steps)
    return np.where(t < warmup_steps, ramp, decay)


SCHEDULES = ("constant", "step", "exponential", "cosine", "warm-up + cosine")


def schedule_rates(name: str, total_steps: int, base_lr: float, warmup_steps: int = 20
                   ) -> np.ndarray:
    """The learning rates of steps 0 .. total_steps - 1 under the schedule ``name``, (T,).

    The lecture's settings: "step" halves the rate every quarter of the run, "exponential"
    ends at 1 % of ``base_lr`` (gamma = 0.01 ** (1 / T)), "cosine" decays to 0 over the run,
    "warm-up + cosine" ramps up over ``warmup_steps`` steps first.
    """
    t = np.arange(total_steps)
    if name == "constant":
        return constant_rate(t, base_lr)
    if name == "step":
        return step_decay(t, base_lr, every=max(1, total_steps // 4))
    if name == "exponential":
        return exponential_decay(t, base_lr, gamma=0.01 ** (1.0 / total_steps))
    if name == "cosine":
        return cosine_decay(t, base_lr, total_steps)
    if name == "warm-up + cosine":
        return warmup_cosine(t, base_lr, warmup_steps, total_steps)
    raise ValueError(f"Unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}.")


STEEP_BOWL_START = (-3.5, 1.5)


def steep_bowl(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ill-conditioned bowl with steep walls: f = (x^2 + 20 y^2)/2 + (x^2 + y^2)^2/4.

    Input points (..., 2). Returns (f (...), gradient (..., 2)). The minimum is f = 0 at the
    origin, where the curvatures are 1 and 20 as on the bowl (plain gradient descent is stable
    for learning rates below 2/20 = 0.1); far out the quartic term makes the walls much
    steeper (``steep_bowl_curvature``), so large early steps are dangerous.
    """
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    r2 = x * x + y * y
    value = 0.5 * (x * x + 20.0 * y * y) + 0.25 * r2 * r2
    gradient = np.stack([x * (1.0 + r2), y * (20.0 + r2)], axis=-1)
    return value, gradient


def steep_bowl_curvature(p) -> float:
    """The largest eigenvalue of the Hessian of ``steep_bowl`` at one point p (2,)."""
    x, y = (float(v) for v in p)
    r2 = x * x + y * y
    hessian = np.array([[1.0 + r2 + 2 * x * x, 2 * x * y], [2 * x * y, 20.0 + r2 + 2 * y * y]])
    return float(np.linalg.eigvalsh(hessian)[-1])


def scheduled_sgd_gaps(rates: np.ndarray, noise: float, runs: int = 20, seed: int = 0,
                       start: Sequence[float] = STEEP_BOWL_START) -> np.ndarray:
    """SGD on ``steep_bowl`` following learning-rate schedules, with noisy gradients.

    Inputs:
    - rates: (T,) the learning rate of each step (from ``schedule_rates``), or (T, S) for S
      schedules run side by side.
    - noise: standard deviation of the Gaussian noise added to each gradient coordinate, a
      stand-in for minibatch noise; runs: independent runs averaged; seed: their noise.
    Returns (T + 1,), or (T + 1, S): the mean of f - f* = f over the runs before each step and
    after the last, NaN from the first step at which any run of that schedule left the window
    |x|, |y| <= 1e6 (diverged). Every schedule sees the same noise draws.
    """
    rates = np.asarray(rates, dtype=np.float64)
    table = rates[:, None] if rates.ndim == 1 else rates
    total, count = table.shape
    noise_draws = noise * np.random.default_rng(seed).normal(size=(total, runs, 2))
    points = np.tile(np.asarray(start, dtype=np.float64), (count, runs, 1))
    alive = np.ones(count, dtype=bool)
    gaps = np.full((total + 1, count), np.nan)
    with np.errstate(all="ignore"):
        for k in range(total + 1):
            value, gradient = steep_bowl(points)
            alive &= np.all(np.abs(points) <= DIVERGED, axis=(1, 2))
            gaps[k, alive] = value[alive].mean(axis=1)
            if k == total or not alive.any():
                break
            points = points - table[k][:, None, None] * (gradient + noise_draws[k])
            points[~alive] = 0.0  # a diverged schedule stays out of the way
    return gaps[:, 0] if rates.ndim == 1 else gaps


def schedule_race(base_lr: float, noise: float, warmup_steps: int = 20, total_steps: int = 200,
                  runs: int = 20, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every schedule of ``SCHEDULES``: name -> (rates (T,), mean gaps (T + 1,))."""
    table = np.stack([schedule_rates(name, total_steps, base_lr, warmup_steps)
                      for name in SCHEDULES], axis=1)
    gaps = scheduled_sgd_gaps(table, noise, runs, seed)
    return {name: (table[:, i], gaps[:, i]) for i, name in enumerate(SCHEDULES)}


# ---- Adam's caveat: Reddi, Kale and Kumar (2018) -------------------------------------------
def online_adam_counterexample(steps: int = 3000, C: float = 3.0, lr: float = 0.5,
                               amsgrad: bool = False) -> np.ndarray:
    """Adam (beta1 = 0, beta2 = 1/(1 + C^2), no bias correction) or AMSGrad on the online
    problem of Reddi et al. (2018, section 3): x in [-1, 1], loss C x at steps t = 1, 4, 7, ...
    and -x at all other steps (C > 2).

    The average loss (C - 2) x / 3 is smallest at x = -1. The rare large gradient C is
    forgotten by Adam's short second-moment average, so the two small gradients -1 push x up
    with large steps, and x ends near +1, the worst point. AMSGrad divides by the largest
    second moment seen so far and reaches -1. Step size lr / sqrt(t); x is clipped to [-1, 1].
    Returns x before the first and after every step, shape (steps + 1,).
    """
    if C <= 2:
        raise ValueError(f"The counterexample needs C > 2 (else +1 is optimal), got C={C}.")
    beta2 = 1.0 / (1.0 + C * C)
    x, second, largest = 0.0, 0.0, 0.0
    xs = np.empty(steps + 1)
    xs[0] = x
    for t in range(1, steps + 1):
        g = C if t % 3 == 1 else -1.0
        second = beta2 * second + (1.0 - beta2) * g * g
        largest = max(largest, second)
        scale = np.sqrt(largest if amsgrad else second) + 1e-8
        x = float(np.clip(x - lr / np.sqrt(t) * g / scale, -1.0, 1.0))
        xs[t] = x
    return xs


def surface_grid(surface: Surface, resolution: int = 120
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs (R,), ys (R,) and log10(1e-3 + f - f*) on the grid, shape (R, R) (rows follow y)."""
    xs = np.linspace(*surface.xlim, resolution)
    ys = np.linspace(*surface.ylim, resolution)
    grid = np.stack(np.meshgrid(xs, ys), -1)
    return xs, ys, np.log10(1e-3 + surface.gap(grid))


# ---- the optimizer race: a thin view -------------------------------------------------------
# Okabe-Ito colours (colour-blind safe), and a marker and a line style per optimizer, so the
# paths and loss curves differ in more than colour.
RACE_COLOURS = dict(zip(RACE_OPTIMIZERS, ("#000000", "#0072B2", "#56B4E9", "#CC79A7", "#E69F00",
                                          "#7F7F7F", "#D55E00", "#009E73", "#882255"),
                        strict=True))
RACE_MARKERS = dict(zip(RACE_OPTIMIZERS, (*CYCLE_MARKERS, "h"), strict=True))
RACE_LINESTYLES = dict(zip(RACE_OPTIMIZERS, ("-", "--", "-.", ":", (0, (5, 1)),
                                             (0, (3, 1, 1, 1, 1, 1)), "-", "--", "-."),
                           strict=True))
SUGGESTED = {  # hyper-parameters that make a good first race on each surface
    "ill-conditioned bowl": {"sgd_lr": 0.05, "adaptive_lr": 0.3, "steps": 60},
    "rosenbrock": {"sgd_lr": 1e-3, "adaptive_lr": 0.05, "steps": 300},
    "saddle": {"sgd_lr": 0.1, "adaptive_lr": 0.1, "steps": 80},
    "beale": {"sgd_lr": 3e-3, "adaptive_lr": 0.05, "steps": 300},
}


@lru_cache(maxsize=8)
def surface_background(surface_name: str, resolution: int = 120, levels: int = 14
                       ) -> tuple[np.ndarray, tuple[float, float, float, float], list]:
    """Contour lines of log10(1e-3 + f - f*) over the surface window.

    Returns (level of each polyline (L,), (x0, x1, y0, y1), list of L polylines (M, 2)) for a
    ``LineCollection``; cached per surface so that switching surfaces never re-contours.
    """
    from contourpy import contour_generator

    surface = get_surface(surface_name)
    xs, ys, z = surface_grid(surface, resolution)
    generator = contour_generator(xs, ys, z)
    pairs = [(level, line) for level in np.linspace(z.min(), z.max(), levels + 2)[1:-1]
             for line in generator.lines(level)]
    return (np.array([level for level, _ in pairs]), (*surface.xlim, *surface.ylim),
            [line for _, line in pairs])


def race_figure(figsize: tuple[float, float], dpi: float = 80) -> LiveFigure:
    """The race's two panels (map, loss) at fixed positions: no layout pass on any redraw."""
    live = LiveFigure(1, 2, figsize=figsize, dpi=dpi)
    live.fig.set_layout_engine("none")
    live.axes[0].set_position([0.06, 0.12, 0.42, 0.8])
    live.axes[1].set_position([0.565, 0.12, 0.42, 0.8])
    live.layout_frozen = True
    return live


class OptimizerRace:
    """The optimizer race: trajectories over the contour map and loss-gap curves.

    Build once; ``update(**values)`` computes the race (``race``) and moves the existing
    artists (no new figure, no new lines). ``widget()`` returns the controls and the figure.
    Attributes used by tests: ``paths`` and ``curves`` (name -> Line2D), ``contours``,
    ``start_marker``, ``minima_marker``, ``results`` (name -> (steps + 1, 2) points of the last
    update), ``final_gaps`` (name -> f - f* after the last step, NaN after a divergence).
    """

    def __init__(self, figsize: tuple[float, float] = (11, 4.4)):
        from matplotlib.collections import LineCollection
        from matplotlib.ticker import MaxNLocator

        self.live = race_figure(figsize)
        self.ax_map, self.ax_loss = self.live.axes
        self.contours = LineCollection([], cmap="viridis", linewidths=0.9)
        self.ax_map.add_collection(self.contours)
        self.minima_marker, = self.ax_map.plot([], [], "*", color="red", ms=13, mec="k",
                                               zorder=5)
        self.start_marker, = self.ax_map.plot([], [], "o", color="white", mec="k", ms=7,
                                              zorder=5)
        self.paths, self.curves = {}, {}
        for name in RACE_OPTIMIZERS:
            colour = RACE_COLOURS[name]
            marker, style = RACE_MARKERS[name], RACE_LINESTYLES[name]
            self.paths[name], = self.ax_map.plot([], [], linestyle=style, marker=marker,
                                                 color=colour, lw=1.5, ms=3.5, markevery=5,
                                                 animated=True)
            self.curves[name], = self.ax_loss.plot([], [], linestyle=style, marker=marker,
                                                   color=colour, lw=1.5, ms=4, markevery=0.1,
                                                   animated=True, label=name)
        self.live.animated = [*self.paths.values(), *self.curves.values()]
        self.ax_map.set_xlabel("x")
        self.ax_map.set_ylabel("y")
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("log10( f(x, y) - f(minimum) )")
        self.ax_loss.set_title("Distance to the minimum value (log scale)")
        for ax in (self.ax_map, self.ax_loss):
            ax.xaxis.set_major_locator(MaxNLocator(6))
            ax.yaxis.set_major_locator(MaxNLocator(6))
        self.ax_loss.grid(True, alpha=0.3)
        self.results: dict[str, np.ndarray] = {}
        self.final_gaps: dict[str, float] = {}

    def update(self, surface: str, optimizers: Sequence[str], steps: int, start_x: float,
               start_y: float, suggested_start: bool, sgd_lr: float, momentum: float,
               adaptive_lr: float, beta1: float) -> dict[str, np.ndarray]:
        """Recompute the race for these values and move the artists; returns the results."""
        chosen = get_surface(surface)
        start = chosen.start if suggested_start else (float(start_x), float(start_y))
        names = [n for n in RACE_OPTIMIZERS if n in optimizers]
        self.results = race(surface, start, names, steps, sgd_lr=sgd_lr, momentum=momentum,
                            adaptive_lr=adaptive_lr, beta1=beta1)
        steps_axis = np.arange(steps + 1)
        self.final_gaps = {}
        for name in RACE_OPTIMIZERS:
            points = self.results.get(name)
            self.paths[name].set_visible(points is not None)
            self.curves[name].set_visible(points is not None)
            if points is None:
                continue
            log_gaps = np.log10(np.maximum(chosen.gap(points), 1e-16))
            self.paths[name].set_data(points[:, 0], points[:, 1])
            self.curves[name].set_data(steps_axis, log_gaps)
            self.final_gaps[name] = float(chosen.gap(points[-1]))
        key = (surface, start, int(steps), tuple(names))
        if key != self.live.static_key:
            self._update_static(chosen, start, steps, names)
            self.live.static_key = key
        return self.results

    def _update_static(self, surface: Surface, start: tuple[float, float], steps: int,
                       names: list[str]) -> None:
        """Contours, markers, limits, title and legend: changed only with ``static_key``."""
        levels, extent, segments = surface_background(surface.name)
        self.contours.set_segments(segments)
        self.contours.set_array(levels)
        self.contours.set_clim(levels.min(), levels.max())
        self.minima_marker.set_data(*np.array(surface.minima).T)
        self.start_marker.set_data([start[0]], [start[1]])
        self.ax_map.set_xlim(min(extent[0], start[0] - 0.2), max(extent[1], start[0] + 0.2))
        self.ax_map.set_ylim(min(extent[2], start[1] - 0.2), max(extent[3], start[1] + 0.2))
        self.ax_map.set_title(f"{surface.name}: paths from ({start[0]:.3g}, {start[1]:.3g})")
        top = np.log10(max(float(surface.gap(np.array(start))), 10 ** levels.max(), 1e-16))
        self.ax_loss.set_xlim(0, max(steps, 1))
        self.ax_loss.set_ylim(-16.5, top + 1.0)
        legend = self.ax_loss.get_legend()
        if legend is not None:
            legend.remove()
        if names:
            self.ax_loss.legend([self.curves[n] for n in names], names, fontsize=7,
                                loc="lower left")

    def controls(self, surface: str = "rosenbrock",
                 optimizers: Sequence[str] = ("SGD", "momentum", "Adam", "Newton")) -> dict:
        """The ipywidgets controls (name -> widget), keyed like ``update``'s parameters."""
        import ipywidgets as w

        hint = SUGGESTED[surface]
        style = {"description_width": "110px"}
        return {
            "surface": w.Dropdown(options=list(SURFACES), value=surface, description="surface",
                                  style=style),
            "optimizers": w.SelectMultiple(options=list(RACE_OPTIMIZERS), value=tuple(optimizers),
                                           rows=5, description="optimizers", style=style),
            "steps": w.IntSlider(value=hint["steps"], min=5, max=500, step=5,
                                 description="steps", style=style),
            "suggested_start": w.Checkbox(value=True, description="suggested start point"),
            "start_x": w.FloatSlider(value=-1.5, min=-4.5, max=4.5, step=0.05,
                                     description="start x", style=style),
            "start_y": w.FloatSlider(value=2.0, min=-4.5, max=4.5, step=0.05,
                                     description="start y", style=style),
            "sgd_lr": w.FloatLogSlider(value=hint["sgd_lr"], base=10, min=-5, max=0, step=0.1,
                                       description="lr (SGD family)", style=style),
            "momentum": w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                      description="momentum", style=style),
            "adaptive_lr": w.FloatLogSlider(value=hint["adaptive_lr"], base=10, min=-4, max=0.5,
                                            step=0.1, description="lr (adaptive)", style=style),
            "beta1": w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                   description="Adam beta1", style=style),
        }

    def widget(self, **control_defaults):
        """Controls above the figure, wired with ``interactive_view``."""
        return interactive_view(self.controls(**control_defaults), self.update, self.live,
                                columns=2)


# ---- the learning-rate schedules: a thin view ----------------------------------------------
SCHEDULE_STYLES = {name: (OKABE_ITO[i], ("-", "--", "-.", ":", (0, (5, 1)))[i], CYCLE_MARKERS[i])
                   for i, name in enumerate(SCHEDULES)}


def _schedule_summary(results: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """One line per schedule: its final mean gap, or the step at which it diverged."""
    lines = []
    for name, (_, gaps) in results.items():
        if np.isnan(gaps[-1]):
            lines.append(f"{name}: diverged at step {int(np.flatnonzero(np.isnan(gaps))[0])}")
        else:
            lines.append(f"{name}: {gaps[-1]:.1e}")
    return "f - f* after the last step\n" + "\n".join(lines)


def schedule_view(total_steps: int = 200, runs: int = 20) -> View:
    """Sliders for the base learning rate, the gradient noise and the warm-up length.

    Left: the learning rate of every schedule against the step. Right: the mean f - f* of
    SGD following each schedule on ``steep_bowl`` (``runs`` noisy runs), on a log scale; a
    curve that stops has diverged. ``update(base_lr, noise, warmup_steps)`` only moves lines
    and texts. Artists for tests: ``rates`` and ``gaps`` (name -> Line2D), ``summary`` (Text).
    """
    live = LiveFigure(1, 2, figsize=(11, 4.0), dpi=80)
    ax_rate, ax_gap = live.axes
    steps_axis = np.arange(total_steps)
    rate_lines, gap_lines = {}, {}
    for name, (colour, style, marker) in SCHEDULE_STYLES.items():
        rate_lines[name], = ax_rate.plot([], [], color=colour, linestyle=style, marker=marker,
                                         markevery=0.1, ms=4, lw=1.6, label=name)
        gap_lines[name], = ax_gap.semilogy([], [], color=colour, linestyle=style, marker=marker,
                                           markevery=0.1, ms=4, lw=1.6, label=name)
    ax_rate.axhline(0.1, color="0.4", lw=0.8, linestyle=(0, (2, 2)))
    ax_rate.text(total_steps * 0.02, 0.1, "stable limit at the minimum, 2/20 = 0.1",
                 ha="left", va="bottom", fontsize=8, color="0.3")
    ax_rate.set_xlim(0, total_steps)
    ax_rate.set_ylim(0, 0.125)
    ax_rate.set_xlabel("step t")
    ax_rate.set_ylabel("learning rate at step t")
    ax_rate.set_title("Learning-rate schedules")
    ax_rate.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1.0, 0.79))
    ax_gap.set_xlim(0, total_steps)
    ax_gap.set_ylim(1e-8, 1e3)
    ax_gap.set_xlabel("step t")
    ax_gap.set_ylabel(f"mean f - f* over {runs} noisy runs")
    ax_gap.set_title("SGD on the steep-walled bowl, one curve per schedule")
    summary = ax_gap.text(0.98, 0.97, "", transform=ax_gap.transAxes, ha="right", va="top",
                          fontsize=8, family="monospace",
                          bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"})
    live.animate(*rate_lines.values(), *gap_lines.values(), summary)

    def update(base_lr: float, noise: float, warmup_steps: int) -> None:
        results = schedule_race(base_lr, noise, int(warmup_steps), total_steps, runs)
        for name, (rates, gaps) in results.items():
            rate_lines[name].set_data(steps_axis, rates)
            gap_lines[name].set_data(np.arange(total_steps + 1), gaps)
        summary.set_text(_schedule_summary(results))
        view.artists["results"] = results

    controls = {"base_lr": widgets.FloatSlider(value=0.05, min=0.01, max=0.12, step=0.005,
                                               readout_format=".3f", description="base lr"),
                "noise": widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.25,
                                             description="gradient noise"),
                "warmup_steps": widgets.IntSlider(value=20, min=5, max=100, step=5,
                                                  description="warm-up steps")}
    view = View(live, controls, update, {"rates": rate_lines, "gaps": gap_lines,
                                         "summary": summary, "results": {}})
    return view


__all__ = [
    "SCHEDULES", "OptimizerRace", "SURFACES", "bumpy", "bumpy_gradient", "bumpy_minima",
    "constant_rate", "cosine_decay", "exponential_decay", "forward_difference_gradient",
    "least_squares", "make_regression", "minibatch_sgd_losses", "newton_points",
    "online_adam_counterexample", "power_law_exponent", "race", "race_settings",
    "schedule_race", "schedule_rates", "schedule_view", "scheduled_sgd_gaps", "scipy_points",
    "sine_fit_loss", "solve_times", "steep_bowl", "steep_bowl_curvature", "step_decay",
    "steps_to_reach", "surface_grid", "trajectory", "warmup_cosine",
]
