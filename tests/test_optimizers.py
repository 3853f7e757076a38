"""The 04_optimizers reference solutions, checked against independent definitions.

The graded functions are executed from the solution notebook's ``solution: true`` cells (as
the grader extracts them) and compared with
- hand-derived trajectories (closed forms for constant gradients and 1-D quadratics),
- PyTorch's ``torch.optim`` (SGD, momentum, Nesterov, Adagrad, RMSprop, Adadelta, Adam),
  step for step to 1e-7 relative with equal hyper-parameters,
- explicit BFGS inverse-Hessian matrix updates for the L-BFGS two-loop recursion,
- ``numpy.linalg.lstsq`` for Newton's step on linear regression.
The self-checks are also run against deliberately wrong rules (the slides' errata among
them), to show that they can fail.
"""

from __future__ import annotations

import ast
from functools import cache

import nbformat
import numpy as np
import pytest
from conftest import ROOT
from helpers.reference import load_graded_cells

from utils.checks import NotImplementedYet, SelfCheckFailed
from utils.selfchecks import optimizers as checks

NOTEBOOK = ROOT / "solutions" / "04_optimizers" / "04_optimizers.ipynb"
SUITE = ROOT / "autograder" / "suites" / "04_optimizers" / "test_optimizers.py"
RULES = ("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adadelta", "adam")


@cache
def _solution_namespace() -> dict:
    return load_graded_cells(NOTEBOOK)


def solution(name: str):
    """A graded function of the solution notebook, in a namespace of its own (fresh copy)."""
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
    _, losses = solution("train_minibatch")(np.ones((11, 1)), y, "sgd", {"learning_rate": 0.0},
                                            batch_size=3, num_epochs=2, seed=9)
    rng = np.random.default_rng(9)
    expected = []
    for _ in range(2):
        order = rng.permutation(11)
        expected += [np.mean(y[order[i:i + 3]] ** 2) for i in range(0, 11, 3)]
    assert np.allclose(losses, expected)


# ---- the self-checks pass the solution and catch wrong code ------------------------------
CHECKS = {"sgd": checks.check_sgd, "sgd_momentum": checks.check_sgd_momentum,
          "nesterov_momentum": checks.check_nesterov_momentum, "adagrad": checks.check_adagrad,
          "rmsprop": checks.check_rmsprop, "adadelta": checks.check_adadelta,
          "adam": checks.check_adam, "newton_step": checks.check_newton_step,
          "lbfgs_direction": checks.check_lbfgs_direction}


@pytest.mark.parametrize("name", CHECKS)
def test_self_check_passes_the_solution(name):
    CHECKS[name](solution(name))


def test_self_check_of_the_training_loop_passes_the_solution():
    checks.check_train_minibatch(solution("train_minibatch"),
                                 {"sgd": solution("sgd"), "adam": solution("adam")})


def _mutant(name: str, old: str, new: str):
    """The solution function with one piece of its source replaced (a deliberate bug)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace: dict = {"np": np}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            source = cell.source
            if cell.metadata["nbgrader"]["grade_id"] == name:
                assert old in source, f"{old!r} not in the solution of {name}"
                source = source.replace(old, new)
            exec(compile(source, "<mutant>", "exec"), namespace)
    return namespace[name]


MUTANTS = [
    ("adam", "m / (1 - beta1**t)", "m / (1 - beta1)"),  # slide erratum 1
    ("adam", "m_hat / (np.sqrt(v_hat)", "m_hat * dw / (np.sqrt(v_hat)"),  # slide erratum 2
    ("adam", "t = t + 1", "t = t"),
    ("adagrad", '(np.sqrt(cache) + config["epsilon"])', 'np.sqrt(cache + config["epsilon"])'),
    ("rmsprop", '(np.sqrt(cache) + config["epsilon"])', 'np.sqrt(cache + config["epsilon"])'),
    ("adam", '(np.sqrt(v_hat) + config["epsilon"])', 'np.sqrt(v_hat + config["epsilon"])'),
    ("rmsprop", "(1 - rho) * dw * dw", "(1 - rho) * dw"),
    ("adadelta", "np.sqrt(cache + eps) * dw", "np.sqrt(cache) * dw"),
    ("sgd_momentum", "next_w = w + v", "next_w = w - v"),
    ("nesterov_momentum", "w + config[\"momentum\"] * v -", "w + v -"),
    ("sgd", "w - config[\"learning_rate\"] * dw", "w - 0.01 * dw"),
    ("newton_step", "theta - np.linalg.solve(hessian, grad)", "theta - grad"),
    ("lbfgs_direction", "for i, (s, y) in enumerate(pairs)",
     "for i, (s, y) in reversed(list(enumerate(pairs)))"),
    ("lbfgs_direction", "q = (s @ y) / (y @ y) * q", "q = q"),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some mutants divide by zero
@pytest.mark.parametrize("name, old, new", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in
                                                         enumerate(MUTANTS)])
def test_self_check_catches_a_wrong_rule(name, old, new, capsys):
    with pytest.raises(SelfCheckFailed):
        CHECKS[name](_mutant(name, old, new))


@pytest.mark.parametrize("old, new", [
    ("rng.permutation(N)", "np.arange(N)"),
    ("(2.0 / len(rows))", "2.0"),  # the slides' gradient without 1/n
    ("losses.append(residual @ residual / len(rows))", "losses.append(residual @ residual)"),
])
def test_self_check_catches_a_wrong_training_loop(old, new):
    with pytest.raises(SelfCheckFailed):
        checks.check_train_minibatch(_mutant("train_minibatch", old, new),
                                     {"sgd": solution("sgd"), "adam": solution("adam")})


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
    assert suite_points == notebook_points == 22


@pytest.mark.slow
def test_hidden_suite_grades_solution_full_stub_zero_and_the_adam_erratum_partly(tmp_path):
    import csv
    import subprocess
    import sys

    from helpers.crafting import craft

    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "correct.ipynb").write_bytes(NOTEBOOK.read_bytes())
    exercise = ROOT / "exercises" / "04_optimizers" / "04_optimizers.ipynb"
    (submissions / "stub.ipynb").write_bytes(exercise.read_bytes())
    (submissions / "erratum.ipynb").write_bytes(
        craft(NOTEBOOK, rename={"m_hat = m / (1 - beta1**t)": "m_hat = m / (1 - beta1)"}))
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "autograder", "grade", "--assignment", "04_optimizers",
                    "--out", str(out), "--no-progress", str(submissions)], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert float(rows["correct"]["score"]) == float(rows["correct"]["max_score"]) == 22
    assert float(rows["stub"]["score"]) == 0
    assert 0 < float(rows["erratum"]["test_adam"]) < 3
    assert float(rows["erratum"]["score"]) == 22 - 3 + float(rows["erratum"]["test_adam"])
