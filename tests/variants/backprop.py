"""Realistic 05_backprop mistakes and the exact score each earns from the hidden suite.

Parts per test (each part is worth points / parts): test_value 12 parts of 0.5; test_affine
3 of 1; test_relu 3 of 2/3; test_sigmoid 4 of 0.5; test_softmax_loss 4 of 0.75;
test_dropout 6 of 0.5; test_two_layer_net 5 of 0.8. A property part ("must not modify its
input arrays") pays only when the values of the same call are right, so a wrong result loses
it too.

Each variant is the solution notebook with one or two graded cells edited (``_edit`` replaces
one exact piece of the solution's text). The "correct function next to a wrong helper"
variants show that a bug costs points once: ``two_layer_net`` keeps its 4 points next to a
wrong ``relu_backward``, a wrong ``affine_backward``, a ``softmax_loss`` that divides by N
twice and an ``affine_forward`` that reshapes its input in place; a ``sigmoid`` built from a
wrong ``exp`` keeps its parts.

Dropout is graded on properties, not on one particular mask: a forward pass that draws its
mask another way (CS231n's ``np.random.seed`` and ``np.random.rand``, a binomial draw with a
boolean cache) keeps full marks, and a right ``dropout_backward`` keeps its part next to a
wrong forward pass (it is also given the mask the docstring prescribes).
"""

from __future__ import annotations

from variants import Variant, edited_cell, part_score, solution_cells

ASSIGNMENT = "05_backprop"


def _edit(grade_id: str, *pairs: tuple[str, str]) -> str:
    """The solution cell ``grade_id`` with each (old, new) text replaced (old must occur once)."""
    return edited_cell(ASSIGNMENT, grade_id, *pairs)

_SOLUTION = solution_cells(ASSIGNMENT)



VALUE_PART = 6 / 12
RELU_PART = 2 / 3
SIGMOID_PART = 2 / 4
SOFTMAX_PART = 3 / 4
NET_PART = 4 / 5
DROPOUT_PART = 3 / 6

VARIANTS: list[Variant] = [
    # ---- Value ------------------------------------------------------------------------
    Variant(
        name="value_pow_gradient_without_minus_one",
        description="__pow__'s local gradient uses p * v**p instead of p * v**(p - 1); "
                    "`/` (built from **) keeps its marks",
        replace={"Value": _edit("Value", (
            "self.grad += exponent * self.data ** (exponent - 1) * out.grad",
            "self.grad += exponent * self.data ** exponent * out.grad"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_tanh_backward_uses_the_input",
        description="tanh's backward uses 1 - x**2 (the input) instead of 1 - tanh(x)**2",
        replace={"Value": _edit("Value", (
            "self.grad += (1.0 - t * t) * out.grad",
            "self.grad += (1.0 - self.data * self.data) * out.grad"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_backward_breadth_first_not_topological",
        description="backward() calls _backward in breadth-first order from the output, not in "
                    "reverse topological order (a shared node passes its gradient on too early)",
        replace={"Value": _edit("Value", (
            """        order, visited = [], set()
        stack = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in visited)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()""",
            """        order, seen, queue = [], set(), [self]
        while queue:
            node = queue.pop(0)
            if id(node) in seen:
                continue
            seen.add(id(node))
            order.append(node)
            queue.extend(node._prev)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in order:
            node._backward()"""))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_gradients_assigned_not_accumulated",
        description="every _backward overwrites the inputs' .grad with = instead of adding +=",
        replace={"Value": _SOLUTION["Value"].replace("self.grad +=", "self.grad =")
                 .replace("other.grad +=", "other.grad =")},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_backward_without_reset",
        description="backward() does not set the graph's .grad to 0 first: a second call adds "
                    "to the first",
        replace={"Value": _edit("Value", ("""        for node in order:
            node.grad = 0.0
""", ""))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_provided_helper_edited",
        description="evaluate_expression (provided, not to be changed) edited to call "
                    "backward() once, hiding a backward() without reset: Value gets nothing",
        replace={"Value": _edit("Value", ("""        for node in order:
            node.grad = 0.0
""", ""), ("""    for _ in range(backward_calls):
        out.backward()""", """    out.backward()"""))},
        scores={"test_value": 0.0},
        selfcheck_fails=("test_Value",),
    ),
    Variant(
        name="value_rsub_reversed",
        description="__rsub__ computes v - c instead of c - v",
        replace={"Value": _edit("Value", ("return Value._wrap(other) - self",
                                          "return self - Value._wrap(other)"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_sigmoid_overflows",
        description="sigmoid computes 1 / (1 + math.exp(-x)) for every x: OverflowError at "
                    "x = -1000 (the stability part only)",
        replace={"Value": _edit("Value", ("        if self.data >= 0:\n"
                                          "            s = 1.0 / (1.0 + math.exp(-self.data))",
                                          "        if True:\n"
                                          "            s = 1.0 / (1.0 + math.exp(-self.data))"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_sigmoid_from_exp_next_to_a_wrong_exp",
        description="exp's backward multiplies by the input instead of exp(input); sigmoid is "
                    "built from exp and / and keeps its marks (also at -1000 and 1000)",
        replace={"Value": _edit("Value", (
            """        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad""",
            """        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += self.data * out.grad"""), (
            """        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            e = math.exp(self.data)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out""",
            """        if self.data >= 0:
            return 1 / (1 + (-self).exp())
        e = self.exp()
        return e / (1 + e)"""))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    # ---- layers -----------------------------------------------------------------------
    Variant(
        name="affine_backward_dw_transposed",
        description="dw = dout.T @ x_flat (shape (M, D)); two_layer_net, which fails the same "
                    "way as the right network built on this layer, keeps its marks",
        replace={"affine": _edit("affine", ("dw = x.reshape(x.shape[0], -1).T @ dout",
                                            "dw = dout.T @ x.reshape(x.shape[0], -1)"))},
        scores={"test_affine": 1.0},
    ),
    Variant(
        name="affine_forward_flattens_x_in_place",
        description="affine_forward reshapes the caller's x in place (x.shape = ...); its "
                    "backward and two_layer_net keep their marks",
        replace={"affine": _edit("affine", ("    out = x.reshape(x.shape[0], -1) @ w + b",
                                            "    x.shape = (x.shape[0], -1)\n    out = x @ w + b"))},
        scores={"test_affine": 2.0},
        selfcheck_fails=("test_affine", "test_two_layer_net"),
    ),
    Variant(
        name="relu_backward_writes_into_the_cache",
        description="relu_backward turns its cache (the forward input x) into the mask in place",
        replace={"relu": _edit("relu", ("    x = cache\n    dx = dout * (x > 0)",
                                        "    x = cache\n    x[x > 0] = 1.0\n    x[x <= 0] = 0.0\n"
                                        "    dx = dout * x"))},
        scores={"test_relu": 2 - RELU_PART},
        selfcheck_fails=("test_relu",),
    ),
    Variant(
        name="relu_backward_masks_dout_in_place",
        description="relu_backward zeroes dout in place (dx = dout; dx[x <= 0] = 0)",
        replace={"relu": _edit("relu", ("    dx = dout * (x > 0)",
                                        "    dx = dout\n    dx[x <= 0] = 0"))},
        scores={"test_relu": 2 - RELU_PART},
        selfcheck_fails=("test_relu",),
    ),
    Variant(
        name="two_layer_net_next_to_relu_backward_without_dout",
        description="relu_backward returns the mask (x > 0) without multiplying by dout; "
                    "two_layer_net, correct given this layer, keeps its marks",
        replace={"relu": _edit("relu", ("    dx = dout * (x > 0)", "    dx = (x > 0) * 1.0"))},
        scores={"test_relu": RELU_PART},
    ),
    Variant(
        name="relu_gradient_passes_at_zero",
        description="relu_backward lets the gradient through at exactly x = 0 (x >= 0)",
        replace={"relu": _edit("relu", ("    dx = dout * (x > 0)", "    dx = dout * (x >= 0)"))},
        scores={"test_relu": RELU_PART},
    ),
    Variant(
        name="sigmoid_nan_for_large_positive_inputs",
        description="sigmoid_forward uses exp(x) / (1 + exp(x)) everywhere: NaN at x = 1000 "
                    "(the stability part only)",
        replace={"sigmoid": _edit("sigmoid", (
            "out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))",
            "out[pos] = np.exp(x[pos]) / (1.0 + np.exp(x[pos]))"))},
        scores={"test_sigmoid": 2 - SIGMOID_PART},
    ),
    # ---- softmax ----------------------------------------------------------------------
    Variant(
        name="softmax_shifts_scores_in_place",
        description="softmax_loss subtracts the row maximum in place (scores -= ...)",
        replace={"softmax_loss": _edit("softmax_loss", (
            "    shifted = scores - scores.max(axis=1, keepdims=True)",
            "    scores -= scores.max(axis=1, keepdims=True)\n    shifted = scores"))},
        scores={"test_softmax_loss": 3 - SOFTMAX_PART},
        selfcheck_fails=("test_softmax_loss",),
    ),
    Variant(
        name="softmax_without_max_subtraction",
        description="softmax_loss exponentiates the raw scores (NaN for rows near +-1000; the "
                    "stability part only)",
        replace={"softmax_loss": _edit("softmax_loss", (
            "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"))},
        scores={"test_softmax_loss": 3 - SOFTMAX_PART},
    ),
    Variant(
        name="softmax_probabilities_after_max_shift",
        description="the form the text teaches: subtract the row maximum, normalise the "
                    "probabilities, take -log of the right class (full marks)",
        replace={"softmax_loss": _edit("softmax_loss", (
            """    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(N), y].mean())
    dscores = np.exp(log_probs)
""", """    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs = probs / probs.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(probs[np.arange(N), y])))
    dscores = probs.copy()
"""))},
        scores={},
    ),
    Variant(
        name="softmax_loss_divided_by_n_twice",
        description="the mean loss is divided by N once more (right only for N = 1); "
                    "two_layer_net, built on it, keeps its marks",
        replace={"softmax_loss": _edit("softmax_loss", (
            "loss = float(-log_probs[np.arange(N), y].mean())",
            "loss = float(-log_probs[np.arange(N), y].mean()) / N"))},
        scores={"test_softmax_loss": SOFTMAX_PART},
    ),
    # ---- dropout ----------------------------------------------------------------------
    Variant(
        name="dropout_without_inverse_scaling",
        description="training mode keeps x unscaled (mask 1, not 1/p); the backward, right "
                    "for the prescribed mask, keeps its part",
        replace={"dropout": _edit("dropout", ("mask = np.where(uniform < p, 1.0 / p, 0.0)",
                                              "mask = np.where(uniform < p, 1.0, 0.0)"))},
        scores={"test_dropout": 3 - 3 * DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_scaled_by_one_minus_p",
        description="kept units divided by 1 - p instead of p (ZeroDivisionError at p = 1)",
        replace={"dropout": _edit("dropout", ("mask = np.where(uniform < p, 1.0 / p, 0.0)",
                                              "mask = np.where(uniform < p, 1.0 / (1 - p), 0.0)"))},
        scores={"test_dropout": 3 - 3 * DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_p_means_drop",
        description="p read as the probability of DROPPING a unit: keep where the draw is >= p "
                    "and divide by 1 - p",
        replace={"dropout": _edit("dropout", ("mask = np.where(uniform < p, 1.0 / p, 0.0)",
                                              "mask = np.where(uniform >= p, 1.0 / (1 - p), 0.0)"))},
        scores={"test_dropout": 3 - 3 * DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_original_formulation",
        description="the non-inverted dropout of the original paper: no 1/p in training, "
                    "multiply by p at test time",
        replace={"dropout": _edit("dropout",
                                  ("mask = np.where(uniform < p, 1.0 / p, 0.0)",
                                   "mask = np.where(uniform < p, 1.0, 0.0)"),
                                  ("mask = np.ones(x.shape)", "mask = np.full(x.shape, p)"))},
        scores={"test_dropout": 3 - 4 * DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_scales_at_test_time_too",
        description="inverted dropout in training, and x * p at test time as well",
        replace={"dropout": _edit("dropout", ("mask = np.ones(x.shape)",
                                              "mask = np.full(x.shape, p)"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_drops_at_test_time",
        description="the mode is ignored: units are dropped at test time too",
        replace={"dropout": _edit("dropout", ('    if mode == "train":', "    if True:"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_mask_ignores_the_seed",
        description="the mask is drawn from np.random.default_rng() (no seed): a new mask on "
                    "every call, also for the same seed",
        replace={"dropout": _edit("dropout", (
            'np.random.default_rng(dropout_param.get("seed"))', "np.random.default_rng()"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_mask_from_a_fixed_seed",
        description="the mask is drawn from np.random.default_rng(0): every seed drops the "
                    "same units",
        replace={"dropout": _edit("dropout", (
            'np.random.default_rng(dropout_param.get("seed"))', "np.random.default_rng(0)"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_mask_for_two_dimensional_inputs_only",
        description="the mask is drawn with shape (N, D) = x.shape: a 3-D input raises; the "
                    "backward keeps its part",
        replace={"dropout": _edit("dropout", (
            'uniform = np.random.default_rng(dropout_param.get("seed")).random(x.shape)',
            'N, D = x.shape\n'
            '        uniform = np.random.default_rng(dropout_param.get("seed")).random((N, D))'))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_backward_without_the_mask",
        description="dropout_backward returns dout unchanged (the mask is forgotten)",
        replace={"dropout": _edit("dropout", ("    dx = dout * mask", "    dx = dout.copy()"))},
        scores={"test_dropout": 3 - 2 * DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_backward_divides_by_p_again",
        description="the cache is (mask, p) with the mask already holding 1/p, and the "
                    "backward divides by p once more",
        replace={"dropout": _edit("dropout",
                                  ("    cache = mask\n", "    cache = (mask, p)\n"),
                                  ("    mask = cache\n    dx = dout * mask",
                                   "    mask, p = cache\n    dx = dout * mask / p"))},
        scores={"test_dropout": 3 - 2 * DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_backward_rebuilds_the_mask_from_out",
        description="the cache is (out, p) and the backward uses out != 0 as the mask: a unit "
                    "kept where x = 0 gets no gradient",
        replace={"dropout": _edit("dropout",
                                  ("    cache = mask\n", "    cache = (out, p)\n"),
                                  ("    mask = cache\n    dx = dout * mask",
                                   "    out, p = cache\n    dx = dout * (out != 0) / p"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_caches_the_unscaled_mask",
        description="the forward caches the 0/1 mask (without its 1/p) and the backward "
                    "multiplies by the cache: right for the prescribed cache, wrong for its own",
        replace={"dropout": _edit("dropout", ("    cache = mask\n",
                                              "    cache = (mask != 0) * 1.0\n"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_forward_writes_into_x",
        description="dropout_forward multiplies x by the mask in place (x *= mask)",
        replace={"dropout": _edit("dropout", ("    out = x * mask\n",
                                              "    x *= mask\n    out = x\n"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_backward_writes_into_dout",
        description="dropout_backward multiplies dout by the mask in place",
        replace={"dropout": _edit("dropout", ("    dx = dout * mask",
                                              "    dx = dout\n    dx *= mask"))},
        scores={"test_dropout": 3 - DROPOUT_PART},
        selfcheck_fails=("test_dropout",),
    ),
    Variant(
        name="dropout_cs231n_global_seed",
        description="CS231n's way: np.random.seed(seed) and np.random.rand; another draw than "
                    "the text's example, as right (full marks)",
        replace={"dropout": _edit("dropout", (
            """        uniform = np.random.default_rng(dropout_param.get("seed")).random(x.shape)
        mask = np.where(uniform < p, 1.0 / p, 0.0)""",
            """        if "seed" in dropout_param:
            np.random.seed(dropout_param["seed"])
        mask = (np.random.rand(*x.shape) < p) / p"""))},
        scores={},
    ),
    Variant(
        name="dropout_binomial_mask_and_boolean_cache",
        description="a binomial draw; the cache is (kept, p) and the backward divides by p "
                    "itself (another right cache, full marks)",
        replace={"dropout": _edit("dropout",
                                  ("""        uniform = np.random.default_rng(dropout_param.get("seed")).random(x.shape)
        mask = np.where(uniform < p, 1.0 / p, 0.0)
    else:
        mask = np.ones(x.shape)
    out = x * mask""",
                                   """        rng = np.random.default_rng(dropout_param.get("seed"))
        kept = rng.binomial(1, p, size=x.shape).astype(bool)
        out, mask = x * kept / p, (kept, p)
    else:
        out, mask = x.copy(), (np.ones(x.shape, dtype=bool), 1.0)"""),
                                  ("    mask = cache\n    dx = dout * mask",
                                   "    kept, p = cache\n    dx = dout * kept / p"))},
        scores={},
    ),
    # ---- two-layer network ------------------------------------------------------------
    Variant(
        name="two_layer_net_regularization_gradient_without_two",
        description="the penalty's gradient is reg * W instead of 2 * reg * W",
        replace={"two_layer_net": _edit("two_layer_net", (
            '"W1": dW1 + 2 * reg * W1', '"W1": dW1 + reg * W1'))},
        scores={"test_two_layer_net": 2 * NET_PART},
    ),
    Variant(
        name="two_layer_net_writes_grads_into_params",
        description="grads = params: the gradients overwrite the caller's params dict",
        replace={"two_layer_net": _edit("two_layer_net", (
            '    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": dW2 + 2 * reg * W2, '
            '"b2": db2}',
            '    grads = params\n'
            '    grads["W1"], grads["b1"] = dW1 + 2 * reg * W1, db1\n'
            '    grads["W2"], grads["b2"] = dW2 + 2 * reg * W2, db2'))},
        scores={"test_two_layer_net": 4 - NET_PART},
        selfcheck_fails=("test_two_layer_net",),
    ),
]

# ---------------------------------------------------------------------------------------
# Part 4: the small neural-network library (Neuron, Layer, MLP) on the student's Value.
# test_mlp has 6 parts of 0.5 (Neuron, Layer, MLP, a single output, parameters(), zero_grad()).
# Each mistake costs its one part: a Layer is also compared with the student's own neurons side
# by side, an MLP with the student's own layers chained, every model with the reference built
# on the student's Value, and zero_grad() with what the student's own parameters() lists. The
# library keeps its 3 points next to a Value whose backward() runs in breadth-first order
# (value_backward_breadth_first_not_topological above) or overwrites gradients.
# ---------------------------------------------------------------------------------------
MLP_POINTS, MLP_PARTS = 3, 6
ONE_PART_LOST = {"test_mlp": part_score(MLP_POINTS, MLP_PARTS, 1)}

_SUM_BIAS_LAST = ("""        total = self.b
        for weight, value in zip(self.w, x, strict=True):
            total = total + weight * value""",
                  """        total = sum(value * weight for weight, value in zip(self.w, x)) + self.b""")

_BACKWARD_DEPTH_FIRST = """        order, visited = [], set()
        stack = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in visited)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()"""
_BACKWARD_BREADTH_FIRST = """        order, seen, queue = [], set(), [self]
        while queue:
            node = queue.pop(0)
            if id(node) in seen:
                continue
            seen.add(id(node))
            order.append(node)
            queue.extend(node._prev)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in order:
            node._backward()"""


def _value_overwriting_gradients() -> str:
    source = edited_cell(ASSIGNMENT, "Value")
    return source.replace("self.grad +=", "self.grad =").replace("other.grad +=", "other.grad =")


MLP_VARIANTS: list[Variant] = [
    Variant(
        name="mlp_zero_grad_does_nothing",
        description="zero_grad() is left as `pass`: every .grad keeps its value",
        replace={"MLP": _edit("MLP", ("""        for parameter in self.parameters():
            parameter.grad = 0.0""", "        pass"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_parameters_without_biases",
        description="Neuron.parameters() returns the weights only; zero_grad(), which zeroes "
                    "what parameters() lists, keeps its part",
        replace={"MLP": _edit("MLP", ("return [*self.w, self.b]", "return list(self.w)"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_parameters_bias_first",
        description="Neuron.parameters() lists the bias before the weights (the order the text "
                    "fixes is weights, then bias)",
        replace={"MLP": _edit("MLP", ("return [*self.w, self.b]", "return [self.b, *self.w]"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_relu_on_the_last_layer",
        description="MLP gives every layer nonlin=True: the scores cannot be negative",
        replace={"MLP": _edit("MLP", ("nonlin=k < last", "nonlin=True"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_neuron_forgets_the_bias",
        description="Neuron.__call__ starts the sum at 0 instead of b; the Layer and the MLP, "
                    "right given this neuron, keep their parts",
        replace={"MLP": _edit("MLP", ("        total = self.b\n", "        total = 0.0\n"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_neuron_ignores_nonlin",
        description="Neuron.__call__ always applies relu, also for nonlin=False; the Layer and "
                    "the MLP, right given this neuron, keep their parts",
        replace={"MLP": _edit("MLP", ("return total.relu() if self.nonlin else total",
                                      "return total.relu()"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_neuron_cuts_the_graph",
        description="Neuron.__call__ returns Value(total.data): the forward values are right, "
                    "but backward() never reaches the weights",
        replace={"MLP": _edit("MLP", ("return total.relu() if self.nonlin else total",
                                      "total = Value(total.data)\n"
                                      "        return total.relu() if self.nonlin else total"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_layer_returns_a_list_for_one_output",
        description="Layer.__call__ returns a list of one Value when n_out = 1",
        replace={"MLP": _edit("MLP", ("return outs[0] if len(outs) == 1 else outs",
                                      "return outs"))},
        scores=ONE_PART_LOST,
        selfcheck_fails=("test_mlp",),
    ),
    Variant(
        name="mlp_neuron_sum_written_another_way",
        description="sum(x_i * w_i) + b instead of b + w_1 x_1 + ...: full marks",
        replace={"MLP": _edit("MLP", _SUM_BIAS_LAST)},
        scores={},
    ),
    Variant(
        name="mlp_written_another_way_next_to_a_breadth_first_backward",
        description="the same wrong backward() with a neuron written sum(x_i * w_i) + b: the "
                    "library keeps its 3 points",
        replace={"Value": _edit("Value", (_BACKWARD_DEPTH_FIRST, _BACKWARD_BREADTH_FIRST)),
                 "MLP": _edit("MLP", _SUM_BIAS_LAST)},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="mlp_next_to_gradients_overwritten",
        description="every _backward of Value assigns .grad instead of adding (=, not +=); the "
                    "library keeps its 3 points",
        replace={"Value": _value_overwriting_gradients()},
        scores={"test_value": 6 - VALUE_PART},
    ),
]

VARIANTS += MLP_VARIANTS
