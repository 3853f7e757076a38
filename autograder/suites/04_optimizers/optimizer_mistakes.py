"""Known mistakes in the 04_optimizers functions, so that feedback can name the cause.

The hidden suite grades against the reference notebook; this module only explains a failure.
When a student's steps (or state, or L-BFGS direction) differ from the reference, the suite
replays the same inputs through small numpy models of well-known mistakes (the slides' errata
among them) and, if one reproduces the student's values, adds its hint to the message.

- ``rule_step(name, w, dw, config, mistake)``: one step of an update rule, as the notebook
  states it (``mistake=None``) or with one mistake; ``config`` holds hyper-parameters and
  state as in the notebook (a new dict is returned).
- ``explain_rule(name, w0, gradients, config, observed, key)``: the hint for the first mistake
  whose per-step values reproduce ``observed`` (steps when ``key`` is None, else state key).
- ``lbfgs_model(grad, S, Y, mistake)`` / ``explain_direction(...)``: the same for L-BFGS.
- ``explain_order(...)``: the cause of a wrong minibatch order, read from the losses;
  ``same_training(got, expected)``: a quiet comparison of two training results.

tests/test_optimizers.py checks that every model without a mistake equals the reference.
"""

from __future__ import annotations

import numpy as np

#: name -> {mistake: hint}; the hint completes "your values match ...".
RULE_MISTAKES = {
    "sgd": {"plus": "a step up the gradient: next_w = w - learning_rate * dw"},
    "sgd_momentum": {
        "minus_velocity": "next_w = w - v; the velocity already holds the minus sign: "
                          "next_w = w + v",
        "plus_gradient": "v = momentum * v + learning_rate * dw; the formula subtracts the "
                         "gradient: v = momentum * v - learning_rate * dw",
    },
    "nesterov_momentum": {
        "theta_plus_v": "the look-ahead theta + v (the slides' erratum); it is theta + "
                        "momentum * v: next_w = w + momentum * v_new - learning_rate * dw",
        "plain_momentum": "plain momentum next_w = w + v_new; Nesterov's form is next_w = w + "
                          "momentum * v_new - learning_rate * dw",
        "old_velocity": "the old velocity in the look-ahead; use the new one: next_w = w + "
                        "momentum * v_new - learning_rate * dw",
    },
    "adagrad": {
        "eps_inside": "epsilon inside the square root; the text puts it outside: dw / "
                      "(sqrt(cache) + epsilon)",
        "not_accumulating": "a cache that is not accumulated (cache = dw^2); AdaGrad sums all "
                            "squared gradients: cache = cache + dw^2",
    },
    "rmsprop": {
        "eps_inside": "epsilon inside the square root; the text puts it outside: dw / "
                      "(sqrt(cache) + epsilon)",
        "decay_swapped": "decay_rate on the new gradient; it weighs the old cache: cache = "
                         "decay_rate * cache + (1 - decay_rate) * dw^2",
    },
    "adadelta": {
        "eps_outside": "epsilon outside the square roots; Adadelta puts it inside both: "
                       "sqrt(delta_cache + epsilon) / sqrt(cache + epsilon)",
        "cache_after": "the cache updated after the step; update it first, then compute delta",
        "no_learning_rate": "a step without the learning rate: next_w = w - learning_rate * "
                            "delta",
    },
    "adam": {
        "no_bias_correction": "no bias correction; divide the moments by 1 - beta1^t and "
                              "1 - beta2^t",
        "constant_correction": "the correction 1 - beta (the slides' erratum); it is "
                               "1 - beta^t with the step number t",
        "eps_inside": "epsilon inside the square root; it is added to sqrt(v_hat)",
        "times_dw": "m_hat * dw in the step (the slides' erratum); the step uses m_hat alone",
        "kingma_form": "the paper's shortcut lr * sqrt(1 - beta2^t) / (1 - beta1^t) with "
                       "epsilon added to sqrt(v); the text adds epsilon to sqrt(v_hat)",
    },
}


def rule_step(name: str, w: np.ndarray, dw: np.ndarray, config: dict,
              mistake: str | None = None) -> tuple[np.ndarray, dict]:
    """One step of rule ``name`` from ``w`` with gradient ``dw``.

    Inputs:
    - name: "sgd", "sgd_momentum", ..., "adam".
    - w, dw: float arrays of one shape; config: hyper-parameters (all given) and state.
    - mistake: None for the rule as the notebook states it, or a key of RULE_MISTAKES[name].
    Returns (next_w, new_config); the inputs are not changed.
    """
    c = dict(config)
    zeros = np.zeros_like(w)
    lr = c["learning_rate"]
    if name == "sgd":
        return (w + lr * dw if mistake == "plus" else w - lr * dw), c
    if name in ("sgd_momentum", "nesterov_momentum"):
        mu, v_old = c["momentum"], c.get("velocity", zeros)
        v = mu * v_old + (lr * dw if mistake == "plus_gradient" else -lr * dw)
        c["velocity"] = v
        if name == "sgd_momentum":
            return (w - v if mistake == "minus_velocity" else w + v), c
        look = {"theta_plus_v": v, "plain_momentum": v + lr * dw,
                "old_velocity": mu * v_old}.get(mistake, mu * v)
        return w + look - lr * dw, c
    eps = c["epsilon"]
    if name in ("adagrad", "rmsprop"):
        cache = c.get("cache", zeros)
        if name == "adagrad":
            cache = dw * dw if mistake == "not_accumulating" else cache + dw * dw
        else:
            rho = c["decay_rate"]
            cache = ((1 - rho) * cache + rho * dw * dw if mistake == "decay_swapped"
                     else rho * cache + (1 - rho) * dw * dw)
        c["cache"] = cache
        root = np.sqrt(cache + eps) if mistake == "eps_inside" else np.sqrt(cache) + eps
        return w - lr * dw / root, c
    if name == "adadelta":
        rho = c["rho"]
        cache_old, u = c.get("cache", zeros), c.get("delta_cache", zeros)
        cache = rho * cache_old + (1 - rho) * dw * dw
        denominator_cache = cache_old if mistake == "cache_after" else cache
        if mistake == "eps_outside":
            delta = (np.sqrt(u) + eps) / (np.sqrt(denominator_cache) + eps) * dw
        else:
            delta = np.sqrt(u + eps) / np.sqrt(denominator_cache + eps) * dw
        c["cache"], c["delta_cache"] = cache, rho * u + (1 - rho) * delta * delta
        return w - (delta if mistake == "no_learning_rate" else lr * delta), c
    if name == "adam":
        b1, b2 = c["beta1"], c["beta2"]
        t = c.get("t", 0) + 1
        m = b1 * c.get("m", zeros) + (1 - b1) * dw
        v = b2 * c.get("v", zeros) + (1 - b2) * dw * dw
        c["m"], c["v"], c["t"] = m, v, t
        if mistake == "kingma_form":
            return w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps), c
        power = 1 if mistake == "constant_correction" else t
        if mistake == "no_bias_correction":
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - b1**power), v / (1 - b2**power)
        if mistake == "times_dw":
            m_hat = m_hat * dw
        root = np.sqrt(v_hat + eps) if mistake == "eps_inside" else np.sqrt(v_hat) + eps
        return w - lr * m_hat / root, c
    raise KeyError(f"unknown rule {name!r}")


def rule_trajectory(name: str, w0: np.ndarray, gradients, config: dict,
                    mistake: str | None = None) -> list[tuple[np.ndarray, dict]]:
    """(next_w, config) after each gradient, starting from ``w0`` and ``config``."""
    out, w = [], np.asarray(w0, dtype=np.float64)
    for dw in gradients:
        w, config = rule_step(name, w, np.asarray(dw, dtype=np.float64), config, mistake)
        out.append((w, config))
    return out


def _close(a, b) -> bool:
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-7, atol=1e-13))


def explain_rule(name: str, w0: np.ndarray, gradients, config: dict, observed: list,
                 key: str | None = None) -> str:
    """" (your ... match <mistake>)" when a known mistake reproduces ``observed``, else "".

    Inputs:
    - observed: the student's per-step values, as many steps as were obtained: the steps
      next_w - w when ``key`` is None, else the values of config[key].
    """
    for mistake, hint in RULE_MISTAKES.get(name, {}).items():
        try:
            with np.errstate(all="ignore"):
                model = rule_trajectory(name, w0, gradients[:len(observed)], config, mistake)
        except (KeyError, ValueError, ZeroDivisionError):
            continue
        previous, expected = np.asarray(w0, dtype=np.float64), []
        for next_w, state in model:
            expected.append(next_w - previous if key is None else state.get(key))
            previous = next_w
        if observed and all(_close(o, e) for o, e in zip(observed, expected, strict=True)):
            what = "steps" if key is None else f"config[{key!r}] values"
            return f" (your {what} match {hint})"
    return ""


# ---- L-BFGS ---------------------------------------------------------------------------------
LBFGS_MISTAKES = {
    "lists_newest_first": "the lists read as newest pair first; they hold the OLDEST pair first",
    "first_loop_oldest_first": "a first loop from oldest to newest; it runs newest to oldest",
    "second_loop_newest_first": "a second loop from newest to oldest; it runs oldest to newest",
    "gamma_one": "H0 = I; start from H0 = gamma I with gamma = s.y / y.y of the newest pair",
    "gamma_oldest": "gamma from the oldest pair; it comes from the newest pair",
    "plus_direction": "+H grad; the direction is -H grad",
}


def lbfgs_model(grad, S, Y, mistake: str | None = None) -> np.ndarray:
    """The two-loop recursion as the notebook states it, or with one of LBFGS_MISTAKES."""
    S, Y = [np.asarray(s, dtype=np.float64) for s in S], [np.asarray(y, dtype=np.float64)
                                                          for y in Y]
    if mistake == "lists_newest_first":
        S, Y = S[::-1], Y[::-1]
    m, q = len(S), np.array(grad, dtype=np.float64)
    rho = [1.0 / (Y[i] @ S[i]) for i in range(m)]
    alpha = [0.0] * m
    first = range(m) if mistake == "first_loop_oldest_first" else reversed(range(m))
    for i in first:
        alpha[i] = rho[i] * (S[i] @ q)
        q = q - alpha[i] * Y[i]
    if m and mistake != "gamma_one":
        j = 0 if mistake == "gamma_oldest" else m - 1
        q = (S[j] @ Y[j]) / (Y[j] @ Y[j]) * q
    second = reversed(range(m)) if mistake == "second_loop_newest_first" else range(m)
    for i in second:
        beta = rho[i] * (Y[i] @ q)
        q = q + (alpha[i] - beta) * S[i]
    return q if mistake == "plus_direction" else -q


def explain_direction(grad, S, Y, got) -> str:
    """" (your direction matches <mistake>)" when a known mistake reproduces ``got``."""
    for mistake, hint in LBFGS_MISTAKES.items():
        if _close(got, lbfgs_model(grad, S, Y, mistake)):
            return f" (your direction matches {hint})"
    return ""


# ---- minibatch order ------------------------------------------------------------------------
def explain_order(losses, y, num_epochs: int, seed: int) -> str:
    """Why the visiting order read from ``losses`` is wrong (batch_size 1, w fixed at 0).

    Inputs:
    - losses: the student's per-step losses; with w = 0 and batch_size 1 each is y[i]^2.
    - y: the targets, distinct positive numbers; num_epochs, seed: as passed to the loop.
    Returns " (<the cause>)", or "" when the order cannot be read from the losses.
    """
    n = len(y)
    if type(losses) is not np.ndarray or losses.shape != (n * num_epochs,) or \
            losses.dtype.kind not in "fiu":
        return ""
    losses = losses.astype(np.float64)
    squares = np.asarray(y, dtype=np.float64) ** 2
    index = np.abs(losses[:, None] - squares[None, :]).argmin(axis=1)
    if not np.allclose(squares[index], losses, rtol=1e-9):
        return ""
    epochs = index.reshape(num_epochs, n)
    rng = np.random.default_rng(seed)
    expected = np.array([rng.permutation(n) for _ in range(num_epochs)])
    if any(len(set(e.tolist())) < n for e in epochs):
        return (" (an epoch visited some samples more than once and others never: draw the "
                "order without replacement, order = rng.permutation(N))")
    if all((e == np.arange(n)).all() for e in epochs):
        return (" (the samples were visited in their stored order: shuffle each epoch with "
                "order = rng.permutation(N))")
    if (epochs[0] == expected[0]).all() and all((e == epochs[0]).all() for e in epochs):
        return (" (every epoch used the same order: make rng = np.random.default_rng(seed) "
                "once, before the epochs, and call rng.permutation(N) in each epoch)")
    return (" (the order is not the one of rng = np.random.default_rng(seed) made once, "
            "with order = rng.permutation(N) at the start of each epoch)")


def same_training(got, expected) -> bool:
    """True when ``got`` is a pair (w, losses) equal to ``expected`` (for hints only)."""
    return (isinstance(got, tuple) and len(got) == 2 and _close(got[0], expected[0])
            and _close(got[1], expected[1]))
