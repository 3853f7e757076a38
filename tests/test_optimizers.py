"""The 04_optimizers reference solutions, checked against independent definitions.

The graded functions are executed from the solution notebook's ``solution: true`` cells (as
the grader extracts them) and compared with
- hand-derived trajectories (closed forms for constant gradients and 1-D quadratics),
- PyTorch's ``torch.optim`` (SGD, momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam),
  step for step to 1e-7 relative with equal hyper-parameters,
- explicit BFGS inverse-Hessian matrix updates for the L-BFGS two-loop recursion,
- ``numpy.linalg.lstsq`` for Newton's step on linear regression.
Also: the documented config keys are the reference's and the docstrings', the hidden suite's
models of known mistakes (its feedback) reproduce the reference without a mistake, and the
self-checks fail on wrong code that the variant library (tests/variants/optimizers.py, graded
with exact scores by tests/test_grading_fairness.py) does not already hold.
"""

from __future__ import annotations

import ast
from functools import cache

import nbformat
import numpy as np
import pytest
from conftest import ROOT
from helpers.loading import module_from_file
from helpers.reference import graded_sources, load_graded_cells
from helpers.torch_schedules import torch_rates

from utils.checks import NotImplementedYet, SelfCheckFailed
from utils.rules import RULE_INPUTS, RULE_NO_INVERSE
from utils.selfchecks import optimizers as checks

NOTEBOOK = ROOT / "solutions" / "04_optimizers" / "04_optimizers.ipynb"
SUITE = ROOT / "autograder" / "suites" / "04_optimizers" / "test_optimizers.py"
RULES = ("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adadelta", "adam")


@cache
def _solution_namespace() -> dict:
    return load_graded_cells(NOTEBOOK)


def solution(name: str):
    """A graded function of the solution notebook (its cells run once, as the grader does)."""
    return _solution_namespace()[name]


def run_rule(rule, w0, gradients, config=None):
    """Feed gradients to a rule; returns the list of iterates (w0 first)."""
    points, w = [np.array(w0, dtype=np.float64)], np.array(w0, dtype=np.float64)
    for g in gradients:
        w, config = rule(w, np.asarray(g, dtype=np.float64), config)
        points.append(w)
    return np.array(points)


# ---- hand-derived trajectories ------------------------------------------------------------
G = np.array([2.0, -0.5, 1.0])


def test_sgd_constant_gradient_moves_linearly():
    points = run_rule(solution("sgd"), np.zeros(3), [G] * 5, {"learning_rate": 0.1})
    assert np.allclose(points, -0.1 * np.arange(6)[:, None] * G, rtol=1e-12)


def test_sgd_on_a_1d_quadratic_contracts_geometrically():
    # f = a x^2 / 2: x_{t+1} = (1 - lr a) x_t, so x_t = (1 - lr a)^t x_0
    rule, x, config = solution("sgd"), np.array([3.0]), {"learning_rate": 0.15}
    for t in range(1, 30):
        x, config = rule(x, 4.0 * x, config)
        assert x[0] == pytest.approx(3.0 * (1 - 0.6) ** t, rel=1e-12)


def test_momentum_constant_gradient_geometric_velocity():
    lr, mu, steps = 0.1, 0.9, 12
    points = run_rule(solution("sgd_momentum"), np.zeros(3), [G] * steps,
                      {"learning_rate": lr, "momentum": mu})
    velocities = [-lr * G * (1 - mu**t) / (1 - mu) for t in range(1, steps + 1)]
    assert np.allclose(points[1:], np.cumsum(velocities, axis=0), rtol=1e-12)


def test_momentum_on_a_quadratic_is_the_heavy_ball_recurrence():
    # x_{t+1} = x_t + mu (x_t - x_{t-1}) - lr a x_t  (Polyak's heavy ball)
    rule, lr, mu, a = solution("sgd_momentum"), 0.05, 0.8, 3.0
    x, config, previous = np.array([1.0]), {"learning_rate": lr, "momentum": mu}, np.array([1.0])
    expected_now, expected_before = 1.0, 1.0
    for _ in range(40):
        previous, (x, config) = x, rule(x, a * x, config)
        expected_now, expected_before = (expected_now + mu * (expected_now - expected_before)
                                         - lr * a * expected_now), expected_now
        assert x[0] == pytest.approx(expected_now, rel=1e-10, abs=1e-14)
    assert previous[0] == pytest.approx(expected_before, rel=1e-10, abs=1e-14)


def test_nesterov_matches_sutskevers_lookahead_form():
    # Sutskever et al.: v' = mu v - lr grad(theta + mu v); theta' = theta + v'. The rule tracks
    # phi = theta + mu v; compare on f = a x^2 / 2 in 2-D with different curvatures.
    a, lr, mu = np.array([1.0, 10.0]), 0.05, 0.9
    theta, v = np.array([1.0, -1.0]), np.zeros(2)
    phi, config = theta.copy(), {"learning_rate": lr, "momentum": mu}
    rule = solution("nesterov_momentum")
    for _ in range(30):
        v = mu * v - lr * a * (theta + mu * v)
        theta = theta + v
        phi, config = rule(phi, a * phi, config)
        assert np.allclose(phi, theta + mu * v, rtol=1e-10, atol=1e-14)


def test_adagrad_steps_shrink_like_one_over_sqrt_t():
    lr, eps = 0.3, 1e-10
    points = run_rule(solution("adagrad"), np.zeros(3), [G] * 9,
                      {"learning_rate": lr, "epsilon": eps})
    steps = np.diff(points, axis=0)
    expected = np.array([-lr * G / (np.sqrt(t) * np.abs(G) + eps) for t in range(1, 10)])
    assert np.allclose(steps, expected, rtol=1e-12)


def test_rmsprop_constant_gradient_closed_form():
    lr, rho, eps = 0.01, 0.9, 1e-8
    points = run_rule(solution("rmsprop"), np.zeros(3), [G] * 8,
                      {"learning_rate": lr, "decay_rate": rho, "epsilon": eps})
    expected = [-lr * G / (np.sqrt(1 - rho**t) * np.abs(G) + eps) for t in range(1, 9)]
    assert np.allclose(np.diff(points, axis=0), expected, rtol=1e-12)


def test_adadelta_first_two_steps_by_hand():
    rho, eps = 0.9, 1e-6
    points = run_rule(solution("adadelta"), np.zeros(3), [G, G], {"rho": rho, "epsilon": eps})
    r1 = (1 - rho) * G**2
    d1 = np.sqrt(eps) / np.sqrt(r1 + eps) * G
    u1 = (1 - rho) * d1**2
    r2 = rho * r1 + (1 - rho) * G**2
    d2 = np.sqrt(u1 + eps) / np.sqrt(r2 + eps) * G
    assert np.allclose(points[1:], [-d1, -d1 - d2], rtol=1e-12)


def test_adam_constant_gradient_moves_lr_per_step_from_the_first_step():
    lr, eps = 0.05, 1e-8
    points = run_rule(solution("adam"), np.zeros(3), [G] * 20, {"learning_rate": lr})
    expected = -lr * np.arange(21)[:, None] * G / (np.abs(G) + eps)
    assert np.allclose(points, expected, rtol=1e-10)


# ---- PyTorch step for step ---------------------------------------------------------------
TORCH_CASES = [
    ("sgd", {"learning_rate": 0.03}, "SGD", {"lr": 0.03}),
    ("sgd_momentum", {"learning_rate": 0.02, "momentum": 0.9}, "SGD",
     {"lr": 0.02, "momentum": 0.9}),
    ("sgd_momentum", {"learning_rate": 0.1, "momentum": 0.5}, "SGD",
     {"lr": 0.1, "momentum": 0.5}),
    ("nesterov_momentum", {"learning_rate": 0.02, "momentum": 0.9}, "SGD",
     {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    ("nesterov_momentum", {"learning_rate": 0.05, "momentum": 0.7}, "SGD",
     {"lr": 0.05, "momentum": 0.7, "nesterov": True}),
    ("adagrad", {"learning_rate": 0.1, "epsilon": 1e-10}, "Adagrad", {"lr": 0.1, "eps": 1e-10}),
    ("adagrad", {"learning_rate": 0.5, "epsilon": 1e-6}, "Adagrad", {"lr": 0.5, "eps": 1e-6}),
    ("rmsprop", {"learning_rate": 0.01, "decay_rate": 0.99, "epsilon": 1e-8}, "RMSprop",
     {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}),
    ("rmsprop", {"learning_rate": 0.003, "decay_rate": 0.9, "epsilon": 1e-6}, "RMSprop",
     {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}),
    ("adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}, "Adadelta",
     {"lr": 1.0, "rho": 0.9, "eps": 1e-6}),
    ("adadelta", {"learning_rate": 0.5, "rho": 0.95, "epsilon": 1e-4}, "Adadelta",
     {"lr": 0.5, "rho": 0.95, "eps": 1e-4}),
    ("adam", {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, "Adam",
     {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}),
    ("adam", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}, "Adam",
     {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
]


def _quadratic(seed: int = 0, dim: int = 6):
    """f(w) = 1/2 w^T A w - b^T w with a random SPD A (condition ~100)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    A = Q @ np.diag(np.logspace(0, 2, dim)) @ Q.T
    return A, rng.normal(size=dim), rng.normal(size=dim)


@pytest.mark.parametrize("name, config, torch_name, torch_kwargs", TORCH_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TORCH_CASES)])
def test_rule_matches_torch_optim_step_for_step(name, config, torch_name, torch_kwargs):
    torch = pytest.importorskip("torch")
    A, b, w0 = _quadratic()
    scale = 0.01 if name in ("sgd", "sgd_momentum", "nesterov_momentum") else 1.0
    A = A * scale  # keep the plain-gradient rules stable (lr * lambda_max < 2)
    param = torch.tensor(w0.copy(), dtype=torch.float64, requires_grad=True)
    optimizer = getattr(torch.optim, torch_name)([param], **torch_kwargs)
    rule, w, state = solution(name), w0.copy(), dict(config)
    for step in range(1, 101):
        # each side takes its own gradient at its own point (closed loop)
        w, state = rule(w, A @ w - b, state)
        param.grad = torch.from_numpy(A @ param.detach().numpy() - b)
        optimizer.step()
        ours, theirs = w, param.detach().numpy()
        assert np.allclose(ours, theirs, rtol=1e-7, atol=1e-12 * np.abs(theirs).max()), \
            f"{name} differs from torch.optim.{torch_name} at step {step}: {ours} vs {theirs}"


@pytest.mark.parametrize("name, config, torch_name, torch_kwargs", TORCH_CASES[::2],
                         ids=[c[0] for c in TORCH_CASES[::2]])
def test_rule_matches_torch_on_random_gradients_of_a_matrix(name, config, torch_name,
                                                            torch_kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 3))
    param = torch.tensor(w0.copy(), dtype=torch.float64, requires_grad=True)
    optimizer = getattr(torch.optim, torch_name)([param], **torch_kwargs)
    rule, w, state = solution(name), w0.copy(), dict(config)
    for _ in range(60):
        g = rng.normal(scale=rng.choice([1e-3, 1.0, 50.0]), size=(4, 3))
        w, state = rule(w, g, state)
        param.grad = torch.from_numpy(g.copy())
        optimizer.step()
        assert np.allclose(w, param.detach().numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", RULES)
def test_rule_defaults_match_the_documented_ones(name):
    _, config = solution(name)(np.ones(2), np.ones(2))
    for key, value in checks.DEFAULTS[name].items():
        assert config[key] == value


# ---- Newton, L-BFGS ----------------------------------------------------------------------
def test_newton_one_step_on_linear_regression_is_least_squares():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, 5)), rng.normal(size=40)
    theta0 = rng.normal(scale=5.0, size=5)
    grad = 2 / len(y) * X.T @ (X @ theta0 - y)
    theta1 = solution("newton_step")(theta0, grad, 2 / len(y) * X.T @ X)
    assert np.allclose(theta1, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-9, atol=1e-12)


def _explicit_bfgs_direction(grad, S, Y):
    """-H grad with H built by explicit BFGS inverse-Hessian updates from H0 = gamma I."""
    k = len(grad)
    if not S:
        return -grad
    H = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * np.eye(k)
    for s, y in zip(S, Y, strict=True):  # oldest first
        rho = 1.0 / (y @ s)
        V = np.eye(k) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return -H @ grad


@pytest.mark.parametrize("k, m", [(2, 1), (5, 3), (12, 5), (30, 10)])
def test_lbfgs_direction_equals_explicit_bfgs_updates(k, m):
    rng = np.random.default_rng(k * 100 + m)
    A = rng.normal(size=(k, k))
    A = A @ A.T + k * np.eye(k)
    S = [rng.normal(size=k) for _ in range(m)]
    Y = [A @ s + 0.1 * rng.normal(size=k) for s in S]
    assert all(s @ y > 0 for s, y in zip(S, Y, strict=True))
    grad = rng.normal(size=k)
    got = solution("lbfgs_direction")(grad, S, Y)
    assert np.allclose(got, _explicit_bfgs_direction(grad, S, Y), rtol=1e-9, atol=1e-12)


def test_lbfgs_with_full_history_on_a_quadratic_recovers_the_newton_step():
    # Exact line searches on a quadratic make BFGS reach H = A^{-1} after k steps; with
    # conjugate directions s_i (A-orthogonal), the k pairs define A^{-1} exactly.
    rng = np.random.default_rng(5)
    k = 4
    A = rng.normal(size=(k, k))
    A = A @ A.T + np.eye(k)
    eigenvalues, vectors = np.linalg.eigh(A)
    S = [vectors[:, i] for i in range(k)]  # eigenvectors are A-conjugate
    Y = [A @ s for s in S]
    grad = rng.normal(size=k)
    assert np.allclose(solution("lbfgs_direction")(grad, S, Y), -np.linalg.solve(A, grad),
                       rtol=1e-9)


# ---- the training loop -------------------------------------------------------------------
def test_train_minibatch_full_batch_is_gradient_descent_by_hand():
    X, y = np.array([[1.0], [2.0]]), np.array([2.0, 4.0])
    w, losses = solution("train_minibatch")(X, y, solution("sgd"), {"learning_rate": 0.1},
                                            batch_size=2, num_epochs=4)
    assert np.allclose(losses, [10.0, 2.5, 0.625, 0.15625])
    assert np.allclose(w, [1.875])


def test_train_minibatch_visits_samples_in_the_documented_order():
    y = np.arange(1.0, 12.0)
    _, losses = solution("train_minibatch")(np.ones((11, 1)), y, solution("sgd"),
                                            {"learning_rate": 0.0}, batch_size=3, num_epochs=2,
                                            seed=9)
    rng = np.random.default_rng(9)
    expected = []
    for _ in range(2):
        order = rng.permutation(11)
        expected += [np.mean(y[order[i:i + 3]] ** 2) for i in range(0, 11, 3)]
    assert np.allclose(losses, expected)


# ---- learning-rate schedules ---------------------------------------------------------------
SCHEDULES = ("step_decay", "exponential_decay", "cosine_decay", "warmup_cosine")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_schedules_match_torch_lr_schedulers():
    t = np.arange(60)
    assert np.allclose(solution("step_decay")(t, 0.3, 7, gamma=0.4),
                       torch_rates(lambda s, o: s.StepLR(o, step_size=7, gamma=0.4), 60, 0.3),
                       rtol=1e-12)
    assert np.allclose(solution("exponential_decay")(t, 0.3, 0.93),
                       torch_rates(lambda s, o: s.ExponentialLR(o, gamma=0.93), 60, 0.3),
                       rtol=1e-10)
    # CosineAnnealingLR agrees up to t = T_max (after it PyTorch's cosine rises again)
    assert np.allclose(solution("cosine_decay")(np.arange(41), 0.3, 40, final_lr=0.01),
                       torch_rates(lambda s, o: s.CosineAnnealingLR(o, T_max=40, eta_min=0.01),
                                    41, 0.3), rtol=1e-10)
    # the warm-up is LinearLR(start_factor=1/W, total_iters=W - 1)
    assert np.allclose(solution("warmup_cosine")(np.arange(8), 0.3, 8, 50),
                       torch_rates(lambda s, o: s.LinearLR(o, start_factor=1 / 8, end_factor=1.0,
                                                            total_iters=7), 8, 0.3), rtol=1e-10)


def test_schedules_by_hand_and_their_types():
    step, expo, cosine, warmup = (solution(n) for n in SCHEDULES)
    assert np.allclose(step(np.arange(9), 1.0, 3), [1, 1, 1, .5, .5, .5, .25, .25, .25])
    assert cosine(10, 0.4, 10, 0.1) == pytest.approx(0.1) and cosine(99, 0.4, 10, 0.1) == \
        pytest.approx(0.1)
    # the cosine is symmetric about its middle: eta_t + eta_{T - t} = base + final
    t = np.arange(0, 21)
    assert np.allclose(cosine(t, 0.4, 20, 0.1) + cosine(20 - t, 0.4, 20, 0.1), 0.5)
    rates = warmup(np.arange(30), 0.5, 6, 24, 0.05)
    assert np.allclose(rates[:6], 0.5 * np.arange(1, 7) / 6)
    assert np.allclose(rates[6:], cosine(np.arange(24), 0.5, 18, 0.05))
    assert np.all(np.diff(rates[:6]) > 0) and np.all(np.diff(rates[6:25]) < 0)
    for name, args in zip(SCHEDULES, ((0.3, 4), (0.3, 0.9), (0.3, 10), (0.3, 3, 10)),
                          strict=True):
        assert np.ndim(solution(name)(5, *args)) == 0
        got = solution(name)(np.arange(12).reshape(3, 4), *args)
        assert got.shape == (3, 4) and got.dtype == np.float64


# ---- the training loop with learning curves ---------------------------------------------
def _blobs(seed: int, n: int, classes: int = 3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, 2))
    y = rng.integers(classes, size=n)
    return np.hstack([centres[y] + rng.normal(size=(n, 2)), np.ones((n, 1))]), y


def _softmax(w, X, y):
    p = np.exp(X @ w - (X @ w).max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    p[np.arange(len(y)), y] -= 1
    return loss, X.T @ p / len(y)


def _argmax(w, X):
    return np.argmax(X @ w, axis=1)


def _blob_data(seed: int = 0) -> dict:
    X, y = _blobs(seed, 34)  # one draw of blobs: 23 training and 11 validation samples
    return {"X_train": X[:23], "y_train": y[:23], "X_val": X[23:], "y_val": y[23:]}


def test_train_classifier_batches_rates_and_curves_follow_the_text():
    # Record what the loop does from outside: the batches loss_fn sees, the rates the rule
    # receives, and w after every update; then rebuild the expected values independently.
    data, seen_rows, rates, ws = _blob_data(), [], [], []
    row_of = {tuple(row): i for i, row in enumerate(data["X_train"])}

    def loss_fn(w, X, y):
        if len(X) <= 5:  # a minibatch (the full sets are larger)
            seen_rows.append([row_of[tuple(row)] for row in X])
        return _softmax(w, X, y)

    def rule(w, dw, config):
        rates.append(config["learning_rate"])
        ws.append(w - config["learning_rate"] * dw)
        return ws[-1], config

    schedule = lambda t: 0.5 / (1 + t)  # noqa: E731
    w, history = solution("train_classifier")(loss_fn, _argmax, np.zeros((3, 3)), data, rule,
                                              {"learning_rate": 9.0}, lr_schedule=schedule,
                                              batch_size=5, num_epochs=3, seed=4)
    rng = np.random.default_rng(4)
    order = [rng.permutation(23) for _ in range(3)]
    expected_rows = [list(o[i:i + 5]) for o in order for i in range(0, 23, 5)]
    assert seen_rows == expected_rows  # 5 batches per epoch, the last one of 3 samples
    assert rates == [schedule(t) for t in range(15)]  # the step counts over the whole run
    assert np.array_equal(w, ws[-1])
    epoch_ends = [ws[4], ws[9], ws[14]]
    for split in ("train", "val"):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert history[f"{split}_loss"] == [_softmax(v, X, y)[0] for v in epoch_ends]
        assert history[f"{split}_acc"] == [np.mean(_argmax(v, X) == y) for v in epoch_ends]
    assert all(type(v) is float for values in history.values() for v in values)


def test_train_classifier_full_batch_is_gradient_descent_and_learns():
    data = _blob_data(1)
    w, history = solution("train_classifier")(_softmax, _argmax, np.zeros((3, 3)), data,
                                              solution("sgd"), {"learning_rate": 0.5},
                                              batch_size=23, num_epochs=30)
    expected = np.zeros((3, 3))
    for _ in range(30):
        expected = expected - 0.5 * _softmax(expected, data["X_train"], data["y_train"])[1]
    assert np.allclose(w, expected, rtol=1e-12)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["train_acc"][-1] >= 0.8 and history["val_acc"][-1] >= 0.7


def test_train_classifier_keeps_its_inputs_and_works_with_every_rule():
    data = _blob_data(2)
    for name in RULES:
        config = {"learning_rate": 0.05}
        w0 = np.ones((3, 3))
        w, history = solution("train_classifier")(_softmax, _argmax, w0, data, solution(name),
                                                  config, batch_size=8, num_epochs=2, seed=1)
        assert config == {"learning_rate": 0.05} and np.array_equal(w0, np.ones((3, 3)))
        assert w.shape == (3, 3) and np.all(np.isfinite(w)) and len(history["val_acc"]) == 2


# ---- one statement of the contract: docstrings, self-checks, reference, suite ------------
@pytest.mark.parametrize("name", RULES)
def test_documented_keys_are_the_keys_the_reference_returns(name):
    _, config = solution(name)(np.ones(2), np.ones(2))
    assert tuple(config) == checks.documented_keys(name)


@pytest.mark.parametrize("name", RULES)
def test_each_docstring_lists_the_documented_keys(name):
    source = graded_sources(NOTEBOOK)[name]
    assert ", ".join(checks.documented_keys(name)) + "." in source, \
        f"the docstring of {name} must list its documented keys"


def test_the_rule_wording_appears_next_to_every_function_it_applies_to():
    text = " ".join(c.source.replace("\n", " ").replace("*", "")
                    for c in nbformat.read(NOTEBOOK, as_version=4).cells
                    if c.cell_type == "markdown")
    assert text.count(RULE_INPUTS) >= 4  # the rules, the loop, Newton, L-BFGS
    assert RULE_NO_INVERSE in text


# ---- the suite's models of known mistakes (feedback only) --------------------------------
def _suite_module(name: str):
    return module_from_file(SUITE.parent / f"{name}.py", f"_optimizers_{name}")


@pytest.mark.parametrize("name", RULES)
def test_mistake_models_without_a_mistake_equal_the_reference(name):
    models = _suite_module("optimizer_mistakes")
    rng = np.random.default_rng(3)
    config = {**checks.DEFAULTS[name], "learning_rate": 0.05}
    if "epsilon" in config:
        config["epsilon"] = 0.3  # large enough that where it sits shows
    gradients = [rng.normal(size=(2, 3)) for _ in range(6)]
    w0 = rng.normal(size=(2, 3))
    ours = run_rule(solution(name), w0, gradients, dict(config))
    model = [w for w, _ in models.rule_trajectory(name, w0, gradients, dict(config))]
    assert np.allclose(ours[1:], model, rtol=1e-12, atol=1e-15)
    for mistake in models.RULE_MISTAKES[name]:  # every named mistake really differs
        wrong = [w for w, _ in models.rule_trajectory(name, w0, gradients, dict(config),
                                                      mistake)]
        assert not np.allclose(ours[1:], wrong, rtol=1e-7), mistake


def test_lbfgs_mistake_models_without_a_mistake_equal_the_reference():
    models = _suite_module("optimizer_mistakes")
    rng = np.random.default_rng(4)
    A = rng.normal(size=(6, 6))
    A = A @ A.T + 6 * np.eye(6)
    S = [rng.normal(size=6) * scale for scale in (10.0, 3.0, 1.0, 0.3)]
    Y = [A @ s for s in S]
    grad = rng.normal(size=6)
    expected = solution("lbfgs_direction")(grad, S, Y)
    assert np.allclose(models.lbfgs_model(grad, S, Y), expected, rtol=1e-12)
    for mistake in models.LBFGS_MISTAKES:
        assert not np.allclose(models.lbfgs_model(grad, S, Y, mistake), expected), mistake


@pytest.mark.parametrize("old, new, cause", [
    ("order = rng.permutation(N)", "order = rng.integers(0, N, size=N)", "more than once"),
    ("order = rng.permutation(N)", "order = np.arange(N)", "stored order"),
    ("        order = rng.permutation(N)",
     "        order = np.random.default_rng(seed).permutation(N)", "same order"),
])
def test_explain_order_names_the_cause(old, new, cause):
    models = _suite_module("optimizer_mistakes")
    loop = load_graded_cells(NOTEBOOK, replace={"train_minibatch": (old, new)})
    y = np.arange(1.0, 10.0)[::-1].copy()
    _, losses = loop["train_minibatch"](np.ones((9, 2)), y, solution("sgd"),
                                        {"learning_rate": 0.0}, batch_size=1, num_epochs=3,
                                        seed=11)
    assert cause in models.explain_order(losses, y, 3, 11)


# ---- the self-checks pass the solution and catch wrong code ------------------------------
CHECKS = {"sgd": checks.check_sgd, "sgd_momentum": checks.check_sgd_momentum,
          "nesterov_momentum": checks.check_nesterov_momentum, "adagrad": checks.check_adagrad,
          "rmsprop": checks.check_rmsprop, "adadelta": checks.check_adadelta,
          "adam": checks.check_adam, "newton_step": checks.check_newton_step,
          "lbfgs_direction": checks.check_lbfgs_direction,
          "train_minibatch": checks.check_train_minibatch,
          "train_classifier": checks.check_train_classifier}


@pytest.mark.parametrize("name", CHECKS)
def test_self_check_passes_the_solution(name):
    CHECKS[name](solution(name))


def test_schedule_and_curve_self_checks_pass_the_solution():
    checks.check_lr_schedules(*(solution(name) for name in SCHEDULES))
    checks.check_train_classifier(solution("train_classifier"))


# Mistakes the variant library (tests/variants/optimizers.py, graded by
# tests/test_grading_fairness.py) does not hold: each must fail its visible self-check.
MUTANTS = [
    ("adam", "m_hat / (np.sqrt(v_hat)", "m_hat * dw / (np.sqrt(v_hat)"),  # slide erratum 2
    ("adam", '(np.sqrt(v_hat) + config["epsilon"])', "(np.sqrt(v_hat) + 1e-8)"),
    ("adagrad", '(np.sqrt(cache) + config["epsilon"])', 'np.sqrt(cache + config["epsilon"])'),
    ("adagrad", '(np.sqrt(cache) + config["epsilon"])', "(np.sqrt(cache) + 1e-10)"),
    ("rmsprop", "(1 - rho) * dw * dw", "(1 - rho) * dw"),
    ("rmsprop", "cache = rho * cache + (1 - rho) * dw * dw",
     "cache = (1 - rho) * cache + rho * dw * dw"),
    ("adadelta", "np.sqrt(cache + eps) * dw", "np.sqrt(cache) * dw"),
    ("nesterov_momentum", 'next_w = w + config["momentum"] * v - config["learning_rate"] * dw',
     "next_w = w + v"),
    ("sgd", "w - config[\"learning_rate\"] * dw", "w - 0.01 * dw"),
    ("newton_step", "theta - np.linalg.solve(hessian, grad)", "theta - grad"),
    ("lbfgs_direction", "s, y = pairs[-1]", "s, y = pairs[0]"),
    ("lbfgs_direction", "pairs = list(zip(s_history, y_history, strict=True))",
     "pairs = list(zip(s_history, y_history, strict=True))[::-1]"),
    ("train_minibatch", "losses.append(residual @ residual / len(rows))",
     "losses.append(residual @ residual)"),
    ("train_minibatch", "order = rng.permutation(N)", "order = np.random.permutation(N)"),
    ("train_classifier", "shuffled = rng.permutation(num_train)",
     "shuffled = np.random.permutation(num_train)"),
    ("train_classifier", "float(np.mean(predict_fn(w, X_split) == y_split))",
     "float(np.sum(predict_fn(w, X_split) == y_split))"),
    ("train_classifier", "history[split + \"_loss\"].append(float(loss_fn(w, X_split, "
     "y_split)[0]))", "history[split + \"_loss\"].append(float(loss_fn(w, X_split, "
     "y_split)[0]) / len(y_split))"),
]

# Schedule mistakes the variant library does not hold: each fails check_lr_schedules.
SCHEDULE_MUTANTS = [
    ("stairs = np.asarray(t) // step_size", "stairs = np.asarray(t) / step_size"),
    ("return base_lr * np.power(float(gamma), stairs)", "return base_lr * gamma * stairs"),
    ("np.power(float(gamma), np.asarray(t))", "np.exp(-float(gamma) * np.asarray(t))"),
    ("final_lr + 0.5 * (base_lr - final_lr)", "final_lr + 0.5 * base_lr"),
    ("(1.0 + np.cos(np.pi * fraction))", "(1.0 + np.cos(np.pi * fraction / 2))"),
    ("np.where(steps < warmup_steps, ramp, decay)", "np.where(steps <= warmup_steps, ramp, "
     "decay)"),
    ("total_steps - warmup_steps, final_lr)", "total_steps - warmup_steps)"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("old, new", SCHEDULE_MUTANTS,
                         ids=[f"schedule-{i}" for i in range(len(SCHEDULE_MUTANTS))])
def test_schedule_self_check_catches_a_wrong_schedule(old, new, capsys):
    wrong = load_graded_cells(NOTEBOOK, replace={"lr_schedules": (old, new)})
    with pytest.raises(SelfCheckFailed):
        checks.check_lr_schedules(*(wrong[name] for name in SCHEDULES))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some mutants divide by zero
@pytest.mark.parametrize("name, old, new", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in
                                                         enumerate(MUTANTS)])
def test_self_check_catches_a_wrong_function(name, old, new, capsys):
    wrong = load_graded_cells(NOTEBOOK, replace={name: (old, new)})[name]
    with pytest.raises(SelfCheckFailed):
        CHECKS[name](wrong)


def test_self_check_reports_a_stub_as_not_implemented():
    def adam(w, dw, config=None):
        raise NotImplementedError()

    with pytest.raises(NotImplementedYet):
        checks.check_adam(adam)


# ---- the hidden suite's points ----------------------------------------------------------
def test_hidden_suite_points_equal_the_notebook_points():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    notebook_points = sum(float(c.metadata["nbgrader"]["points"]) for c in nb.cells
                          if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))
    suite_points = 0.0
    for node in ast.walk(ast.parse(SUITE.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            marks = [d for d in node.decorator_list if isinstance(d, ast.Call)
                     and ast.unparse(d.func) == "pytest.mark.points"]
            assert len(marks) == 1, f"{node.name} needs exactly one @pytest.mark.points(n)"
            suite_points += float(ast.literal_eval(marks[0].args[0]))
    assert suite_points == notebook_points == 29
