"""Self-checks for the 04_optimizers exercise (update rules, Newton, L-BFGS, minibatch loop).

Expected values come from hand-worked examples (closed forms for a constant gradient, small
worked problems), from PyTorch's ``torch.optim`` run offline with equal hyper-parameters
(the numbers are written below as literals; torch is not needed to run the checks), and from
independent library code (``numpy.linalg``, ``scipy.optimize.LbfgsInvHessProduct``), never
from the course's solutions.

The rules the hidden suite enforces are stated here once (``RULE_*``, ``DEFAULTS``,
``STATE_KEYS``) and tried with the shared code of ``utils.rules``, so the notebook's text,
these checks and the grader say the same thing in the same words.
"""

from __future__ import annotations

import numpy as np

from utils.checks import (
    CheckFailure,
    SelfCheck,
    _student_frame,
    expect,
    expect_array,
    expect_close,
    read_only_result,
)
from utils.rules import (
    READ_ONLY_MESSAGE,
    RULE_INPUTS,
    RULE_NO_INVERSE,
    call_with_read_only_inputs,
    live_lookup,
    reachable_calls,
)

#: The contract of the update rules' ``config`` (notebook section 1, docstrings).
RULE_CONFIG = ("must return config holding its documented keys with the documented values "
               "(keys of your own are allowed and ignored)")
#: The functions ``RULE_NO_INVERSE`` forbids, by their last name (``np.linalg.inv``).
INVERSE_FUNCTIONS = ("inv", "pinv")

#: Documented hyper-parameters and their defaults, per rule (the docstrings say the same).
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-10},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adadelta": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
#: Documented state keys, per rule: each holds the quantity of the same name in the formula.
STATE_KEYS = {
    "sgd": (), "sgd_momentum": ("velocity",), "nesterov_momentum": ("velocity",),
    "adagrad": ("cache",), "rmsprop": ("cache",), "adadelta": ("cache", "delta_cache"),
    "adam": ("m", "v", "t"),
}

W0 = np.array([1.0, -2.0, 0.5])
# Three gradients fed one after the other in the "three varying gradients" cases.
GRADIENTS = (np.array([0.5, 1.0, -2.0]), np.array([-1.0, 0.25, 3.0]), np.array([0.1, -0.3, 0.2]))
# Position after those three steps from W0, computed with torch.optim (float64) for the
# hyper-parameters given next to each; see tests/test_optimizers.py for the full comparison.
TORCH_AFTER_THREE_STEPS = {
    "sgd_momentum": ({"learning_rate": 0.1, "momentum": 0.9},  # SGD(lr=.1, momentum=.9)
                     [1.0445, -2.2885, 0.452]),
    "nesterov_momentum": ({"learning_rate": 0.1, "momentum": 0.9},  # ... nesterov=True
                          [1.08005, -2.35465, 0.3368]),
    "adagrad": ({"learning_rate": 0.1, "epsilon": 1e-10},  # Adagrad(lr=.1, eps=1e-10)
                [0.9805340110490378, -2.096308776523926, 0.5112564828074596]),
    "rmsprop": ({"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8},  # alpha=.9
                [0.9939505264873223, -2.0299795802944693, 0.5030218352447623]),
    "adadelta": ({"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},  # Adadelta defaults
                 [1.0003148394193813, -2.0029196737358737, 0.49904058466476375]),
    "adam": ({"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
             [0.9591032095158738, -2.226835116793982, 0.5525714548022406]),
}
# The first step from W0 with the default hyper-parameters, worked by hand for dw = g:
FIRST_STEP_WITH_DEFAULTS = {
    "sgd": lambda g: -0.01 * g,
    "sgd_momentum": lambda g: -0.01 * g,  # v1 = -lr g
    "nesterov_momentum": lambda g: -0.019 * g,  # momentum * v1 - lr g
    "adagrad": lambda g: -0.01 * g / (np.abs(g) + 1e-10),  # cache = g^2
    "rmsprop": lambda g: -0.01 * g / (0.1 * np.abs(g) + 1e-8),  # cache = 0.01 g^2
    "adadelta": lambda g: -np.sqrt(1e-6) / np.sqrt(0.1 * g**2 + 1e-6) * g,
    "adam": lambda g: -0.001 * g / (np.abs(g) + 1e-8),  # m_hat = g, v_hat = g^2
}


def documented_keys(name: str) -> tuple[str, ...]:
    """The keys a rule's returned config must hold: hyper-parameters, then state."""
    return (*DEFAULTS[name], *STATE_KEYS[name])


def read_only_write_message(name: str, error: BaseException) -> str | None:
    """The student-facing sentence for a write into a read-only input, or None if ``error``
    is something else (``call_with_read_only_inputs`` raises ValueError "... read-only")."""
    if isinstance(error, ValueError) and str(error).startswith(READ_ONLY_MESSAGE):
        return f"{name} {RULE_INPUTS}: it wrote into one of its input arrays ({error})."
    return None


def _call_read_only(fn, *args, **kwargs):
    """``fn`` on read-only copies of the arguments; a write becomes a failed case."""
    try:
        return call_with_read_only_inputs(fn, *args, **kwargs)
    except ValueError as error:
        message = read_only_write_message(fn.__name__, error)
        if message is None:
            raise
        where = _student_frame(error)
        raise CheckFailure(f"{message}\n{where}" if where else message) from error


def inverse_calls(fn) -> list[str]:
    """Calls of np.linalg.inv / pinv in ``fn`` and in the notebook's functions it calls
    (the grader runs ``reachable_calls`` over the notebook's text the same way)."""
    namespace = getattr(fn, "__globals__", {})
    name = fn.__name__ if namespace.get(getattr(fn, "__name__", None)) is fn else None
    if name is None:  # not bound in its notebook under its own name: read it directly
        name, namespace = "_checked_function_", {**namespace, "_checked_function_": fn}
    return reachable_calls(name, live_lookup(namespace), INVERSE_FUNCTIONS)


def _expect_documented(config: object, expected: dict, name: str, what: str = "") -> None:
    """The documented keys of ``expected`` hold their values in ``config`` (other keys are
    ignored: a rule may keep keys of its own)."""
    expect(isinstance(config, dict), f"{name} must return the config dict as its second value, "
                                     f"got {type(config).__name__}.")
    for key, value in expected.items():
        expect(key in config, f"config has no {key!r} {what}: {name} {RULE_CONFIG}.")
        if isinstance(value, np.ndarray):
            expect_array(config[key], value, rtol=1e-7, atol=1e-12, what=f"config[{key!r}]")
        else:
            expect_close(config[key], value, what=f"config[{key!r}]")


def _run(rule, gradients, config, w=W0):
    """Feed ``gradients`` to ``rule`` one by one from ``w``; returns (final w, final config)."""
    w = np.array(w, dtype=np.float64)
    for dw in gradients:
        out = rule(w, dw.copy(), config)
        expect(isinstance(out, tuple) and len(out) == 2,
               f"{rule.__name__} must return a pair (next_w, config), got "
               f"{type(out).__name__}.")
        w, config = out
        expect(isinstance(config, dict), f"{rule.__name__} must return the config dict as its "
                                         f"second value, got {type(config).__name__}.")
    return w, config


def _constant_gradient_case(check, rule, config, steps, expected, what):
    g = np.array([2.0, -0.5, 1.0])
    with check.case(f"{steps} steps with a constant gradient: {what}"):
        w, _ = _run(rule, [g] * steps, dict(config), w=np.zeros(3))
        expect_array(w, expected, rtol=1e-7, atol=1e-12, what=f"w after {steps} steps")


# A gradient with a zero and a tiny entry, and a large epsilon (the hidden tests use them too).
EDGE_GRADIENT = np.array([2.0, 1e-9, 0.0])


def _epsilon_case(check, rule, config, expected):
    """One step from a fresh state with a large epsilon (0.5): shows where epsilon sits."""
    with check.case("a large epsilon = 0.5, zero and tiny gradient entries: epsilon sits where "
                    "the formula puts it"):
        w, _ = rule(np.zeros(3), EDGE_GRADIENT.copy(), dict(config, epsilon=0.5))
        expect_array(w, expected(EDGE_GRADIENT), rtol=1e-7, atol=0, what="w after one step from 0",
                     hint="compare where epsilon sits with the formula in the markdown above.")


def _common_cases(check, rule, name):
    """Defaults, documented keys, torch trajectory and read-only inputs."""
    with check.case("config=None: the documented defaults are filled in (config.setdefault)"):
        w, config = rule(W0.copy(), GRADIENTS[0].copy())
        expect_array(w, W0 + FIRST_STEP_WITH_DEFAULTS[name](GRADIENTS[0]), rtol=1e-9,
                     what="next_w after one step with the defaults",
                     hint=f"the defaults are {DEFAULTS[name]}.")
        _expect_documented(config, DEFAULTS[name], name, "after the call")
        for key in STATE_KEYS[name]:
            expect(key in config, f"the state {key!r} must be stored in config so the next "
                                  f"call can continue from it: {name} {RULE_CONFIG}.")
    with check.case("given hyper-parameters are kept (setdefault does not overwrite)"):
        custom = {key: value * 0.5 for key, value in DEFAULTS[name].items()}
        _, config = rule(W0.copy(), GRADIENTS[0].copy(), dict(custom))
        _expect_documented(config, custom, name, "after the call")
    if name in TORCH_AFTER_THREE_STEPS:
        config, expected = TORCH_AFTER_THREE_STEPS[name]
        with check.case("three varying gradients: same point as torch.optim"):
            w, _ = _run(rule, GRADIENTS, dict(config))
            expect_array(w, np.array(expected), rtol=1e-7, atol=1e-12, what="w after 3 steps",
                         hint="compare your formula with the one in the markdown above, "
                              "including where epsilon goes.")
    with check.case(f"{RULE_INPUTS} (w and dw are passed read-only, config=None)"):
        next_w, _ = _call_read_only(rule, W0, GRADIENTS[1])
        expect_array(next_w, W0 + FIRST_STEP_WITH_DEFAULTS[name](GRADIENTS[1]), rtol=1e-9,
                     what="next_w computed from read-only w and dw")


def check_sgd(fn) -> None:
    """Check ``sgd(w, dw, config=None) -> (next_w, config)``."""
    check = SelfCheck(fn.__name__)
    with check.case("one step worked by hand: w - learning_rate * dw"):
        w, config = fn(W0.copy(), GRADIENTS[0].copy(), {"learning_rate": 0.1})
        expect_array(w, np.array([0.95, -2.1, 0.7]), what="next_w")
        _expect_documented(config, {"learning_rate": 0.1}, "sgd", "after the call")
    _common_cases(check, fn, "sgd")
    check.report()


def check_sgd_momentum(fn) -> None:
    """Check ``sgd_momentum``: v = momentum * v - learning_rate * dw; next_w = w + v."""
    check = SelfCheck(fn.__name__)
    # v1 = -0.1 g, v2 = -0.19 g, v3 = -0.271 g; w3 = -(0.1 + 0.19 + 0.271) g = -0.561 g
    _constant_gradient_case(check, fn, {"learning_rate": 0.1, "momentum": 0.9}, 3,
                            -0.561 * np.array([2.0, -0.5, 1.0]), "the velocity builds up")
    with check.case("the velocity after those steps is stored in config['velocity']"):
        _, config = _run(fn, [np.array([2.0, -0.5, 1.0])] * 3,
                         {"learning_rate": 0.1, "momentum": 0.9}, w=np.zeros(3))
        _expect_documented(config, {"velocity": -0.271 * np.array([2.0, -0.5, 1.0])},
                           "sgd_momentum", "after three steps")
    _common_cases(check, fn, "sgd_momentum")
    check.report()


def check_nesterov_momentum(fn) -> None:
    """Check ``nesterov_momentum`` (the look-ahead form that needs only dw at w)."""
    check = SelfCheck(fn.__name__)
    # v_t as for momentum; next_w = w + momentum * v_new - learning_rate * dw:
    # w1 = -0.19 g, w2 = w1 - 0.171 g - 0.1 g = -0.461 g, w3 = w2 - 0.2439 g - 0.1 g = -0.8049 g
    _constant_gradient_case(check, fn, {"learning_rate": 0.1, "momentum": 0.9}, 3,
                            -0.8049 * np.array([2.0, -0.5, 1.0]), "one look-ahead per step")
    _common_cases(check, fn, "nesterov_momentum")
    check.report()


def check_adagrad(fn) -> None:
    """Check ``adagrad``: cache += dw^2; next_w = w - lr dw / (sqrt(cache) + epsilon)."""
    check = SelfCheck(fn.__name__)
    g = np.array([2.0, -0.5, 1.0])
    # cache_t = t g^2, so step t is lr g / (sqrt(t) |g| + eps), about lr sign(g) / sqrt(t)
    total = sum(g / (np.sqrt(t) * np.abs(g) + 1e-10) for t in (1, 2, 3))
    _constant_gradient_case(check, fn, {"learning_rate": 0.1}, 3, -0.1 * total,
                            "steps shrink like 1/sqrt(t)")
    _epsilon_case(check, fn, {"learning_rate": 0.1}, lambda g: -0.1 * g / (np.abs(g) + 0.5))
    _common_cases(check, fn, "adagrad")
    check.report()


def check_rmsprop(fn) -> None:
    """Check ``rmsprop``: cache = decay cache + (1 - decay) dw^2; w - lr dw / (sqrt(cache) + eps)."""
    check = SelfCheck(fn.__name__)
    g = np.array([2.0, -0.5, 1.0])
    # cache_t = (1 - 0.99^t) g^2, so step t is lr g / (sqrt(1 - 0.99^t) |g| + eps):
    # the first step is about 10 times the learning rate
    total = sum(g / (np.sqrt(1 - 0.99**t) * np.abs(g) + 1e-8) for t in (1, 2, 3))
    _constant_gradient_case(check, fn, {"learning_rate": 0.01}, 3, -0.01 * total,
                            "a zero cache makes the first steps large")
    _epsilon_case(check, fn, {"learning_rate": 0.1, "decay_rate": 0.9},
                  lambda g: -0.1 * g / (np.sqrt(0.1) * np.abs(g) + 0.5))
    _common_cases(check, fn, "rmsprop")
    check.report()


def check_adadelta(fn) -> None:
    """Check ``adadelta`` (Zeiler 2012, epsilon inside both square roots, as in PyTorch)."""
    check = SelfCheck(fn.__name__)
    g = np.array([2.0, -0.5, 1.0])
    with check.case("the first step is learning_rate * sqrt(eps) / sqrt((1 - rho) dw^2 + eps) "
                    "* dw"):
        w, config = fn(np.zeros(3), g.copy(), {"learning_rate": 0.5, "rho": 0.9,
                                               "epsilon": 1e-6})
        expected_step = np.sqrt(1e-6) / np.sqrt(0.1 * g**2 + 1e-6) * g
        expect_array(w, -0.5 * expected_step, rtol=1e-9, what="w after one step from 0",
                     hint="delta = sqrt(delta_cache + eps) / sqrt(cache + eps) * dw, with the "
                          "cache updated first and delta_cache afterwards; the step is "
                          "learning_rate * delta.")
        _expect_documented(config, {"delta_cache": 0.1 * expected_step**2}, "adadelta",
                           "after one step (running mean of squared steps)")
    _epsilon_case(check, fn, {"learning_rate": 1.0, "rho": 0.9},
                  lambda g: -np.sqrt(0.5) / np.sqrt(0.1 * g**2 + 0.5) * g)
    _common_cases(check, fn, "adadelta")
    check.report()


def check_adam(fn) -> None:
    """Check ``adam`` with bias correction 1 - beta^t (t counted from 1)."""
    check = SelfCheck(fn.__name__)
    g = np.array([2.0, -0.5, 1.0])
    # With a constant gradient the corrected moments are exactly g and g^2, so every step
    # moves lr * g / (|g| + eps), from the very first step on.
    _constant_gradient_case(check, fn, {"learning_rate": 0.1}, 4,
                            -4 * 0.1 * g / (np.abs(g) + 1e-8),
                            "bias correction makes every step lr * sign(g)")
    with check.case("the step counter config['t'] is 3 after three steps"):
        _, config = _run(fn, GRADIENTS, {"learning_rate": 0.1})
        expect("t" in config, f"config has no 't' after three steps: adam {RULE_CONFIG}.")
        expect_close(config["t"], 3, what="config['t']",
                     hint="increment t before using it: the first step uses t = 1.")
    _epsilon_case(check, fn, {"learning_rate": 0.1}, lambda g: -0.1 * g / (np.abs(g) + 0.5))
    _common_cases(check, fn, "adam")
    check.report()


def check_newton_step(fn) -> None:
    """Check ``newton_step(theta, grad, hessian) -> theta - H^-1 grad``."""
    check = SelfCheck(fn.__name__)
    with check.case("f = x^2 + 4 y^2 from (1, 1): one step lands on the minimum (0, 0)"):
        got = fn(np.array([1.0, 1.0]), np.array([2.0, 8.0]), np.array([[2.0, 0.0], [0.0, 8.0]]))
        expect_array(got, np.zeros(2), atol=1e-12, what="the new theta")
    with check.case("a saddle: an indefinite Hessian is used as given"):
        got = fn(np.array([1.0, 2.0]), np.array([2.0, 1.0]), np.diag([2.0, -1.0]))
        expect_array(got, np.array([0.0, 3.0]), atol=1e-12, what="the new theta",
                     hint="solve H d = grad with the Hessian as given and return theta - d.")
    rng = np.random.default_rng(4)
    A = rng.normal(size=(5, 5))
    H, grad, theta = A @ A.T + np.eye(5), rng.normal(size=5), rng.normal(size=5)
    with check.case("a random 5-D quadratic: H (theta - theta_new) equals grad"):
        got = fn(theta.copy(), grad.copy(), H.copy())
        expect_array(H @ (theta - got), grad, rtol=1e-8, atol=1e-10,
                     what="H (theta - theta_new)", hint="solve H d = grad and return theta - d.")
    with check.case(f"{RULE_INPUTS} (theta, grad and hessian are passed read-only)"):
        got = _call_read_only(fn, theta, grad, H)
        expect_array(H @ (theta - got), grad, rtol=1e-8, atol=1e-10,
                     what="H (theta - theta_new) from read-only inputs")
    with check.case(RULE_NO_INVERSE):
        calls = inverse_calls(fn)
        expect(not calls, f"newton_step: {RULE_NO_INVERSE}; found " + ", ".join(calls) + ".")
    check.report()


def check_lbfgs_direction(fn) -> None:
    """Check ``lbfgs_direction(grad, s_history, y_history) -> -H grad`` (two-loop recursion)."""
    from scipy.optimize import LbfgsInvHessProduct

    check = SelfCheck(fn.__name__)
    with check.case("empty history: the steepest-descent direction -grad"):
        got = fn(np.array([1.0, -2.0]), [], [])
        expect_array(got, np.array([-1.0, 2.0]), what="the direction")
    with check.case("one pair worked by hand: s = (1, 0), y = (2, 0)"):
        # gamma = s.y / y.y = 1/2; H = V^T (I / 2) V + s s^T / 2 = diag(1/2, 1/2)
        got = fn(np.array([1.0, 1.0]), [np.array([1.0, 0.0])], [np.array([2.0, 0.0])])
        expect_array(got, np.array([-0.5, -0.5]), what="the direction")
    rng = np.random.default_rng(8)
    A = rng.normal(size=(6, 6))
    A = A @ A.T + 6 * np.eye(6)
    S = [rng.normal(size=6) for _ in range(3)]
    Y = [A @ s for s in S]
    with check.case("secant equation: the direction for grad = newest y is minus newest s"):
        got = fn(Y[-1].copy(), [s.copy() for s in S], [y.copy() for y in Y])
        expect_array(got, -S[-1], rtol=1e-8, atol=1e-10, what="the direction",
                     hint="every L-BFGS matrix satisfies H y_k = s_k for the newest pair; the "
                          "lists hold the oldest pair first.")
    gamma = S[-1] @ Y[-1] / (Y[-1] @ Y[-1])
    # SciPy starts from H0 = I; scaling y by gamma is the same as starting from gamma I
    # (H(gamma I; s, y) = gamma H(I; s, gamma y)), so the expected direction is:
    reference = LbfgsInvHessProduct(np.array(S), gamma * np.array(Y))
    grad = rng.normal(size=6)
    with check.case("three pairs in 6-D: same as scipy's LbfgsInvHessProduct"):
        got = fn(grad.copy(), [s.copy() for s in S], [y.copy() for y in Y])
        expect_array(got, -gamma * reference.matvec(grad), rtol=1e-8, atol=1e-10,
                     what="the direction", hint="the lists hold the oldest pair first; the "
                     "first loop runs newest to oldest, the second oldest to newest; "
                     "H0 = gamma I with gamma = s.y / y.y of the newest pair.")
    with check.case(f"{RULE_INPUTS} (grad, the lists and their arrays are passed read-only)"):
        got = _call_read_only(fn, grad, S, Y)
        expect_array(got, -gamma * reference.matvec(grad), rtol=1e-8, atol=1e-10,
                     what="the direction from read-only inputs",
                     hint="start from q = grad.copy() (or q = grad - ...), not q -= ... on grad.")
    check.report()


# ---- the training loop, checked with rules of its own (never the student's rules) ----------
def plain_step(w, dw, config):
    """An update rule for the checks: w - learning_rate * dw (the config is returned as is)."""
    return w - config["learning_rate"] * dw, config


def counting_step(w, dw, config):
    """An update rule for the checks that returns a NEW config dict with a step counter t and
    steps learning_rate / t * dw: a loop that drops the returned config keeps t at 1."""
    config = dict(config)
    config["t"] = config.get("t", 0) + 1
    return w - config["learning_rate"] / config["t"] * dw, config


def check_train_minibatch(fn) -> None:
    """Check ``train_minibatch(X, y, update_rule, config, batch_size, num_epochs, seed)``.

    The update rules come from this module (``plain_step``, ``counting_step``), so a bug in
    one of your rules above cannot make this check fail (the hidden tests do the same).
    """
    check = SelfCheck(fn.__name__)
    X1, y1 = np.array([[1.0], [2.0]]), np.array([2.0, 4.0])
    with check.case("full-batch gradient descent on a 1-D problem worked by hand"):
        # w0 = 0, lr = 0.1: losses 10, 2.5, 0.625; w = 1.75
        w, losses = fn(X1.copy(), y1.copy(), plain_step, {"learning_rate": 0.1}, batch_size=2,
                       num_epochs=3, seed=0)
        expect_array(losses, np.array([10.0, 2.5, 0.625]), what="the losses",
                     hint="record the minibatch loss (1/B) sum (x_i w - y_i)^2 before each "
                          "update; the gradient is (2/B) X_b^T (X_b w - y_b).")
        expect_array(w, np.array([1.75]), what="the final w")
    with check.case("one step per minibatch; the last batch is smaller and averages over its "
                    "own size"):
        # All samples equal (x = 2, y = 4), so the order does not matter: every step is
        # w <- w - lr (8 w - 16), w_t = 2 - 2 (1 - 8 lr)^t, loss_t = 16 (1 - 8 lr)^(2 (t - 1)).
        X, y, lr = np.full((10, 1), 2.0), np.full(10, 4.0), 0.01
        w, losses = fn(X, y, plain_step, {"learning_rate": lr}, batch_size=4, num_epochs=3,
                       seed=0)
        expect(isinstance(losses, np.ndarray) and losses.shape == (9,),
               "10 samples in batches of 4 make 3 steps per epoch (4, 4 and 2 samples), 9 in "
               f"3 epochs; got {np.shape(losses)} losses.")
        expect_array(losses, 16 * (1 - 8 * lr) ** (2 * np.arange(9)), what="the losses",
                     hint="divide by the size of each batch (len(rows)), not by batch_size.")
        expect_array(w, np.array([2 - 2 * (1 - 8 * lr) ** 9]), what="the final w")
    with check.case("batches follow one rng.permutation(N) per epoch of default_rng(seed)"):
        # With learning_rate 0, w stays 0 and each batch's loss is the mean of its y^2,
        # which reveals the order in which the samples were visited.
        y = np.arange(1.0, 8.0)
        _, losses = fn(np.ones((7, 1)), y.copy(), plain_step, {"learning_rate": 0.0},
                       batch_size=1, num_epochs=2, seed=5)
        rng = np.random.default_rng(5)
        order = np.concatenate([rng.permutation(7), rng.permutation(7)])
        expect_array(losses, y[order] ** 2, what="the per-step losses",
                     hint="make rng = np.random.default_rng(seed) once, then call "
                          "rng.permutation(N) at the start of every epoch (every sample once "
                          "per epoch).")
    with check.case("the loop goes on with the config the rule returns"):
        # counting_step with lr 0.1: w 0 -> 1.0 (t=1) -> 1.25 (t=2) -> 1.375 (t=3)
        w, losses = fn(X1.copy(), y1.copy(), counting_step, {"learning_rate": 0.1},
                       batch_size=2, num_epochs=3, seed=0)
        expect_array(losses, np.array([10.0, 2.5, 1.40625]), what="the losses",
                     hint="write w, config = update_rule(w, dw, config): a rule may return a "
                          "new dict.")
        expect_array(w, np.array([1.375]), what="the final w")
    with check.case(f"{RULE_INPUTS} (X, y and config are passed read-only)"):
        w, losses = _call_read_only(fn, X1, y1, plain_step, {"learning_rate": 0.1},
                                    batch_size=2, num_epochs=3, seed=0)
        expect_array(losses, np.array([10.0, 2.5, 0.625]), what="the losses from read-only X, y")
    check.report()


# ---- learning-rate schedules (section 3): hand-worked values ---------------------------------
SQRT2 = np.sqrt(2.0)


def _rates_case(check, fn, args, kwargs, t, expected, what, hint):
    """One case: ``fn(t, *args, **kwargs)`` equals ``expected`` (an array for an array t)."""
    with check.case(what):
        got = fn(np.array(t) if isinstance(t, list) else t, *args, **kwargs)
        if isinstance(t, list):
            expect_array(got, np.array(expected, dtype=np.float64), rtol=1e-9, atol=1e-12,
                         dtype_kind="f", what=f"the rates for t = {t}", hint=hint)
        else:
            expect_close(got, expected, rtol=1e-9, atol=1e-12, what=f"the rate at t = {t}",
                         hint=hint)


def check_lr_schedules(step_decay, exponential_decay, cosine_decay, warmup_cosine) -> None:
    """Check the four schedules of section 3 on values worked by hand.

    Each function maps the step t (an int, or an integer array) to the learning rate.
    """
    check = SelfCheck("lr_schedules")
    _rates_case(check, step_decay, (0.8, 3), {}, list(range(7)),
                [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2],
                "step_decay(t, 0.8, step_size=3): the rate halves at t = 3 and t = 6",
                "base_lr * gamma ** (t // step_size): steps 0, 1, 2 use base_lr, the first "
                "decay is at t = step_size.")
    _rates_case(check, step_decay, (1.0, 2), {"gamma": 0.1}, 5, 0.01,
                "step_decay(5, 1.0, step_size=2, gamma=0.1) is 0.1 ** 2 (an int t)",
                "floor(5 / 2) = 2 decays by gamma = 0.1.")
    _rates_case(check, exponential_decay, (0.3, 0.5), {}, [0, 1, 2, 5],
                [0.3, 0.15, 0.075, 0.009375],
                "exponential_decay(t, 0.3, gamma=0.5): 0.3 * 0.5 ** t",
                "t = 0 gives base_lr itself: base_lr * gamma ** t.")
    _rates_case(check, exponential_decay, (0.3, 0.5), {}, 0, 0.3,
                "exponential_decay(0, 0.3, 0.5) is base_lr (an int t)",
                "the step counter starts at 0: base_lr * gamma ** 0 = base_lr.")
    # (1 + cos(pi t / 4)) / 2 for t = 0..4 is 1, (2 + sqrt 2) / 4, 1/2, (2 - sqrt 2) / 4, 0
    _rates_case(check, cosine_decay, (1.0, 4), {"final_lr": 0.2}, [0, 1, 2, 3, 4, 5, 8],
                [1.0, 0.6 + 0.2 * SQRT2, 0.6, 0.6 - 0.2 * SQRT2, 0.2, 0.2, 0.2],
                "cosine_decay(t, 1.0, total_steps=4, final_lr=0.2): final_lr at t = 4 and after",
                "final_lr + (base_lr - final_lr) * (1 + cos(pi * min(t, T) / T)) / 2: it reaches "
                "final_lr at t = total_steps and stays there.")
    _rates_case(check, cosine_decay, (0.5, 4), {}, 2, 0.25,
                "cosine_decay(2, 0.5, 4) is half the base rate (final_lr defaults to 0; an int t)",
                "half-way, (1 + cos(pi / 2)) / 2 = 1/2.")
    # warm-up: 0.4 (t + 1) / 4 for t < 4; then 0.4 (1 + cos(pi (t - 4) / 4)) / 2 until t = 8
    _rates_case(check, warmup_cosine, (0.4, 4, 8), {}, list(range(11)),
                [0.1, 0.2, 0.3, 0.4, 0.4, 0.2 + 0.1 * SQRT2, 0.2, 0.2 - 0.1 * SQRT2, 0.0, 0.0,
                 0.0],
                "warmup_cosine(t, 0.4, warmup_steps=4, total_steps=8): ramp, then cosine to 0",
                "base_lr * (t + 1) / W for t < W (the first rate is base_lr / W), then "
                "cosine_decay(t - W, base_lr, T - W, final_lr).")
    _rates_case(check, warmup_cosine, (0.6, 3, 5), {"final_lr": 0.6}, list(range(6)),
                [0.2, 0.4, 0.6, 0.6, 0.6, 0.6],
                "warmup_cosine(t, 0.6, 3, 5, final_lr=0.6): warm-up, then a constant rate",
                "with final_lr = base_lr the cosine part stays at base_lr.")
    _rates_case(check, warmup_cosine, (0.4, 4, 8), {}, 0, 0.1,
                "warmup_cosine(0, 0.4, 4, 8) is base_lr / warmup_steps (an int t)",
                "the warm-up's first rate is base_lr * (0 + 1) / W, not 0.")
    check.report()


# ---- the training loop with learning curves (section 3.1) --------------------------------------
def rounding_regression_loss(w, X, y):
    """A model for the checks: the loss mean((X w - y)^2) and its gradient (2/B) X^T (X w - y)."""
    residual = X @ w - y
    return float(residual @ residual) / len(y), 2.0 * X.T @ residual / len(y)


def rounding_prediction(w, X):
    """The checks' labels: X w rounded to the nearest integer (halves rounded up)."""
    return np.floor(X @ w + 0.5).astype(np.int64)


def _history_case(history, expected: dict, hint: str) -> None:
    expect(isinstance(history, dict), "train_classifier must return (w, history) with history "
                                      f"a dict, got {type(history).__name__}.")
    for key, values in expected.items():
        expect(key in history, f"history has no key {key!r}; it needs train_loss, train_acc, "
                               "val_loss and val_acc.")
        got = history[key]
        expect(isinstance(got, list | tuple | np.ndarray) and len(got) == len(values),
               f"history[{key!r}] must hold one number per epoch ({len(values)}), got "
               f"{np.shape(got) if isinstance(got, np.ndarray) else _length_or_type(got)}.")
        expect_array(np.asarray(got, dtype=np.float64), np.array(values), rtol=1e-9, atol=1e-12,
                     what=f"history[{key!r}]", hint=hint)


def _length_or_type(value) -> str:
    return f"{type(value).__name__} of length {len(value)}" if hasattr(value, "__len__") \
        else type(value).__name__


def _run_loop(fn, *args, **kwargs):
    out = fn(*args, **kwargs)
    expect(isinstance(out, tuple) and len(out) == 2,
           f"train_classifier must return a pair (w, history), got {type(out).__name__}.")
    return out


def check_train_classifier(fn) -> None:
    """Check ``train_classifier`` with a 1-D model and rules of this module (``plain_step``,
    ``counting_step``), never the student's rules or schedules."""
    check = SelfCheck(fn.__name__)
    # Training set x = 1, 2 with targets 2, 4; validation x = 3 with target 5.
    data = {"X_train": np.array([[1.0], [2.0]]), "y_train": np.array([2, 4]),
            "X_val": np.array([[3.0]]), "y_val": np.array([5])}
    model = (rounding_regression_loss, rounding_prediction)
    with check.case("full batch, constant rate 0.1, three epochs worked by hand: the final w "
                    "and the training curves"):
        # w: 0 -> 1 -> 1.5 -> 1.75. Training loss at w: ((w - 2)^2 + (2w - 4)^2) / 2 =
        # 2.5, 0.625, 0.15625; predictions round(w), round(2w): (1, 2), (2, 3), (2, 4).
        w, history = _run_loop(fn, *model, np.zeros(1), data, plain_step,
                               {"learning_rate": 0.1}, batch_size=2, num_epochs=3, seed=0)
        expect_array(w, np.array([1.75]), what="the final w",
                     hint="one update per batch: w, config = update_rule(w, dw, config), with "
                          "dw from loss_fn on the batch.")
        _history_case(history, {"train_loss": [2.5, 0.625, 0.15625],
                                "train_acc": [0.0, 0.5, 1.0]},
                      "after each epoch, loss_fn(w, X_train, y_train)[0] and the fraction of "
                      "training samples predicted right, on the whole training set.")
    with check.case("the validation curves come from the validation set"):
        # validation loss (3 w - 5)^2 = 4, 0.25, 0.0625; round(3 w) = 3, 5 (4.5 rounds up), 5
        _, history = _run_loop(fn, *model, np.zeros(1), data, plain_step,
                               {"learning_rate": 0.1}, batch_size=2, num_epochs=3, seed=0)
        _history_case(history, {"val_loss": [4.0, 0.25, 0.0625], "val_acc": [0.0, 1.0, 1.0]},
                      "val_loss and val_acc use X_val and y_val, after each epoch.")
    with check.case("lr_schedule(t) before every update, t = 0, 1, 2, 3 over the whole run"):
        # Three equal samples (x = 1, y = 1), batches of 2 and 1: two steps per epoch, four in
        # two epochs, at rates 0.1, 0.2, 0.3, 0.4. Each step multiplies 1 - w by 1 - 2 rate:
        # 1 - w = 0.8 * 0.6 * 0.4 * 0.2 = 0.0384.
        same = {"X_train": np.ones((3, 1)), "y_train": np.ones(3, dtype=np.int64),
                "X_val": np.ones((1, 1)), "y_val": np.ones(1, dtype=np.int64)}
        w, _ = _run_loop(fn, *model, np.zeros(1), same, plain_step, {"learning_rate": 5.0},
                         lr_schedule=lambda t: 0.1 * (t + 1), batch_size=2, num_epochs=2,
                         seed=0)
        expect_array(w, np.array([0.9616]), what="the final w",
                     hint="set config['learning_rate'] = lr_schedule(t) before each update, "
                          "with t counting the updates from 0 over all epochs (not the epoch "
                          "number, and not restarting at each epoch).")
    with check.case("the loop goes on with the config the rule returns"):
        # counting_step, lr 0.1, full batch: w 0 -> 1.0 (t=1) -> 1.25 (t=2) -> 1.375 (t=3)
        w, _ = _run_loop(fn, *model, np.zeros(1), data, counting_step, {"learning_rate": 0.1},
                         batch_size=2, num_epochs=3, seed=0)
        expect_array(w, np.array([1.375]), what="the final w",
                     hint="write w, config = update_rule(w, dw, config): a rule may return a "
                          "new dict.")
    with check.case("batches follow one rng.permutation(N) per epoch of default_rng(seed)"):
        # x = 1 and batches of one: each step is w <- w - 0.25 * 2 (w - y_i) = (w + y_i) / 2,
        # so after K steps w = sum_k y_(k) / 2^(K - k + 1) (k = 1..K): the last sample weighs most.
        y = np.array([1, 2, 4, 8, 16])
        order = np.random.default_rng(3)
        visited = y[np.concatenate([order.permutation(5), order.permutation(5)])]
        expected = sum(v / 2.0 ** (len(visited) - k) for k, v in enumerate(visited))
        chain = {"X_train": np.ones((5, 1)), "y_train": y, "X_val": np.ones((1, 1)),
                 "y_val": np.ones(1, dtype=np.int64)}
        w, _ = _run_loop(fn, *model, np.zeros(1), chain, plain_step, {"learning_rate": 0.25},
                         batch_size=1, num_epochs=2, seed=3)
        expect_array(w, np.array([expected]), what="the final w",
                     hint="make rng = np.random.default_rng(seed) once, then call "
                          "rng.permutation(N) at the start of every epoch.")
    with check.case(f"{RULE_INPUTS} (w0, data and config are passed read-only)"):
        # The schedule's rate 0.1 replaces the 5.0 in a copy of config, never in the caller's.
        config = {"learning_rate": 5.0}
        w, _ = read_only_result(fn, *model, np.zeros(1), data, plain_step, config,
                                lr_schedule=lambda t: 0.1, batch_size=2, num_epochs=3, seed=0)
        expect_array(w, np.array([1.75]), what="the final w from read-only inputs",
                     hint="work on copies: config = dict(config or {}) and "
                          "w = np.array(w0, dtype=np.float64) are given.")
    check.report()
