"""utils.gradcheck against analytic gradients."""

from __future__ import annotations

import numpy as np
import pytest

from utils.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error


def test_numerical_gradient_of_a_quadratic_matches_the_analytic_one():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    x_before = x.copy()
    grad = eval_numerical_gradient(lambda v: float(v @ A @ v), x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8
    assert np.array_equal(x, x_before), "x must be restored exactly"


def test_numerical_gradient_array_contracts_with_upstream():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2))
    W = rng.normal(size=(2, 5))
    dout = rng.normal(size=(3, 5))
    dx = eval_numerical_gradient_array(lambda v: v @ W, x, dout)
    assert rel_error(dx, dout @ W.T) < 1e-8


def test_wrong_gradient_is_detected():
    x = np.array([1.0, 2.0])
    grad = eval_numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    assert rel_error(grad, 2 * x) > 1e-2


def test_rel_error_has_a_floor_for_zero_gradients():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros(1), np.array([1e-12])) == pytest.approx(1e-4)


def test_integer_points_are_refused_in_words():
    with pytest.raises(TypeError, match="float numpy array"):
        eval_numerical_gradient(lambda v: 0.0, np.arange(3))
