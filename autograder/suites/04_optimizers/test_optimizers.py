"""Hidden suite for 04_optimizers: every graded function against the reference notebook.

Points (29) equal the notebook's autograded test cells: sgd 1, sgd_momentum 2,
nesterov_momentum 2, adagrad 2, rmsprop 2, adadelta 2, adam 3, train_minibatch 3,
lr_schedules 3, train_classifier 4, newton_step 2, lbfgs_direction 3. Every test gives partial
credit per part.

Policy, as the notebook states it next to each function:
- Update rules: each side continues from the config it returned itself; the suite compares
  the step next_w - w (it depends only on the gradients and the state, so the tolerance is
  relative to the step) and, in its own part, the documented state keys
  (``utils.selfchecks.optimizers.STATE_KEYS``). Keys of the student's own are ignored.
- Edge cases are fixed, the same for everyone: config=None (the defaults), a given config
  with a state in it, zero and tiny gradient entries with a large epsilon, Adam's first step.
  Random parts stay far from them: gradient entries of magnitude 2 to 6, and an epsilon
  large enough that where it sits always shows (so a misplaced epsilon fails for every seed).
- One function, one grade: ``train_minibatch`` and ``train_classifier`` run with the suite's
  own correct rules, models and schedules (trusted functions), never the student's;
  ``warmup_cosine`` is compared with the reference and with the reference using the student's
  ``cosine_decay`` (it may call it); every other function calls nothing of the student's.
- Schedules: fixed edge cases for everyone (t = 0, both sides of a stair boundary, the end of
  the warm-up, t = total_steps and beyond, int and array t); an int t may give a number or a
  0-d array.
- Rule parts (inputs not modified, no explicit inverse) use the shared code of
  ``utils.rules`` and pay only once a value part of the same test passed, so trivial code
  earns nothing, while a value bug does not also fail them.
- Feedback names the cause where a known mistake reproduces the student's values
  (``optimizer_mistakes``).
"""

from __future__ import annotations

import functools

import numpy as np
import optimizer_mistakes as mistakes
import pytest

from autograder.errors import StudentError
from autograder.expect import (
    result_on_read_only_inputs,
    same_array,
    same_value,
    trusted_function,
)
from utils.rules import RULE_INPUTS, RULE_NO_INVERSE
from utils.selfchecks.optimizers import DEFAULTS, INVERSE_FUNCTIONS, RULE_CONFIG, STATE_KEYS

STEPS = 10  # steps per random trajectory
RTOL = 1e-7  # relative to each step (and state value)

#: Hyper-parameter ranges of the random parts (name -> (low, high)), away from edge cases.
RANDOM_HYPER = {
    "sgd": {"learning_rate": (0.01, 0.5)},
    "sgd_momentum": {"learning_rate": (0.01, 0.5), "momentum": (0.5, 0.95)},
    "nesterov_momentum": {"learning_rate": (0.01, 0.5), "momentum": (0.5, 0.95)},
    "adagrad": {"learning_rate": (0.01, 0.5), "epsilon": (1e-3, 1e-2)},
    "rmsprop": {"learning_rate": (0.001, 0.1), "decay_rate": (0.6, 0.9),
                "epsilon": (1e-3, 1e-2)},
    "adadelta": {"learning_rate": (0.5, 1.5), "rho": (0.6, 0.95), "epsilon": (1e-4, 1e-2)},
    "adam": {"learning_rate": (0.001, 0.1), "beta1": (0.6, 0.95), "beta2": (0.9, 0.999),
             "epsilon": (1e-3, 1e-2)},
}
ADAPTIVE = ("adagrad", "rmsprop", "adadelta", "adam")

# Fixed inputs, the same for every student.
DEFAULTS_W = np.array([0.5, -1.0, 2.0, 0.0, 1.5])
DEFAULTS_DW = np.array([3.0, -2.0, 4.0, 5.0, -6.0])
EDGE_W = np.zeros(4)
EDGE_GRADIENTS = [np.array([2.0, 1e-9, 0.0, -0.5]), np.array([0.0, 3.0, 1e-9, -0.5])]
EDGE_HYPER = {"learning_rate": 0.1, "momentum": 0.9, "decay_rate": 0.9, "rho": 0.9,
              "beta1": 0.9, "beta2": 0.999, "epsilon": 0.5}
ADAM_FIRST_W = np.array([1.0, -2.0, 0.5, 3.0])
ADAM_FIRST_DW = np.array([3.0, -4.0, 2.5, -2.0])
ADAM_FIRST_CONFIG = {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95}

VALUES_FIRST = ("this check counts once your function computes right values in another check "
                "of this test, and none did")


# ---- shared helpers ---------------------------------------------------------------------------
def _require(condition: bool, message: str) -> None:
    """Fail the part with ``message`` (plain raise: no assert rewriting under pytest)."""
    if not condition:
        raise AssertionError(message)


def _rule_part(partial, name: str, check) -> None:
    """A part for a stated rule (inputs, no inverse): pays only after a value part passed."""
    earned = any(p.passed for p in partial.parts)
    with partial.part(name):
        _require(earned, VALUES_FIRST)
        check()



def _pair(out, name: str):
    _require(isinstance(out, tuple) and len(out) == 2,
             f"{name} must return a pair (next_w, config), got {type(out).__name__}")
    _require(isinstance(out[1], dict), f"{name} must return the config dict as its second "
             f"value, got {type(out[1]).__name__}")
    return out


def _as_step(got_w, w_before, expected_w, what: str) -> np.ndarray:
    """The step ``got_w - w_before`` once ``got_w`` is a float array of the right shape."""
    if type(got_w) is not np.ndarray or got_w.shape != expected_w.shape or \
            got_w.dtype.kind != "f":
        same_array(got_w, expected_w, dtype_kind="f", what=what)  # fails with a message
    return got_w - w_before


def _uniform(rng, low: float, high: float) -> float:
    if low > 0 and high / low > 10:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))  # log-uniform
    return float(rng.uniform(low, high))


def _hyper(rng, name: str) -> dict:
    return {key: _uniform(rng, *bounds) for key, bounds in RANDOM_HYPER[name].items()}


def _gradient(rng, shape) -> np.ndarray:
    """Entries of magnitude 2 to 6 with random signs (far from the zero/tiny edge cases)."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(2.0, 6.0, size=shape)


def _state(rng, name: str, shape) -> dict:
    """A state already in config (a rule resuming), with positive caches."""
    draw = {"velocity": lambda: rng.normal(scale=0.5, size=shape),
            "cache": lambda: rng.uniform(4.0, 36.0, size=shape),
            "delta_cache": lambda: rng.uniform(0.01, 0.1, size=shape),
            "m": lambda: rng.normal(scale=2.0, size=shape),
            "v": lambda: rng.uniform(4.0, 36.0, size=shape),
            "t": lambda: int(rng.integers(3, 30))}
    return {key: draw[key]() for key in STATE_KEYS[name]}


def _documented(config: dict, expected: dict, name: str, keys, what: str) -> None:
    """The documented ``keys`` of ``config`` hold the values of ``expected``."""
    for key in keys:
        _require(key in config, f"{what}: config has no {key!r}; {name} {RULE_CONFIG}")
        same_value(config[key], expected[key], rtol=RTOL, atol=1e-12,
                   what=f"{what}: config[{key!r}]")


def _same_one_step(name, w, dw, config, next_s, next_r, what: str) -> None:
    """One step of the student's rule against the reference's, named mistakes included."""
    got = _as_step(next_s, w, next_r, "next_w")
    try:
        same_array(got, next_r - w, rtol=RTOL, atol=0.0, dtype_kind="f", what=what)
    except AssertionError as failure:
        extra = mistakes.explain_rule(name, w, [dw], config, [got])
        raise AssertionError(f"{failure}{extra}") from None


def _compare_steps(student, reference, name, w0, gradients, config) -> None:
    """Both rules from ``w0`` through ``gradients``, each continuing from its own config;
    the steps next_w - w must agree. Names a known mistake when one explains the steps."""
    w_s = w_r = np.asarray(w0, dtype=np.float64)
    config_s, config_r = dict(config), dict(config)
    observed = []
    for step, dw in enumerate(gradients, start=1):
        next_s, config_s = _pair(getattr(student, name)(w_s, dw, config_s), name)
        next_r, config_r = getattr(reference, name)(w_r, dw, config_r)
        what = f"the step next_w - w at step {step}"
        got = _as_step(next_s, w_s, next_r, f"next_w after step {step}")
        observed.append(got)
        try:
            same_array(got, next_r - w_r, rtol=RTOL, atol=0.0, dtype_kind="f", what=what)
        except AssertionError as failure:
            extra = mistakes.explain_rule(name, w0, gradients, config, observed)
            raise AssertionError(f"{failure}{extra}") from None
        w_s, w_r = next_s, next_r


def _compare_state(student, reference, name, w0, gradients, config) -> None:
    """The documented state keys after every step (each side continuing from its own)."""
    w_s = w_r = np.asarray(w0, dtype=np.float64)
    config_s, config_r = dict(config), dict(config)
    seen: dict[str, list] = {key: [] for key in STATE_KEYS[name]}
    for step, dw in enumerate(gradients, start=1):
        w_s, config_s = _pair(getattr(student, name)(w_s, dw, config_s), name)
        w_r, config_r = getattr(reference, name)(w_r, dw, config_r)
        for key in STATE_KEYS[name]:
            seen[key].append(config_s.get(key))
            try:
                _documented(config_s, config_r, name, (key,), f"after step {step}")
            except AssertionError as failure:
                extra = mistakes.explain_rule(name, w0, gradients, config, seen[key], key)
                raise AssertionError(f"{failure}{extra}") from None


# ---- the update rules ---------------------------------------------------------------------------
def _rule_test(student, reference, rng, partial, name: str) -> None:
    hyper_keys = tuple(DEFAULTS[name])
    with partial.part("config=None: the documented defaults are filled in, one step"):
        next_s, config_s = _pair(getattr(student, name)(DEFAULTS_W, DEFAULTS_DW), name)
        next_r, config_r = getattr(reference, name)(DEFAULTS_W, DEFAULTS_DW)
        _same_one_step(name, DEFAULTS_W, DEFAULTS_DW, DEFAULTS[name], next_s, next_r,
                       f"the step next_w - w with the defaults {DEFAULTS[name]}")
        _documented(config_s, config_r, name, hyper_keys, "after config=None")

    with partial.part("a given config is kept (setdefault) and a state in it is continued"):
        w, dw = rng.normal(size=(3, 2)), _gradient(rng, (3, 2))
        given = {**_hyper(rng, name), **_state(rng, name, (3, 2))}
        if "epsilon" in given:
            given["epsilon"] = 1e-12 if name != "adadelta" else 1e-5
        next_s, config_s = _pair(getattr(student, name)(w, dw, dict(given)), name)
        next_r, config_r = getattr(reference, name)(w, dw, dict(given))
        _same_one_step(name, w, dw, given, next_s, next_r,
                       "the step next_w - w from the given config")
        _documented(config_s, config_r, name, hyper_keys, "the given hyper-parameters")

    with partial.part(f"{STEPS} steps on a (4, 3) array with drawn hyper-parameters"):
        gradients = [_gradient(rng, (4, 3)) for _ in range(STEPS)]
        _compare_steps(student, reference, name, rng.normal(size=(4, 3)), gradients,
                       _hyper(rng, name))

    if STATE_KEYS[name]:
        keys = ", ".join(STATE_KEYS[name])
        with partial.part(f"the state in config ({keys}) after each of {STEPS} steps"):
            gradients = [_gradient(rng, (5,)) for _ in range(STEPS)]
            _compare_state(student, reference, name, rng.normal(size=5), gradients,
                           _hyper(rng, name))

    if name in ADAPTIVE:
        with partial.part("zero and tiny gradient entries with epsilon = 0.5 (where epsilon "
                          "sits)"):
            config = {key: EDGE_HYPER[key] for key in DEFAULTS[name]}
            _compare_steps(student, reference, name, EDGE_W, EDGE_GRADIENTS, config)

    if name == "adam":
        with partial.part("the first step is bias-corrected with t = 1 (config['t'] is 1)"):
            next_s, config_s = _pair(student.adam(ADAM_FIRST_W, ADAM_FIRST_DW,
                                                  dict(ADAM_FIRST_CONFIG)), name)
            next_r, config_r = reference.adam(ADAM_FIRST_W, ADAM_FIRST_DW,
                                              dict(ADAM_FIRST_CONFIG))
            _same_one_step("adam", ADAM_FIRST_W, ADAM_FIRST_DW,
                           {**DEFAULTS["adam"], **ADAM_FIRST_CONFIG}, next_s, next_r,
                           "the first step (the corrected moments are dw and dw^2, so each "
                           "entry moves about learning_rate)")
            _documented(config_s, config_r, name, ("t",), "after the first step")

    def inputs_kept():
        w, dw = rng.normal(size=(2, 3)), _gradient(rng, (2, 3))
        got, _ = _pair(result_on_read_only_inputs(student, name, w, dw), name)
        same_array(got, _pair(getattr(student, name)(w, dw), name)[0], rtol=0, atol=0,
                   what="next_w from read-only w and dw (it must equal next_w from writable "
                        "copies)")

    _rule_part(partial, f"w and dw: {name} {RULE_INPUTS} (read-only inputs, config=None)",
               inputs_kept)


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


# ---- the training loop, with the suite's own (trusted) update rules -----------------------------
PLAIN_STEP = trusted_function(
    "def plain_step(w, dw, config):\n"
    "    return w - config['learning_rate'] * dw, config\n")
# Returns a NEW dict with a step counter: a loop that drops the returned config keeps t at 1.
COUNTING_STEP = trusted_function(
    "def counting_step(w, dw, config):\n"
    "    config = dict(config)\n"
    "    config['t'] = config.get('t', 0) + 1\n"
    "    return w - config['learning_rate'] / config['t'] * dw, config\n")


def _regression(rng, n: int, d: int):
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)


def _train_pair(got, what: str):
    _require(isinstance(got, tuple) and len(got) == 2,
             f"train_minibatch must return a pair (w, losses), got {type(got).__name__}")
    return got


def _same_training(got, expected, what: str) -> None:
    w, losses = _train_pair(got, what)
    try:
        same_array(losses, expected[1], rtol=RTOL, atol=1e-12, dtype_kind="f",
                   what=f"the per-step losses ({what})")
    except AssertionError as failure:
        extra = ""
        if type(losses) is np.ndarray and losses.shape == expected[1].shape:
            if len(losses) > 1 and np.allclose(losses[:-1], expected[1][1:], rtol=1e-7):
                extra = " (they match the losses AFTER each update: record the loss before it)"
        raise AssertionError(f"{failure}{extra}") from None
    same_array(w, expected[0], rtol=RTOL, atol=1e-12, dtype_kind="f",
               what=f"the final w ({what})")


@pytest.mark.points(3)
def test_train_minibatch(student, reference, rng, partial):
    with partial.part("full batch (the order does not matter): losses and final w"):
        n, d = int(rng.integers(20, 40)), int(rng.integers(2, 5))
        X, y = _regression(rng, n, d)
        args = (X, y, PLAIN_STEP, {"learning_rate": _uniform(rng, 0.02, 0.1)})
        kwargs = {"batch_size": n, "num_epochs": 4, "seed": int(rng.integers(1000))}
        _same_training(student.train_minibatch(*args, **kwargs),
                       reference.train_minibatch(*args, **kwargs), "full batch")

    with partial.part("the loop goes on with the config the rule returns (a rule that "
                      "returns a new dict)"):
        n = int(rng.integers(10, 20))
        X, y = _regression(rng, n, 3)
        args = (X, y, COUNTING_STEP, {"learning_rate": _uniform(rng, 0.05, 0.2)})
        kwargs = {"batch_size": n, "num_epochs": 6, "seed": int(rng.integers(1000))}
        got = student.train_minibatch(*args, **kwargs)
        try:
            _same_training(got, reference.train_minibatch(*args, **kwargs),
                           "w, config = update_rule(w, dw, config) at every step")
        except AssertionError as failure:  # with the config dropped, t stays 1: plain steps
            dropped = reference.train_minibatch(X, y, PLAIN_STEP, *args[3:], **kwargs)
            extra = " (they match a loop that drops the config the rule returns)" if \
                mistakes.same_training(got, dropped) else ""
            raise AssertionError(f"{failure}{extra}") from None

    with partial.part("the order: one rng.permutation(N) per epoch of "
                      "np.random.default_rng(seed), every sample once per epoch"):
        n, epochs, seed = 9, 3, int(rng.integers(1000))
        y = rng.permutation(np.arange(1.0, n + 1.0))  # distinct: a loss names its sample
        X = rng.normal(size=(n, 2))
        args = (X, y, PLAIN_STEP, {"learning_rate": 0.0})
        kwargs = {"batch_size": 1, "num_epochs": epochs, "seed": seed}
        _, losses = _train_pair(student.train_minibatch(*args, **kwargs), "order")
        expected = reference.train_minibatch(*args, **kwargs)[1]
        try:
            same_array(losses, expected, rtol=RTOL, atol=0.0, dtype_kind="f",
                       what="the per-step losses with learning_rate 0 and batch_size 1 (each "
                            "is y[i]^2 of the sample visited)")
        except AssertionError as failure:
            extra = mistakes.explain_order(losses, y, epochs, seed)
            raise AssertionError(f"{failure}{extra}") from None

    with partial.part("a last batch smaller than batch_size: its own mean (identical "
                      "samples, so the order does not matter)"):
        x, target = rng.normal(size=3), float(rng.normal())
        X, y = np.tile(x, (10, 1)), np.full(10, target)
        args = (X, y, PLAIN_STEP, {"learning_rate": 0.2 / float(x @ x)})
        kwargs = {"batch_size": 4, "num_epochs": 2, "seed": int(rng.integers(1000))}
        got = _train_pair(student.train_minibatch(*args, **kwargs), "last batch")
        expected = reference.train_minibatch(*args, **kwargs)
        _require(type(got[1]) is np.ndarray and got[1].shape == expected[1].shape,
                 "10 samples in batches of 4 make 3 steps per epoch (4, 4 and 2 samples), 6 "
                 f"in 2 epochs: expected losses of shape {expected[1].shape}, got "
                 f"{getattr(got[1], 'shape', type(got[1]).__name__)}")
        _same_training(got, expected, "divide by the batch's own size, len(rows)")

    def inputs_kept():
        X, y = _regression(rng, 12, 2)
        args = (X, y, PLAIN_STEP, {"learning_rate": 0.05})
        kwargs = {"batch_size": 5, "num_epochs": 2, "seed": 7}
        got = _train_pair(result_on_read_only_inputs(student, "train_minibatch", *args, **kwargs), "")
        same_value(got, _train_pair(student.train_minibatch(*args, **kwargs), ""), rtol=0,
                   atol=0, what="the result from read-only X, y and config (it must equal the "
                                "result from writable copies)")

    _rule_part(partial, f"X, y and config: train_minibatch {RULE_INPUTS} (read-only inputs)",
               inputs_kept)


# ---- Newton's step ------------------------------------------------------------------------------
def _spd(rng, k: int, condition: float) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(k, k)))
    return Q @ np.diag(np.logspace(0, np.log10(condition), k)) @ Q.T


@pytest.mark.points(2)
def test_newton_step(student, reference, rng, partial):
    def same_newton(theta, grad, H, what):
        same_array(student.newton_step(theta, grad, H), reference.newton_step(theta, grad, H),
                   rtol=1e-6, atol=1e-10, dtype_kind="f", what=what)

    with partial.part("a random positive definite Hessian"):
        k = int(rng.integers(3, 7))
        same_newton(rng.normal(size=k), rng.normal(size=k), _spd(rng, k, 50.0), "theta_new")
    with partial.part("fixed edge cases: one parameter, and a saddle (an indefinite Hessian "
                      "used as given)"):
        same_newton(np.array([2.0]), np.array([3.0]), np.array([[4.0]]), "theta_new for k = 1")
        same_newton(np.array([1.0, 2.0, -1.0]), np.array([2.0, 1.0, 0.5]),
                    np.diag([2.0, -1.0, 0.5]), "theta_new at a saddle")
    with partial.part("20 parameters, Hessian condition number 1e4"):
        same_newton(rng.normal(size=20), rng.normal(size=20), _spd(rng, 20, 1e4), "theta_new")

    def inputs_kept():
        theta, grad, H = rng.normal(size=4), rng.normal(size=4), _spd(rng, 4, 10.0)
        same_array(result_on_read_only_inputs(student, "newton_step", theta, grad, H),
                   student.newton_step(theta, grad, H), rtol=0, atol=0,
                   what="theta_new from read-only inputs (it must equal theta_new from "
                        "writable copies)")

    def no_inverse():
        calls = student.calls("newton_step", INVERSE_FUNCTIONS)
        _require(not calls, "found " + ", ".join(calls))

    _rule_part(partial, f"theta, grad and hessian: newton_step {RULE_INPUTS} (read-only "
                        "inputs)", inputs_kept)
    _rule_part(partial, f"newton_step: {RULE_NO_INVERSE} (read from your code)", no_inverse)


# ---- L-BFGS -------------------------------------------------------------------------------------
def _pairs(rng, k: int, m: int, scales=None):
    """m pairs (s, y = A s) of a random SPD A, oldest first: s.y > 0."""
    A = _spd(rng, k, 50.0)
    S = [rng.normal(size=k) * (1.0 if scales is None else scales[i]) for i in range(m)]
    return S, [A @ s for s in S]


def _same_direction(student, reference, grad, S, Y, what: str) -> None:
    got = student.lbfgs_direction(grad, S, Y)
    try:
        same_array(got, reference.lbfgs_direction(grad, S, Y), rtol=1e-7, atol=1e-10,
                   dtype_kind="f", what=what)
    except AssertionError as failure:
        extra = mistakes.explain_direction(grad, S, Y, got) \
            if type(got) is np.ndarray and got.shape == grad.shape else ""
        raise AssertionError(f"{failure}{extra}") from None


@pytest.mark.points(3)
def test_lbfgs_direction(student, reference, rng, partial):
    with partial.part("no history gives -grad; one pair worked by hand"):
        grad = np.array([1.0, -2.0, 0.5])
        same_array(student.lbfgs_direction(grad, [], []), -grad, rtol=1e-12, atol=0,
                   dtype_kind="f", what="the direction with no history")
        _same_direction(student, reference, np.array([1.0, 1.0]), [np.array([1.0, 0.0])],
                        [np.array([2.0, 0.0])], "the direction for s = (1, 0), y = (2, 0)")
    with partial.part("a few pairs in a few dimensions"):
        k, m = int(rng.integers(4, 10)), int(rng.integers(2, 6))
        S, Y = _pairs(rng, k, m)
        _same_direction(student, reference, rng.normal(size=k), S, Y, "the direction")
    with partial.part("the lists hold the oldest pair first (for grad = newest y the "
                      "direction is minus newest s)"):
        S, Y = _pairs(rng, 6, 4)
        got = student.lbfgs_direction(Y[-1], S, Y)
        try:
            same_array(got, -S[-1], rtol=1e-7, atol=1e-10, dtype_kind="f",
                       what="the direction for grad = newest y (the secant equation H y = s)")
        except AssertionError as failure:
            extra = mistakes.explain_direction(Y[-1], S, Y, got) \
                if type(got) is np.ndarray and got.shape == (6,) else ""
            raise AssertionError(f"{failure}{extra}") from None
    with partial.part("pairs of different scales: H0 = gamma I from the newest pair"):
        S, Y = _pairs(rng, 8, 5, scales=[30.0, 10.0, 3.0, 1.0, 0.3])
        _same_direction(student, reference, rng.normal(size=8), S, Y, "the direction")

    def inputs_kept():
        S, Y = _pairs(rng, 5, 3)
        grad = rng.normal(size=5)
        same_array(result_on_read_only_inputs(student, "lbfgs_direction", grad, S, Y),
                   student.lbfgs_direction(grad, S, Y), rtol=0, atol=0,
                   what="the direction from read-only inputs (it must equal the direction "
                        "from writable copies)")

    _rule_part(partial, f"grad and the history lists: lbfgs_direction {RULE_INPUTS} "
                        "(read-only inputs)", inputs_kept)



# ---- learning-rate schedules --------------------------------------------------------------------
def _rate_values(got, t, what: str):
    """The student's rates as float64 (a number for an int t, an array of t's shape)."""
    if np.ndim(t) == 0:
        if type(got) is np.ndarray and got.ndim == 0 and got.dtype.kind in "fiu":
            got = got[()]  # np.where and friends give a 0-d array for an int t: accepted
        _require(isinstance(got, int | float | np.integer | np.floating) and
                 not isinstance(got, bool | np.bool_),
                 f"{what}: for an int t the rate must be a number, got {type(got).__name__}")
        return float(got)
    _require(type(got) is np.ndarray and got.shape == np.shape(t),
             f"{what}: for an array t of shape {np.shape(t)} the rates must be an array of the "
             f"same shape, got {getattr(got, 'shape', type(got).__name__)}")
    _require(got.dtype.kind == "f", f"{what}: expected floating-point rates, got dtype "
                                    f"{got.dtype}")
    return got


def _same_rates(got, t, what: str, computations) -> None:
    """The rates match the first of ``computations`` (callables giving the expected rates for
    the same t) that they match; a computation that raises (a student's helper inside
    ``reference.using``) is skipped. The first one is the reference's, which never raises."""
    values = _rate_values(got, t, what)
    first_failure = None
    for compute in computations:
        try:
            expected = compute()
        except StudentError:
            continue
        expected = float(np.asarray(expected).reshape(-1)[0]) if np.ndim(t) == 0 else \
            np.asarray(expected, dtype=np.float64)
        try:
            same_value(values, expected, rtol=1e-9, atol=1e-12, what=what)
            return
        except AssertionError as failure:
            first_failure = first_failure or failure
    raise first_failure


def _schedule_cases(student, reference, name: str, cases, references=None) -> None:
    """Every (t, args, kwargs, why) of ``cases`` against the reference (or any of
    ``references``: the reference, then the reference using the student's helpers)."""
    for t, args, kwargs, why in cases:
        got = getattr(student, name)(t, *args, **kwargs)
        computations = [functools.partial(getattr(ref, name), t, *args, **kwargs)
                        for ref in (references or [reference])]
        shown = f"t = {t}" if np.ndim(t) == 0 else f"t = {np.asarray(t).tolist()}"
        arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        _same_rates(got, t, f"{name}({shown}, {arguments}) ({why})", computations)


def _steps(rng, high: int, size: int = 6) -> np.ndarray:
    return np.sort(rng.choice(high, size=size, replace=False)).astype(np.int64)


@pytest.mark.points(3)
def test_lr_schedules(student, reference, rng, partial):
    # Fixed edge cases for everyone: t = 0, the last step of a stair and the first of the next,
    # the end of the cosine (t = total_steps) and beyond it, the end of the warm-up (t = W - 1
    # and t = W), int t and integer arrays. Random parts: other rates and sizes, same kinds.
    with partial.part("step_decay: t = 0, both sides of every stair boundary, int and array t"):
        base, size = _uniform(rng, 0.05, 0.5), int(rng.integers(3, 7))
        _schedule_cases(student, reference, "step_decay", [
            (0, (0.3, 4), {}, "t = 0 is base_lr"),
            (3, (0.3, 4), {}, "the last step before the first decay"),
            (4, (0.3, 4), {}, "the first decay is at t = step_size"),
            (np.arange(13), (0.8, 3), {"gamma": 0.1}, "three stairs, gamma 0.1"),
            (_steps(rng, 10 * size), (base, size), {"gamma": _uniform(rng, 0.2, 0.8)},
             "drawn steps"),
        ])
    with partial.part("exponential_decay: t = 0 is base_lr, int and array t"):
        _schedule_cases(student, reference, "exponential_decay", [
            (0, (0.25, 0.5), {}, "t = 0 is base_lr"),
            (3, (0.25, 0.5), {}, "three decays"),
            (np.arange(8), (0.4, 0.7), {}, "the first steps"),
            (_steps(rng, 200), (_uniform(rng, 0.05, 0.5), _uniform(rng, 0.9, 0.99)), {},
             "drawn steps"),
        ])
    with partial.part("cosine_decay: base_lr at t = 0, final_lr at t = total_steps and after"):
        total = int(rng.integers(20, 60))
        _schedule_cases(student, reference, "cosine_decay", [
            (0, (0.5, 10), {"final_lr": 0.05}, "t = 0 is base_lr"),
            (5, (0.5, 10), {"final_lr": 0.05}, "half-way is the mean of the two rates"),
            (10, (0.5, 10), {"final_lr": 0.05}, "t = total_steps is final_lr"),
            (np.arange(0, 15), (0.8, 10), {}, "past total_steps it stays at final_lr = 0"),
            (np.array([0, 7, 12, 16, 30]), (0.2, 16), {"final_lr": 0.02},
             "final_lr at t = total_steps and after"),
            (_steps(rng, total), (_uniform(rng, 0.05, 0.5), total),
             {"final_lr": _uniform(rng, 0.001, 0.01)}, "drawn steps before total_steps"),
        ])
    with partial.part("warmup_cosine: first rate base_lr / W, base_lr at t = W - 1 and W, "
                      "final_lr from total_steps on"):
        warmup, total = int(rng.integers(3, 10)), int(rng.integers(30, 60))
        # A warmup_cosine that calls the student's own cosine_decay is graded with it too.
        references = [reference, reference.using(student, "cosine_decay")] \
            if student.has("cosine_decay") else [reference]
        _schedule_cases(student, reference, "warmup_cosine", [
            (0, (0.6, 5, 20), {}, "the first rate is base_lr / warmup_steps"),
            (4, (0.6, 5, 20), {}, "the warm-up reaches base_lr at t = W - 1"),
            (5, (0.6, 5, 20), {}, "the cosine starts at base_lr at t = W"),
            (np.arange(26), (0.6, 5, 20), {"final_lr": 0.1}, "ramp, cosine, then final_lr"),
            (np.arange(8), (0.3, 2, 5), {"final_lr": 0.3}, "warm-up, then a constant rate"),
            (_steps(rng, total + 10, 8), (_uniform(rng, 0.05, 0.5), warmup, total),
             {"final_lr": _uniform(rng, 0.001, 0.01)}, "drawn steps"),
        ], references=references)


# ---- the training loop with learning curves -----------------------------------------------------
SOFTMAX_LOSS = trusted_function(
    "def softmax_loss(w, X, y):\n"
    "    scores = X @ w\n"
    "    scores = scores - scores.max(axis=1, keepdims=True)\n"
    "    p = np.exp(scores)\n"
    "    p = p / p.sum(axis=1, keepdims=True)\n"
    "    rows = np.arange(len(y))\n"
    "    loss = -np.mean(np.log(p[rows, y]))\n"
    "    p[rows, y] -= 1.0\n"
    "    return loss, X.T @ p / len(y)\n")
ARGMAX_PREDICT = trusted_function("lambda w, X: np.argmax(X @ w, axis=1)")
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")


def _classification(rng, n: int, d: int, classes: int):
    """Labels from a random linear model with noise: learnable, not separable at once."""
    X = rng.normal(size=(n, d))
    scores = X @ rng.normal(size=(d, classes)) + rng.normal(scale=1.0, size=(n, classes))
    return X, np.argmax(scores, axis=1).astype(np.int64)


def _data(rng, n: int, m: int, d: int, classes: int) -> dict:
    X_train, y_train = _classification(rng, n, d, classes)
    X_val, y_val = _classification(rng, m, d, classes)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def _loop_pair(got):
    _require(isinstance(got, tuple) and len(got) == 2,
             f"train_classifier must return a pair (w, history), got {type(got).__name__}")
    return got


def _history_values(history, key: str, epochs: int) -> np.ndarray:
    _require(isinstance(history, dict), "the history must be a dict, got "
                                        f"{type(history).__name__}")
    _require(key in history, f"the history has no key {key!r} (it needs "
                             f"{', '.join(HISTORY_KEYS)})")
    values = history[key]
    _require(isinstance(values, list | tuple | np.ndarray) and len(values) == epochs,
             f"history[{key!r}] must hold one number per epoch ({epochs}), got "
             f"{len(values) if hasattr(values, '__len__') else type(values).__name__}")
    try:
        return np.asarray(values, dtype=np.float64).reshape(epochs)
    except (TypeError, ValueError):
        raise AssertionError(f"history[{key!r}] must hold numbers") from None


def _same_w(got, expected, what: str) -> None:
    w, _ = _loop_pair(got)
    same_array(w, expected[0], rtol=RTOL, atol=1e-12, dtype_kind="f", what=what)


def _history_cause(values: np.ndarray, expected: dict, key: str) -> str:
    """A hint when the student's curve matches a known mistake (feedback only)."""
    def close(a, b) -> bool:
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-7, atol=1e-12))
    right = np.asarray(expected[key], dtype=np.float64)
    split, kind = key.split("_")
    other = np.asarray(expected[f"{'val' if split == 'train' else 'train'}_{kind}"],
                       dtype=np.float64)
    if close(values, other):
        return (" (they are the other set's values: the training curves use X_train, y_train "
                "and the validation curves X_val, y_val)")
    if len(values) > 1 and close(values[1:], right[:-1]):
        return (" (they match the values one epoch earlier: measure with the w reached at the "
                "END of each epoch, on the whole set, not before the epoch's (last) update)")
    return ""


def _same_history(got, expected, keys, epochs: int, why: str) -> None:
    _, history = _loop_pair(got)
    for key in keys:
        values = _history_values(history, key, epochs)
        try:
            same_array(values, np.asarray(expected[1][key], dtype=np.float64), rtol=RTOL,
                       atol=1e-12, dtype_kind="f", what=f"history[{key!r}] ({why})")
        except AssertionError as failure:
            raise AssertionError(f"{failure}{_history_cause(values, expected[1], key)}") \
                from None


@pytest.mark.points(4)
def test_train_classifier(student, reference, rng, partial):
    # One full-batch run at a constant rate gives the first three parts (w, training curves,
    # validation curves); the order of the samples does not matter with the full batch.
    data = _data(rng, int(rng.integers(20, 40)), int(rng.integers(10, 20)), 3, 3)
    full = (SOFTMAX_LOSS, ARGMAX_PREDICT, np.zeros((3, 3)), data, PLAIN_STEP,
            {"learning_rate": _uniform(rng, 0.3, 1.0)})
    full_kwargs = {"batch_size": len(data["y_train"]), "num_epochs": 4,
                   "seed": int(rng.integers(1000))}

    def full_run():
        return (student.train_classifier(*full, **full_kwargs),
                reference.train_classifier(*full, **full_kwargs))

    with partial.part("full batch at a constant rate (lr_schedule=None): the final w"):
        got, expected = full_run()
        _same_w(got, expected, "the final w after 4 full-batch epochs")
    with partial.part("train_loss and train_acc after each epoch, on the whole training set"):
        got, expected = full_run()
        _same_history(got, expected, ("train_loss", "train_acc"), 4,
                      "loss_fn and predict_fn on X_train, y_train with the w at the end of "
                      "each epoch")
    with partial.part("val_loss and val_acc after each epoch, on the validation set"):
        got, expected = full_run()
        _same_history(got, expected, ("val_loss", "val_acc"), 4,
                      "loss_fn and predict_fn on X_val, y_val with the w at the end of each "
                      "epoch")

    with partial.part("lr_schedule(t) before every update, t = 0, 1, 2, ... over the whole "
                      "run (identical samples, so the order does not matter)"):
        # 10 copies of one sample, batches of 4 (4, 4, 2): 3 updates per epoch, 9 in 3 epochs;
        # rates that differ at every step tell the step number from the epoch number.
        x, label = rng.normal(size=3), int(rng.integers(3))
        same = {"X_train": np.tile(x, (10, 1)), "y_train": np.full(10, label, dtype=np.int64),
                "X_val": data["X_val"], "y_val": data["y_val"]}
        scale = 0.5 / float(x @ x)
        schedule = trusted_function(f"lambda t: {scale!r} * (1.0 + t) / (2.0 + t * t)")
        args = (SOFTMAX_LOSS, ARGMAX_PREDICT, np.zeros((3, 3)), same, PLAIN_STEP,
                {"learning_rate": 50.0 * scale})
        kwargs = {"lr_schedule": schedule, "batch_size": 4, "num_epochs": 3,
                  "seed": int(rng.integers(1000))}
        _same_w(student.train_classifier(*args, **kwargs),
                reference.train_classifier(*args, **kwargs),
                "the final w (config['learning_rate'] = lr_schedule(t) before each update)")

    with partial.part("the loop goes on with the config the rule returns (a rule that returns "
                      "a new dict)"):
        args = (SOFTMAX_LOSS, ARGMAX_PREDICT, np.zeros((3, 3)), data, COUNTING_STEP,
                {"learning_rate": _uniform(rng, 0.5, 1.5)})
        kwargs = {"batch_size": len(data["y_train"]), "num_epochs": 5, "seed": 0}
        _same_w(student.train_classifier(*args, **kwargs),
                reference.train_classifier(*args, **kwargs),
                "the final w (w, config = update_rule(w, dw, config) at every step)")

    with partial.part("minibatches: one rng.permutation(N) per epoch of "
                      "np.random.default_rng(seed), the last batch shorter"):
        # Fixed sizes and seed: 10 samples in batches of 3 (3, 3, 3, 1) over 3 epochs.
        small = _data(rng, 10, 5, 3, 3)
        args = (SOFTMAX_LOSS, ARGMAX_PREDICT, np.zeros((3, 3)), small, PLAIN_STEP,
                {"learning_rate": _uniform(rng, 0.3, 1.0)})
        kwargs = {"batch_size": 3, "num_epochs": 3, "seed": 17}
        _same_w(student.train_classifier(*args, **kwargs),
                reference.train_classifier(*args, **kwargs), "the final w")

    def inputs_kept():
        args = (SOFTMAX_LOSS, ARGMAX_PREDICT, rng.normal(size=(3, 3)), data, PLAIN_STEP,
                {"learning_rate": 0.5})
        kwargs = {"lr_schedule": trusted_function("lambda t: 0.5 / (1.0 + t)"),
                  "batch_size": 7, "num_epochs": 2, "seed": 3}
        got = _loop_pair(result_on_read_only_inputs(student, "train_classifier", *args,
                                                    **kwargs))
        same_array(got[0], _loop_pair(student.train_classifier(*args, **kwargs))[0], rtol=0,
                   atol=0, what="the final w from read-only w0, data and config (it must equal "
                                "the final w from writable copies)")

    _rule_part(partial, f"w0, data and config: train_classifier {RULE_INPUTS} (read-only "
                        "inputs)", inputs_kept)
