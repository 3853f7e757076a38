"""Numerical gradients for checking analytic ones (CS231n-compatible names and semantics).

All functions use centred differences (f(x + h) - f(x - h)) / 2h and leave ``x`` exactly
as they found it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def eval_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                            verbose: bool = False, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of a scalar function at x.

    Inputs:
    - f: function taking an array shaped like x and returning a float.
    - x: point (any shape, float dtype); modified in place during the evaluation and restored.
    - verbose: print each coordinate's gradient as it is computed.
    - h: step size.

    Returns grad with the shape of x: grad[i] ~ df/dx[i].
    """
    _require_float(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                                  df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of an array-valued function, contracted with an upstream gradient.

    Inputs:
    - f: function taking an array shaped like x and returning an array shaped like df.
    - x: point; modified in place during the evaluation and restored.
    - df: upstream gradient dL/df.
    - h: step size.

    Returns dx with the shape of x: dx[i] = sum(df * d f / d x[i]).
    """
    _require_float(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64, copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """Maximum relative error max |x - y| / max(1e-8, |x| + |y|), elementwise.

    Rough guide for float64 gradient checks: below 1e-7 is excellent, around 1e-5 is fine
    for functions with kinks (ReLU, hinge), above 1e-3 means a bug.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs arrays of one shape, got {x.shape} and {y.shape}.")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def _require_float(x: np.ndarray) -> None:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            "Numerical gradients need x to be a float numpy array (an integer array would "
            f"round the small steps h away); got {type(x).__name__} "
            f"of dtype {getattr(x, 'dtype', None)}. Convert it with x.astype(np.float64)."
        )
