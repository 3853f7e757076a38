"""Hidden suite for 04_optimizers: every graded function against the reference notebook.

Points (22) equal the notebook's autograded test cells: sgd 1, sgd_momentum 2,
nesterov_momentum 2, adagrad 2, rmsprop 2, adadelta 2, adam 3, train_minibatch 3,
newton_step 2, lbfgs_direction 3.

Update rules are run for several steps, each side feeding back its own returned config, so
a rule that forgets or mangles its state fails on the second step, not the first.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.expect import calls_to, same_array, same_value

RULE_HYPER = {  # hyper-parameters drawn per test (names -> (low, high))
    "sgd": {"learning_rate": (1e-3, 0.5)},
    "sgd_momentum": {"learning_rate": (1e-3, 0.5), "momentum": (0.5, 0.99)},
    "nesterov_momentum": {"learning_rate": (1e-3, 0.5), "momentum": (0.5, 0.99)},
    "adagrad": {"learning_rate": (1e-3, 0.5), "epsilon": (1e-10, 1e-6)},
    "rmsprop": {"learning_rate": (1e-3, 0.5), "decay_rate": (0.8, 0.999),
                "epsilon": (1e-8, 1e-6)},
    "adadelta": {"learning_rate": (0.5, 2.0), "rho": (0.8, 0.99), "epsilon": (1e-7, 1e-5)},
    "adam": {"learning_rate": (1e-3, 0.5), "beta1": (0.5, 0.95), "beta2": (0.9, 0.9999),
             "epsilon": (1e-8, 1e-6)},
}


def _hyper(rng, name):
    return {key: float(rng.uniform(low, high)) for key, (low, high) in RULE_HYPER[name].items()}


def _trajectory_matches(student, reference, name, rng, shape, steps, config):
    """Run both rules for ``steps`` steps on the same gradients; compare w and config."""
    w_s = w_r = rng.normal(size=shape)
    config_s = config_r = config  # each call receives an encoded copy
    for step in range(1, steps + 1):
        dw = rng.normal(scale=rng.choice([0.01, 1.0, 30.0]), size=shape)
        out_s = getattr(student, name)(w_s, dw, config_s)
        w_r, config_r = getattr(reference, name)(w_r, dw, config_r)
        assert isinstance(out_s, tuple) and len(out_s) == 2, \
            f"{name} must return a pair (next_w, config), got {type(out_s).__name__}"
        w_s, config_s = out_s
        same_array(w_s, w_r, rtol=1e-7, atol=1e-12, dtype_kind="f",
                   what=f"next_w after step {step}")
    same_value(config_s, config_r, rtol=1e-7, atol=1e-12, what="the returned config")


def _rule_test(student, reference, rng, partial, name):
    with partial.part("config=None fills in the defaults and takes one correct step"):
        _trajectory_matches(student, reference, name, rng, (5,), 1, None)
    with partial.part("ten steps on a (4, 3) array with drawn hyper-parameters"):
        _trajectory_matches(student, reference, name, rng, (4, 3), 10, _hyper(rng, name))
    with partial.part("thirty steps on a vector, state carried in config"):
        _trajectory_matches(student, reference, name, rng, (7,), 30, _hyper(rng, name))
    with partial.part("w and dw are not changed in place"):
        w, dw = rng.normal(size=6), rng.normal(size=6)
        result, after = student.call_reporting_inputs(name, w, dw, _hyper(rng, name))
        assert isinstance(result, tuple) and len(result) == 2, f"{name} must return a pair"
        assert np.array_equal(after[0], w) and np.array_equal(after[1], dw), \
            f"{name} changed w or dw in place; compute next_w as a new array"


@pytest.mark.points(1)
def test_sgd(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "sgd")


@pytest.mark.points(2)
def test_sgd_momentum(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "sgd_momentum")


@pytest.mark.points(2)
def test_nesterov_momentum(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "nesterov_momentum")


@pytest.mark.points(2)
def test_adagrad(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "adagrad")


@pytest.mark.points(2)
def test_rmsprop(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "rmsprop")


@pytest.mark.points(2)
def test_adadelta(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "adadelta")


@pytest.mark.points(3)
def test_adam(student, reference, rng, partial):
    _rule_test(student, reference, rng, partial, "adam")
    with partial.part("the step counter t starts at 1 (bias correction 1 - beta^t)"):
        w, dw = rng.normal(size=3), rng.normal(size=3)
        next_w, config = student.adam(w, dw, {"learning_rate": 0.1})
        same_array(next_w, w - 0.1 * dw / (np.abs(dw) + 1e-8), rtol=1e-7, dtype_kind="f",
                   what="next_w after the first step (the corrected moments are dw and dw^2)")
        assert config.get("t") == 1, f"config['t'] should be 1 after one step, got " \
                                     f"{config.get('t')!r}"


def _regression(rng, n, d):
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)


@pytest.mark.points(3)
def test_train_minibatch(student, reference, rng, partial):
    cases = [("sgd, batches that divide N", 64, 3, "sgd", {"learning_rate": 0.05}, 16, 3),
             ("sgd, a smaller last batch", 50, 4, "sgd", {"learning_rate": 0.02}, 16, 4),
             ("sgd, batch_size 1", 9, 2, "sgd", {"learning_rate": 0.01}, 1, 2),
             ("sgd_momentum, full batch", 30, 5, "sgd_momentum",
              {"learning_rate": 0.01, "momentum": 0.8}, 30, 5)]
    for description, n, d, rule, config, batch_size, epochs in cases:
        with partial.part(description):
            X, y = _regression(rng, n, d)
            seed = int(rng.integers(1000))
            got = student.train_minibatch(X, y, rule, dict(config), batch_size=batch_size,
                                          num_epochs=epochs, seed=seed)
            expected = reference.train_minibatch(X, y, rule, dict(config),
                                                 batch_size=batch_size, num_epochs=epochs,
                                                 seed=seed)
            assert isinstance(got, tuple) and len(got) == 2, \
                "train_minibatch must return a pair (w, losses)"
            same_array(got[1], expected[1], rtol=1e-7, atol=1e-10, dtype_kind="f",
                       what="the per-step losses")
            same_array(got[0], expected[0], rtol=1e-7, atol=1e-10, dtype_kind="f",
                       what="the final w")
    with partial.part("the caller's X, y and config are not changed"):
        X, y = _regression(rng, 20, 2)
        config = {"learning_rate": 0.1}
        _, after = student.call_reporting_inputs("train_minibatch", X, y, "sgd", config, 8, 2, 3)
        assert np.array_equal(after[0], X) and np.array_equal(after[1], y), \
            "train_minibatch changed X or y"
        assert after[3] == config, "train_minibatch changed the caller's config; copy it first"




def _spd(rng, k, condition=10.0):
    Q, _ = np.linalg.qr(rng.normal(size=(k, k)))
    return Q @ np.diag(np.logspace(0, np.log10(condition), k)) @ Q.T


@pytest.mark.points(2)
def test_newton_step(student, reference, rng, partial):
    for k, condition in [(2, 5.0), (6, 100.0), (20, 1e6)]:
        with partial.part(f"k={k}, Hessian condition number {condition:g}"):
            H, grad, theta = _spd(rng, k, condition), rng.normal(size=k), rng.normal(size=k)
            same_array(student.newton_step(theta, grad, H), reference.newton_step(theta, grad, H),
                       rtol=1e-6, atol=1e-8, dtype_kind="f", what="theta_new")
    with partial.part("an indefinite Hessian (a saddle) is used as given"):
        H = np.diag([2.0, -1.0, 0.5])
        theta, grad = rng.normal(size=3), rng.normal(size=3)
        same_array(student.newton_step(theta, grad, H), reference.newton_step(theta, grad, H),
                   rtol=1e-8, dtype_kind="f", what="theta_new")
    with partial.part("uses a linear solve, not an explicit inverse"):
        H, grad, theta = _spd(rng, 4), rng.normal(size=4), rng.normal(size=4)
        same_array(student.newton_step(theta, grad, H), reference.newton_step(theta, grad, H),
                   rtol=1e-8, dtype_kind="f", what="theta_new")  # a stub cannot pass
        calls = calls_to(student.source("newton_step"), ("inv", "pinv"))
        assert not calls, "found " + ", ".join(calls) + ": use np.linalg.solve instead"


def _pairs(rng, k, m):
    """m pairs (s, y = A s) of a random SPD A: positive curvature s.y > 0."""
    A = _spd(rng, k, 50.0)
    S = [rng.normal(size=k) for _ in range(m)]
    return S, [A @ s for s in S]


@pytest.mark.points(3)
def test_lbfgs_direction(student, reference, rng, partial):
    with partial.part("no history: -grad"):
        grad = rng.normal(size=4)
        same_array(student.lbfgs_direction(grad, [], []), -grad, rtol=1e-12, dtype_kind="f",
                   what="the direction")
    for k, m in [(3, 1), (10, 5), (30, 8)]:
        with partial.part(f"{m} pair(s) in {k} dimensions"):
            S, Y = _pairs(rng, k, m)
            grad = rng.normal(size=k)
            same_array(student.lbfgs_direction(grad, S, Y), reference.lbfgs_direction(grad, S, Y),
                       rtol=1e-7, atol=1e-10, dtype_kind="f", what="the direction")
    with partial.part("the order of the history matters (oldest pair first)"):
        S, Y = _pairs(rng, 6, 4)
        grad = Y[-1]
        same_array(student.lbfgs_direction(grad, S, Y), -S[-1], rtol=1e-7, atol=1e-10,
                   dtype_kind="f", what="the direction for grad = newest y (secant equation)")
    with partial.part("grad and the history lists are not changed"):
        S, Y = _pairs(rng, 5, 3)
        grad = rng.normal(size=5)
        _, after = student.call_reporting_inputs("lbfgs_direction", grad, S, Y)
        assert np.array_equal(after[0], grad), "lbfgs_direction changed grad in place"
        assert len(after[1]) == 3 and all(np.array_equal(a, b) for a, b in zip(after[1], S, strict=True)), \
            "lbfgs_direction changed the s history"
