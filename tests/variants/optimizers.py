"""Realistic 04_optimizers mistakes and the exact score each must get (see tests/variants/__init__.py).

Points and parts per test (autograder/suites/04_optimizers/test_optimizers.py):
sgd 1 (4 parts), sgd_momentum 2 (5), nesterov_momentum 2 (5), adagrad 2 (6), rmsprop 2 (6),
adadelta 2 (6), adam 3 (7), train_minibatch 3 (5), lr_schedules 3 (4), train_classifier 4 (7),
newton_step 2 (5), lbfgs_direction 3 (5).
A test with n parts of which k fail scores points * (n - k) / n.

Each variant is the solution with one or two graded cells edited (``_edit`` replaces a piece of
the solution's own source, so the variants follow the solution when it changes).
"""

from __future__ import annotations

from variants import Variant, edited_cell, part_score, solution_cells

ASSIGNMENT = "04_optimizers"


def _edit(grade_id: str, *pairs: tuple[str, str]) -> dict[str, str]:
    """{grade_id: the solution cell with each (old, new) replaced once}."""
    return {grade_id: edited_cell(ASSIGNMENT, grade_id, *pairs)}

POINTS = {"sgd": 1, "sgd_momentum": 2, "nesterov_momentum": 2, "adagrad": 2, "rmsprop": 2,
          "adadelta": 2, "adam": 3, "train_minibatch": 3, "lr_schedules": 3,
          "train_classifier": 4, "newton_step": 2, "lbfgs_direction": 3}
PARTS = {"sgd": 4, "sgd_momentum": 5, "nesterov_momentum": 5, "adagrad": 6, "rmsprop": 6,
         "adadelta": 6, "adam": 7, "train_minibatch": 5, "lr_schedules": 4,
         "train_classifier": 7, "newton_step": 5, "lbfgs_direction": 5}


def _score(name: str, failed_parts: int) -> dict[str, float]:
    """{"test_<name>": the score of that test with ``failed_parts`` parts failed}."""
    return {f"test_{name}": part_score(POINTS[name], PARTS[name], failed_parts)}



def _stub(name: str, signature: str) -> str:
    return f"def {name}({signature}):\n    raise NotImplementedError()\n"


VARIANTS = [
    # ---- update rules: value mistakes (the slides' errata among them) -------------------------
    Variant("adam_no_bias_correction",
            "Adam without bias correction (m_hat = m, v_hat = v): every step is wrong, the "
            "state m, v, t is right",
            _edit("adam", ("m_hat = m / (1 - beta1**t)", "m_hat = m"),
                  ("v_hat = v / (1 - beta2**t)", "v_hat = v")),
            # defaults, given config, trajectory, edge, first step fail; state and inputs pass
            _score("adam", 5), ("test_adam",)),
    Variant("adam_constant_bias_correction",
            "Adam with the slides' 1 - beta instead of 1 - beta**t: the first step is right, "
            "later steps are not",
            _edit("adam", ("m_hat = m / (1 - beta1**t)", "m_hat = m / (1 - beta1)"),
                  ("v_hat = v / (1 - beta2**t)", "v_hat = v / (1 - beta2)")),
            # given config (t >= 3), trajectory, edge (two steps) fail
            _score("adam", 3), ("test_adam",)),
    Variant("adam_t_incremented_after_use",
            "Adam increments t after the bias correction: the first step divides by "
            "1 - beta**0 = 0",
            _edit("adam", ("    t = t + 1\n", ""),
                  ("    next_w = w - config", "    t = t + 1\n    next_w = w - config")),
            # every step is off by one in t (the first one is inf/nan); the state (m, v, t)
            # is right, so the inputs part still pays
            _score("adam", 5), ("test_adam",)),
    Variant("adam_epsilon_inside_sqrt",
            "Adam with epsilon inside the square root, sqrt(v_hat + epsilon)",
            _edit("adam", ('(np.sqrt(v_hat) + config["epsilon"])',
                           'np.sqrt(v_hat + config["epsilon"])')),
            _score("adam", 2), ("test_adam",)),  # trajectory and edge
    Variant("nesterov_theta_plus_v",
            "Nesterov with the look-ahead theta + v instead of theta + momentum * v",
            _edit("nesterov_momentum", ('next_w = w + config["momentum"] * v -',
                                        "next_w = w + v -")),
            # defaults, given config, trajectory fail; the velocity is right
            _score("nesterov_momentum", 3), ("test_nesterov_momentum",)),
    Variant("rmsprop_epsilon_inside_sqrt",
            "RMSProp with epsilon inside the square root, sqrt(cache + epsilon)",
            _edit("rmsprop", ('(np.sqrt(cache) + config["epsilon"])',
                              'np.sqrt(cache + config["epsilon"])')),
            _score("rmsprop", 2), ("test_rmsprop",)),  # trajectory and edge
    Variant("adagrad_not_accumulating",
            "AdaGrad that keeps only the last squared gradient (cache = dw * dw)",
            _edit("adagrad", ("cache = cache + dw * dw", "cache = dw * dw")),
            # given config (a cache in it), trajectory, state, edge (two steps) fail
            _score("adagrad", 4), ("test_adagrad",)),
    Variant("adadelta_epsilon_outside_roots",
            "Adadelta with epsilon outside the square roots",
            _edit("adadelta", ("delta = np.sqrt(delta_cache + eps) / np.sqrt(cache + eps) * dw",
                               "delta = (np.sqrt(delta_cache) + eps) / (np.sqrt(cache) + eps)"
                               " * dw")),
            # every step and delta_cache are wrong: nothing is right, so the inputs part does
            # not pay either
            _score("adadelta", 6), ("test_adadelta",)),
    Variant("adadelta_without_learning_rate",
            "Adadelta that steps w - delta, ignoring learning_rate (PyTorch's default is 1)",
            _edit("adadelta", ('next_w = w - config["learning_rate"] * delta',
                               "next_w = w - delta")),
            # the defaults (learning_rate 1) and the state (delta is taken before the learning
            # rate) stay right; the given config, trajectory and edge fail
            _score("adadelta", 3), ("test_adadelta",)),
    Variant("sgd_momentum_sign_error",
            "momentum that steps next_w = w - v (the velocity already holds the minus sign)",
            _edit("sgd_momentum", ("next_w = w + v", "next_w = w - v")),
            _score("sgd_momentum", 3), ("test_sgd_momentum",)),  # the velocity is right
    Variant("lbfgs_second_loop_newest_first",
            "L-BFGS whose second loop runs newest to oldest",
            _edit("lbfgs_direction", ("for i, (s, y) in enumerate(pairs):",
                                      "for i, (s, y) in reversed(list(enumerate(pairs))):")),
            # one pair by hand still right (m = 1); a few pairs, secant, scales fail
            _score("lbfgs_direction", 3), ("test_lbfgs_direction",)),
    Variant("lbfgs_without_gamma",
            "L-BFGS that starts from H0 = I instead of gamma I",
            _edit("lbfgs_direction", ("        q = (s @ y) / (y @ y) * q\n", "        pass\n")),
            # the secant equation holds for any H0: that part still passes
            _score("lbfgs_direction", 3), ("test_lbfgs_direction",)),
    # ---- rules stated next to the functions -----------------------------------------------
    Variant("sgd_in_place",
            "sgd that updates w in place (w -= ...) with every value right",
            _edit("sgd", ('next_w = w - config["learning_rate"] * dw',
                          'w -= config["learning_rate"] * dw\n    next_w = w')),
            _score("sgd", 1), ("test_sgd",)),
    Variant("lbfgs_in_place_gradient",
            "lbfgs_direction that starts from q = grad and updates it in place (q -= ...), "
            "with every value right",
            _edit("lbfgs_direction", ("q = np.array(grad, dtype=np.float64)", "q = grad"),
                  ("        q = q - alphas[i] * y", "        q -= alphas[i] * y")),
            _score("lbfgs_direction", 1), ("test_lbfgs_direction",)),
    Variant("newton_explicit_inverse",
            "newton_step with np.linalg.inv, which the text forbids, values right",
            _edit("newton_step", ("return theta - np.linalg.solve(hessian, grad)",
                                  "return theta - np.linalg.inv(hessian) @ grad")),
            _score("newton_step", 1), ("test_newton_step",)),
    Variant("newton_inverse_in_a_helper",
            "newton_step that calls a helper of its own which uses np.linalg.pinv",
            {"newton_step": solution_cells(ASSIGNMENT)["newton_step"].replace(
                "return theta - np.linalg.solve(hessian, grad)",
                "return theta - _inverse(hessian) @ grad") +
             "\n\n\ndef _inverse(matrix):\n    return np.linalg.pinv(matrix)\n"},
            _score("newton_step", 1), ("test_newton_step",)),
    # ---- correct code that must keep full marks -------------------------------------------
    Variant("sgd_momentum_extra_config_keys",
            "sgd_momentum that keeps extra keys of its own in config, every step right",
            _edit("sgd_momentum", ('    config["velocity"] = v\n',
                                   '    config["velocity"] = v\n'
                                   '    config["steps"] = config.get("steps", 0) + 1\n'
                                   '    config["last_dw"] = dw.copy()\n')),
            {}),
    Variant("sgd_momentum_in_place_state",
            "sgd_momentum that updates its own velocity array in place (v *= ...; v -= ...)",
            _edit("sgd_momentum", ('    v = config["momentum"] * v - config["learning_rate"] * dw\n',
                                   '    v *= config["momentum"]\n'
                                   '    v -= config["learning_rate"] * dw\n')),
            {}),
    Variant("correct_loop_next_to_wrong_rules",
            "a correct train_minibatch next to a wrong sgd_momentum and an unimplemented sgd: "
            "the loop keeps full marks",
            {**_edit("sgd_momentum", ("next_w = w + v", "next_w = w - v")),
             "sgd": _stub("sgd", "w, dw, config=None")},
            {**_score("sgd_momentum", 3), "test_sgd": 0.0}, ("test_sgd", "test_sgd_momentum")),
    # ---- the training loop ------------------------------------------------------------------
    Variant("train_minibatch_with_replacement",
            "minibatches drawn with replacement (rng.integers) instead of a permutation",
            _edit("train_minibatch", ("order = rng.permutation(N)",
                                      "order = rng.integers(0, N, size=N)")),
            # full batch, counting rule (full batch too) and order fail; the identical-samples
            # part cannot tell
            _score("train_minibatch", 3), ("test_train_minibatch",)),
    Variant("train_minibatch_without_shuffle",
            "minibatches in the stored order (no shuffle)",
            _edit("train_minibatch", ("order = rng.permutation(N)", "order = np.arange(N)")),
            _score("train_minibatch", 1), ("test_train_minibatch",)),
    Variant("train_minibatch_reseeded_every_epoch",
            "a new default_rng(seed) every epoch: the same order in every epoch",
            _edit("train_minibatch", ("    rng = np.random.default_rng(seed)\n", ""),
                  ("        order = rng.permutation(N)",
                   "        rng = np.random.default_rng(seed)\n"
                   "        order = rng.permutation(N)")),
            _score("train_minibatch", 1), ("test_train_minibatch",)),
    Variant("train_minibatch_drops_returned_config",
            "the loop calls the rule but drops the config it returns",
            _edit("train_minibatch", ("w, config = update_rule(w, dw, config)",
                                      "w, _ = update_rule(w, dw, config)")),
            _score("train_minibatch", 1), ("test_train_minibatch",)),
    Variant("train_minibatch_divides_by_batch_size",
            "loss and gradient divided by batch_size, also for a smaller last batch",
            _edit("train_minibatch", ("losses.append(residual @ residual / len(rows))",
                                      "losses.append(residual @ residual / batch_size)"),
                  ("dw = (2.0 / len(rows))", "dw = (2.0 / batch_size)")),
            _score("train_minibatch", 1), ("test_train_minibatch",)),
    Variant("train_minibatch_loss_after_update",
            "the loss recorded after the update instead of before",
            _edit("train_minibatch", (
                "            losses.append(residual @ residual / len(rows))\n", ""),
                ("            w, config = update_rule(w, dw, config)\n",
                 "            w, config = update_rule(w, dw, config)\n"
                 "            after = X[rows] @ w - y[rows]\n"
                 "            losses.append(after @ after / len(rows))\n")),
            # full batch, counting rule and last batch fail; the order part (lr 0) passes
            _score("train_minibatch", 3), ("test_train_minibatch",)),
    Variant("train_minibatch_sums_the_gradient",
            "the gradient without the 1/B of the mean (the slides' erratum)",
            _edit("train_minibatch", ("dw = (2.0 / len(rows)) * (X[rows].T @ residual)",
                                      "dw = 2.0 * (X[rows].T @ residual)")),
            _score("train_minibatch", 3), ("test_train_minibatch",)),
    # ---- learning-rate schedules (one part per schedule) -------------------------------------
    Variant("step_decay_off_by_one",
            "step decay whose first decay comes one step early: (t + 1) // step_size",
            _edit("lr_schedules", ("stairs = np.asarray(t) // step_size",
                                   "stairs = (np.asarray(t) + 1) // step_size")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    Variant("exponential_decay_one_step_late",
            "exponential decay gamma ** (t + 1): t = 0 is already decayed",
            _edit("lr_schedules", ("np.power(float(gamma), np.asarray(t))",
                                   "np.power(float(gamma), np.asarray(t) + 1)")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    Variant("cosine_not_clamped",
            "cosine decay without min(t, T): after total_steps the rate comes back up; "
            "warmup_cosine calls it and is right given it (full marks for that part)",
            _edit("lr_schedules", ("fraction = np.clip(np.asarray(t) / total_steps, 0.0, 1.0)",
                                   "fraction = np.asarray(t) / total_steps")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    Variant("cosine_reaches_final_one_step_early",
            "cosine decay over total_steps - 1: final_lr is reached one step early (warmup_cosine "
            "calls it and keeps its part)",
            _edit("lr_schedules", ("fraction = np.clip(np.asarray(t) / total_steps, 0.0, 1.0)",
                                   "fraction = np.clip(np.asarray(t) / (total_steps - 1), 0.0, "
                                   "1.0)")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    Variant("cosine_with_math_cos",
            "cosine decay with math.cos, which fails for an array t; warmup_cosine calls it, so "
            "it fails too (a helper that raises cannot credit its caller: the stated limit)",
            _edit("lr_schedules", ("(1.0 + np.cos(np.pi * fraction))",
                                   "(1.0 + __import__('math').cos(np.pi * fraction))")),
            _score("lr_schedules", 2), ("test_lr_schedules",)),
    Variant("warmup_from_zero",
            "warm-up base_lr * t / W: the first rate is 0 and the ramp is one step late",
            _edit("lr_schedules", ("ramp = base_lr * (steps + 1) / warmup_steps",
                                   "ramp = base_lr * steps / warmup_steps")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    Variant("warmup_starting_at_base_rate",
            "no ramp: the warm-up steps use base_lr",
            _edit("lr_schedules", ("ramp = base_lr * (steps + 1) / warmup_steps",
                                   "ramp = base_lr + 0.0 * steps")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    Variant("warmup_cosine_not_shifted",
            "after the warm-up, the cosine of t over total_steps instead of t - W over T - W",
            _edit("lr_schedules", ("cosine_decay(steps - warmup_steps, base_lr, total_steps - "
                                   "warmup_steps, final_lr)",
                                   "cosine_decay(steps, base_lr, total_steps, final_lr)")),
            _score("lr_schedules", 1), ("test_lr_schedules",)),
    # ---- the training loop with learning curves ------------------------------------------------
    Variant("train_classifier_last_batch_loss",
            "train_loss is the loss of the epoch's last batch (before its update), not the "
            "training set after the epoch",
            _edit("train_classifier",
                  ("            _, dw = loss_fn(", "            batch_loss, dw = loss_fn("),
                  ("            history[split + \"_loss\"].append(float(loss_fn(w, X_split, "
                   "y_split)[0]))",
                   "            history[split + \"_loss\"].append(float(loss_fn(w, X_split, "
                   "y_split)[0]) if split == \"val\" else float(batch_loss))")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_validates_on_training_data",
            "val_loss and val_acc computed on the training set",
            _edit("train_classifier", ('X_split, y_split = data["X_" + split], data["y_" + split]',
                                       'X_split, y_split = data["X_train"], data["y_train"]')),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_history_before_the_epoch",
            "the curves are measured at the start of each epoch, before its updates",
            _edit("train_classifier",
                  ("        shuffled = rng.permutation(num_train)\n",
                   "        for split in (\"train\", \"val\"):\n"
                   "            X_split, y_split = data[\"X_\" + split], data[\"y_\" + split]\n"
                   "            history[split + \"_loss\"].append(float(loss_fn(w, X_split, "
                   "y_split)[0]))\n"
                   "            history[split + \"_acc\"].append(float(np.mean(predict_fn(w, "
                   "X_split) == y_split)))\n"
                   "        shuffled = rng.permutation(num_train)\n"),
                  ("        for split in (\"train\", \"val\"):\n"
                   "            X_split, y_split = data[\"X_\" + split], data[\"y_\" + split]\n"
                   "            history[split + \"_loss\"].append(float(loss_fn(w, X_split, "
                   "y_split)[0]))\n"
                   "            history[split + \"_acc\"].append(float(np.mean(predict_fn(w, "
                   "X_split) == y_split)))\n    ### END",
                   "    ### END")),
            _score("train_classifier", 2), ("test_train_classifier",)),
    Variant("train_classifier_schedule_per_epoch",
            "the schedule is called with the epoch number instead of the step number",
            _edit("train_classifier", ("for _ in range(num_epochs):", "for epoch in range(num_epochs):"),
                  ("lr_schedule(step)", "lr_schedule(epoch)")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_schedule_restarts_each_epoch",
            "the step counter t starts again at 0 in every epoch",
            _edit("train_classifier", ("    step = 0\n    for _ in range(num_epochs):\n",
                                       "    for _ in range(num_epochs):\n        step = 0\n")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_schedule_ignored",
            "lr_schedule is never applied: every update uses the config's rate",
            _edit("train_classifier", ("            if lr_schedule is not None:\n"
                                       "                config[\"learning_rate\"] = "
                                       "lr_schedule(step)\n", "")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_schedule_after_the_update",
            "the rate of step t is set after update t, so every update uses the previous rate",
            _edit("train_classifier",
                  ("            if lr_schedule is not None:\n"
                   "                config[\"learning_rate\"] = lr_schedule(step)\n"
                   "            w, config = update_rule(w, dw, config)\n",
                   "            w, config = update_rule(w, dw, config)\n"
                   "            if lr_schedule is not None:\n"
                   "                config[\"learning_rate\"] = lr_schedule(step)\n")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_drops_returned_config",
            "the loop calls the rule but drops the config it returns",
            _edit("train_classifier", ("w, config = update_rule(w, dw, config)",
                                       "w, _ = update_rule(w, dw, config)")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_without_shuffle",
            "minibatches in the stored order (no shuffle)",
            _edit("train_classifier", ("shuffled = rng.permutation(num_train)",
                                       "shuffled = np.arange(num_train)")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_reseeded_every_epoch",
            "a new default_rng(seed) every epoch: the same order in every epoch",
            _edit("train_classifier", ("shuffled = rng.permutation(num_train)",
                                       "shuffled = np.random.default_rng(seed).permutation("
                                       "num_train)")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("train_classifier_writes_the_callers_config",
            "no copy of config: the schedule's rate is written into the caller's dict, every "
            "value right",
            _edit("train_classifier", ("    config = dict(config or {})\n",
                                       "    config = config if config is not None else {}\n")),
            _score("train_classifier", 1), ("test_train_classifier",)),
    Variant("correct_loop_next_to_wrong_schedules",
            "a correct train_classifier and warmup_cosine next to an unclamped cosine_decay and "
            "a wrong sgd_momentum: the loop and the warm-up keep full marks",
            {**_edit("lr_schedules", ("fraction = np.clip(np.asarray(t) / total_steps, 0.0, 1.0)",
                                      "fraction = np.asarray(t) / total_steps")),
             **_edit("sgd_momentum", ("next_w = w + v", "next_w = w - v"))},
            {**_score("lr_schedules", 1), **_score("sgd_momentum", 3)},
            ("test_lr_schedules", "test_sgd_momentum")),
]
