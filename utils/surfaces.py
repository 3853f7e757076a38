"""Two-dimensional test surfaces for optimizers, with analytic gradients and Hessians.

Every function is pure and vectorised over leading axes: a point ``p`` is an array of shape
(..., 2) holding (x, y); values come back with shape (...), gradients with shape (..., 2) and
Hessians with shape (..., 2, 2). So one call evaluates a whole grid (for contour plots) or
one point per optimizer.

Surfaces (``SURFACES[name]``):
- ``"ill-conditioned bowl"``: f = (x^2 + 20 y^2) / 2, a quadratic whose curvature differs
  20-fold between the axes (condition number 20); minimum 0 at (0, 0).
- ``"rosenbrock"``: f = (1 - x)^2 + 100 (y - x^2)^2, a curved narrow valley; minimum 0 at (1, 1).
- ``"saddle"``: f = x^2 / 2 - y^2 / 2 + y^4 / 4, a saddle point at (0, 0) between two minima
  of value -1/4 at (0, -1) and (0, 1).
- ``"beale"``: f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2, flat
  plateaus and steep walls; minimum 0 at (3, 0.5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BOWL_CURVATURE = 20.0
_BEALE_C = (1.5, 2.25, 2.625)


def _xy(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"A point must be an array whose last axis has length 2 (x, y); "
                         f"got shape {np.shape(p)}.")
    return p[..., 0], p[..., 1]


def _hessian(fxx: np.ndarray, fxy: np.ndarray, fyy: np.ndarray) -> np.ndarray:
    fxx, fxy, fyy = np.broadcast_arrays(fxx, fxy, fyy)
    return np.stack([np.stack([fxx, fxy], -1), np.stack([fxy, fyy], -1)], -2)


# ---- ill-conditioned bowl -------------------------------------------------------------
def bowl(p: np.ndarray) -> np.ndarray:
    """f(x, y) = (x^2 + 20 y^2) / 2. Input (..., 2); returns (...)."""
    x, y = _xy(p)
    return 0.5 * (x**2 + BOWL_CURVATURE * y**2)


def bowl_gradient(p: np.ndarray) -> np.ndarray:
    """Gradient (x, 20 y) of ``bowl``; shape (..., 2)."""
    x, y = _xy(p)
    return np.stack([x, BOWL_CURVATURE * y], -1)


def bowl_hessian(p: np.ndarray) -> np.ndarray:
    """Constant Hessian diag(1, 20) of ``bowl``; shape (..., 2, 2)."""
    x, _ = _xy(p)
    return _hessian(np.ones_like(x), np.zeros_like(x), np.full_like(x, BOWL_CURVATURE))


# ---- Rosenbrock -----------------------------------------------------------------------
def rosenbrock(p: np.ndarray) -> np.ndarray:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2. Input (..., 2); returns (...)."""
    x, y = _xy(p)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_gradient(p: np.ndarray) -> np.ndarray:
    """Gradient of ``rosenbrock``: (-2(1-x) - 400 x (y - x^2), 200 (y - x^2)); shape (..., 2)."""
    x, y = _xy(p)
    return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], -1)


def rosenbrock_hessian(p: np.ndarray) -> np.ndarray:
    """Hessian of ``rosenbrock``: [[2 - 400 y + 1200 x^2, -400 x], [-400 x, 200]]."""
    x, y = _xy(p)
    return _hessian(2 - 400 * y + 1200 * x**2, -400 * x, np.full_like(x, 200.0))


# ---- saddle ---------------------------------------------------------------------------
def saddle(p: np.ndarray) -> np.ndarray:
    """f(x, y) = x^2/2 - y^2/2 + y^4/4. Input (..., 2); returns (...)."""
    x, y = _xy(p)
    return 0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4


def saddle_gradient(p: np.ndarray) -> np.ndarray:
    """Gradient (x, y^3 - y) of ``saddle``; shape (..., 2)."""
    x, y = _xy(p)
    return np.stack([x, y**3 - y], -1)


def saddle_hessian(p: np.ndarray) -> np.ndarray:
    """Hessian diag(1, 3 y^2 - 1) of ``saddle`` (indefinite at the origin)."""
    x, y = _xy(p)
    return _hessian(np.ones_like(x), np.zeros_like(x), 3 * y**2 - 1)


# ---- Beale ----------------------------------------------------------------------------
# f = sum_k r_k^2 with residuals r_k = c_k - x + x y^k, k = 1, 2, 3.
def _beale_residuals(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    y2 = y * y
    return (_BEALE_C[0] - x + x * y, _BEALE_C[1] - x + x * y2, _BEALE_C[2] - x + x * y2 * y)


def beale(p: np.ndarray) -> np.ndarray:
    """Beale's function. Input (..., 2); returns (...)."""
    x, y = _xy(p)
    r1, r2, r3 = _beale_residuals(x, y)
    return r1**2 + r2**2 + r3**2


def beale_gradient(p: np.ndarray) -> np.ndarray:
    """Gradient of ``beale``: sum over k of 2 r_k (y^k - 1, k x y^(k-1)); shape (..., 2)."""
    x, y = _xy(p)
    r1, r2, r3 = _beale_residuals(x, y)
    y2 = y * y
    gx = 2 * (r1 * (y - 1) + r2 * (y2 - 1) + r3 * (y2 * y - 1))
    gy = 2 * x * (r1 + 2 * r2 * y + 3 * r3 * y2)
    return np.stack([gx, gy], -1)


def beale_hessian(p: np.ndarray) -> np.ndarray:
    """Hessian of ``beale``: sum over k of 2 (grad r_k grad r_k^T + r_k Hess r_k), where
    d2r_k/dx2 = 0, d2r_k/dxdy = k y^(k-1) and d2r_k/dy2 = k (k-1) x y^(k-2)."""
    x, y = _xy(p)
    r1, r2, r3 = _beale_residuals(x, y)
    y2 = y * y
    rx = (y - 1, y2 - 1, y2 * y - 1)
    ry = (x, 2 * x * y, 3 * x * y2)
    fxx = 2 * sum(a * a for a in rx)
    fxy = 2 * (sum(a * b for a, b in zip(rx, ry, strict=True)) + r1 + 2 * r2 * y + 3 * r3 * y2)
    fyy = 2 * (sum(b * b for b in ry) + 2 * r2 * x + 6 * r3 * x * y)
    return _hessian(fxx, fxy, fyy)


@dataclass(frozen=True)
class Surface:
    """A test surface with its derivatives and the view used to plot it.

    Attributes:
    - name; value, gradient, hessian: the pure functions above.
    - xlim, ylim: (low, high) plotting window.
    - start: a default start point (x, y) for the race.
    - minima: tuple of the global minimisers (x, y); min_value: f there.
    """

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray], np.ndarray]
    hessian: Callable[[np.ndarray], np.ndarray]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    min_value: float

    def gap(self, p: np.ndarray) -> np.ndarray:
        """f(p) - f(minimum) >= 0, the quantity the loss curves show on a log axis."""
        return self.value(p) - self.min_value


SURFACES: dict[str, Surface] = {
    s.name: s for s in (
        Surface("ill-conditioned bowl", bowl, bowl_gradient, bowl_hessian,
                (-4.0, 4.0), (-2.0, 2.0), (-3.5, 1.5), ((0.0, 0.0),), 0.0),
        Surface("rosenbrock", rosenbrock, rosenbrock_gradient, rosenbrock_hessian,
                (-2.0, 2.0), (-1.0, 3.0), (-1.5, 2.0), ((1.0, 1.0),), 0.0),
        Surface("saddle", saddle, saddle_gradient, saddle_hessian,
                (-2.0, 2.0), (-1.6, 1.6), (-1.8, 1e-3), ((0.0, -1.0), (0.0, 1.0)), -0.25),
        Surface("beale", beale, beale_gradient, beale_hessian,
                (-4.5, 4.5), (-4.5, 4.5), (1.0, 1.5), ((3.0, 0.5),), 0.0),
    )
}


def get_surface(name: str) -> Surface:
    """The surface called ``name``; a clear error lists the valid names otherwise."""
    try:
        return SURFACES[name]
    except KeyError:
        raise ValueError(f"Unknown surface {name!r}; choose one of "
                         f"{', '.join(repr(n) for n in SURFACES)}.") from None
